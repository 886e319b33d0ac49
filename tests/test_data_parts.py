"""The small parts of loading: option strings, image/mask decoding, resizing, format detection."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from softfit.data.files import image_files, list_images
from softfit.data.images import displayed_size, read_image, read_mask
from softfit.data.load import detect
from softfit.data.resize import resize
from softfit.data.size import same_framing, target_size
from softfit.data.spec import TurntableSpec, parse_spec, parse_turntable, parse_value
from softfit.errors import InputError


def test_parse_spec_and_values():
    got = parse_spec("Turntable: views=72 , distance=2.732")
    assert got == ("turntable", {"views": "72", "distance": "2.732"})
    assert parse_spec("auto") == ("auto", {})
    values = [parse_value(v) for v in ("3", "0.5", "true", "Off", "a/b.png")]
    assert values == [3, 0.5, True, False, "a/b.png"]
    for bad in ("", "x:views", "x:=3", "x:a=1,a=2"):
        with pytest.raises(InputError):
            parse_spec(bad)


def test_parse_turntable_defaults_and_values():
    assert parse_turntable("turntable") == TurntableSpec(None, 2.732, 0.0, 60.0, 0.0, 1)
    t = parse_turntable("turntable:views=36,distance=3,elevation=-10,fov=40,start=90,direction=cw")
    assert t == TurntableSpec(36, 3.0, -10.0, 40.0, 90.0, -1)
    assert t.azimuths(36)[:3] == [90.0, 80.0, 70.0]
    assert TurntableSpec().azimuths(3, [0.0, 5.0, 355.0]) == [0.0, 5.0, 355.0]
    with pytest.raises(InputError, match="views=36 but 35"):
        t.azimuths(35)


@pytest.mark.parametrize("text,match", [
    ("turntable:view=3", "unknown turntable option.*view"),
    ("turntable:views=0", "at least 1"),
    ("turntable:views=2.5", "whole number"),
    ("turntable:distance=-1", "out of range"),
    ("turntable:distance=0", "out of range"),
    ("turntable:fov=180", "out of range"),
    ("turntable:elevation=abc", "must be a number"),
    ("turntable:distance=nan", "out of range"),
    ("turntable:direction=up", "ccw or cw"),
    ("circle:views=3", "unknown camera spec"),
])
def test_parse_turntable_errors(text, match):
    with pytest.raises(InputError, match=match):
        parse_turntable(text)


def test_target_size_keeps_aspect():
    assert target_size(384, 288, 256) == (256, 192)
    assert target_size(288, 384, 256) == (192, 256)
    assert target_size(64, 64, 256) == (64, 64)  # never enlarged
    assert target_size(64, 48, 32) == (32, 24)
    assert target_size(1000, 3, 100) == (100, 1)
    assert target_size(384, 288, None) == (384, 288)
    for bad in (4, 0, 2.5, True, 100_000):
        with pytest.raises(InputError):
            target_size(10, 10, bad)


def test_same_framing_is_the_working_size_rule():
    assert same_framing((400, 300), (256, 192))
    assert same_framing((256, 192), (256, 192))
    assert same_framing((1000, 3), (100, 1))
    assert not same_framing((400, 300), (256, 256))  # another aspect ratio
    assert not same_framing((400, 300), (255, 192))  # off by a pixel


def test_resize_area_average_and_channels():
    rng = np.random.default_rng(1)
    m = (rng.random((90, 120)) > 0.6).astype(np.float32)
    small = resize(m, 80, 60)  # non-integer factor 1.5: exact area weights keep the mean
    assert small.shape == (60, 80) and small.dtype == np.float32
    assert small.mean() == pytest.approx(m.mean(), rel=1e-5)
    np.testing.assert_allclose(resize(m, 40, 30), m.reshape(30, 3, 40, 3).mean(axis=(1, 3)), atol=1e-6)
    img = rng.integers(0, 255, (90, 120, 3), dtype=np.uint8)
    assert resize(img, 80, 60).shape == (60, 80, 3)
    assert resize(img[..., :1], 80, 60).shape == (60, 80, 1)
    assert resize(m, 240, 180).shape == (180, 240)  # enlarging: bilinear


def test_read_image_modes(tmp_path):
    g = np.arange(64, dtype=np.uint8).reshape(8, 8) * 4
    Image.fromarray(g).save(tmp_path / "l.png")
    assert read_image(tmp_path / "l.png").shape == (8, 8, 3)
    Image.fromarray(np.dstack([g, g])).convert("LA").save(tmp_path / "la.png")
    assert read_image(tmp_path / "la.png").shape == (8, 8, 4)
    Image.fromarray(g.astype(np.uint16) * 257).save(tmp_path / "i16.png")
    np.testing.assert_array_equal(read_image(tmp_path / "i16.png")[..., 0], g)
    p = Image.fromarray(g).convert("P")
    p.info["transparency"] = 0
    p.save(tmp_path / "p.png", transparency=0)
    assert read_image(tmp_path / "p.png").shape[2] == 4
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "a.jpg")
    assert read_image(tmp_path / "a.jpg").shape == (8, 8, 3)
    (tmp_path / "bad.png").write_text("nope")
    with pytest.raises(InputError, match="bad.png"):
        read_image(tmp_path / "bad.png")


def test_read_image_exif_orientation(tmp_path):
    a = np.zeros((10, 20, 3), np.uint8)
    a[:, :5] = 255  # left band
    im = Image.fromarray(a)
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90 deg clockwise to display
    im.save(tmp_path / "r.jpg", exif=exif, quality=95)
    assert read_image(tmp_path / "r.jpg").shape == (10, 20, 3)
    shown = read_image(tmp_path / "r.jpg", exif=True)
    assert shown.shape == (20, 10, 3) and shown[:5].mean() > 200  # the band is now at the top


def test_read_mask_modes(tmp_path):
    m = np.zeros((6, 6), np.uint8)
    m[2:4, 2:5] = 255
    Image.fromarray(m).save(tmp_path / "l.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "l.png"), m / 255.0)
    Image.fromarray(m > 0).save(tmp_path / "b.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "b.png"), m / 255.0)
    red = np.zeros((6, 6, 3), np.uint8)
    red[m > 0] = (200, 0, 0)
    Image.fromarray(red).save(tmp_path / "rgb.png")
    np.testing.assert_allclose(read_mask(tmp_path / "rgb.png"), (m > 0) * 200 / 255.0, atol=1e-6)
    pal = Image.fromarray((m > 0).astype(np.uint8), mode="L").convert("P")
    pal.putpalette([0, 0, 0, 128, 0, 0] + [0] * 762)
    pal.save(tmp_path / "pal.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "pal.png"), (m > 0).astype(np.float32))


def test_label_masks_read_as_object_where_1(tmp_path):
    """0/1 label images (numpy's or OpenCV's `mask.astype(uint8)`, 8 or 16 bit, grey or colour) mark the
    object with 1; read as grey levels they were empty (1/255 coverage) and the fit refused them."""
    m = np.zeros((6, 6), np.uint8)
    m[2:4, 2:5] = 1
    want = m.astype(np.float32)
    Image.fromarray(m).save(tmp_path / "l.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "l.png"), want)
    Image.fromarray(np.dstack([0 * m, m, 0 * m])).save(tmp_path / "rgb.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "rgb.png"), want)
    for value in (1, 255, 65535):  # a 16-bit file's 0/1 and 0/255 labels, and its full range
        Image.fromarray(m.astype(np.uint16) * value).save(tmp_path / f"i16_{value}.png")
        np.testing.assert_array_equal(read_mask(tmp_path / f"i16_{value}.png"), want)
    grey = m * 2  # two 8-bit steps: a (faint) grey-level mask, kept as coverage
    Image.fromarray(grey).save(tmp_path / "grey.png")
    np.testing.assert_allclose(read_mask(tmp_path / "grey.png"), grey / 255.0, atol=1e-7)
    soft = m.copy()
    soft[0, 0] = 128  # a 0/1 pattern beside a real grey level is coverage too
    Image.fromarray(soft).save(tmp_path / "soft.png")
    np.testing.assert_allclose(read_mask(tmp_path / "soft.png"), soft / 255.0, atol=1e-7)


def test_photos_in_unreadable_formats_are_named_not_skipped(tmp_path):
    """A camera's raw files are named with what to do; beside readable images they are not skipped either
    (a turntable takes its views in file order: skipping one would shift every later angle)."""
    for i in range(3):
        Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / f"IMG_{i}.DNG.png")
    (tmp_path / "IMG_7.DNG").write_bytes(b"")
    with pytest.raises(InputError, match=r"1 photo\(s\) in a format SoftFit cannot read "
                       r"\(\.dng: IMG_7\.DNG\).*convert them to PNG or JPEG.*3 readable images beside"):
        image_files(tmp_path)
    only = tmp_path / "only"
    only.mkdir()
    for i in range(5):
        (only / f"p{i}.cr2").write_bytes(b"")
    with pytest.raises(InputError, match=r"5 photo\(s\).*p0\.cr2, p1\.cr2, p2\.cr2 and 2 more\): convert"):
        image_files(only)
    (only / "notes.txt").write_text("")  # other files are no photos
    for f in only.glob("*.cr2"):
        f.unlink()
    with pytest.raises(InputError, match="no images found"):
        image_files(only)
    (only / "orbit.MOV").write_bytes(b"")  # a filmed orbit: the folder is read as that video
    assert detect(only) == ("video", only / "orbit.MOV") and detect(only / "orbit.MOV")[0] == "video"
    (only / "again.mp4").write_bytes(b"")
    with pytest.raises(InputError, match=r"holds 2 video\(s\) \(again\.mp4, orbit\.MOV\): pass one of them"):
        image_files(only)
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(only / "frame_1.png")
    assert [f.name for f in image_files(only)] == ["frame_1.png"]  # beside its frames, a video is no view


def test_list_images_natural_order(tmp_path):
    for name in ("a10.png", "a2.png", "A1.JPG", ".hidden.png", "notes.txt", "b.tif"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in list_images(tmp_path)] == ["A1.JPG", "a2.png", "a10.png", "b.tif"]


def test_detect_layouts(tmp_path):
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "transforms.json").write_text("{}")
    assert detect(tmp_path / "t") == ("transforms", tmp_path / "t" / "transforms.json")
    (tmp_path / "s").mkdir()
    for n in ("source.npy", "camera.npy"):
        (tmp_path / "s" / n).write_bytes(b"")
    assert detect(tmp_path / "s") == ("softras", tmp_path / "s")
    assert detect(tmp_path / "s" / "camera.npy") == ("softras", tmp_path / "s")
    aloi = tmp_path / "aloi" / "png4" / "12"
    aloi.mkdir(parents=True)
    for a in (0, 5):
        Image.fromarray(np.zeros((4, 4), np.uint8)).save(aloi / f"12_r{a}.png")
    assert detect(aloi) == ("aloi", aloi)
    plain = tmp_path / "plain" / "12"  # same files outside a png* folder: a plain folder
    plain.mkdir(parents=True)
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(plain / "12_r0.png")
    assert detect(plain) == ("folder", plain)


def test_an_unreadable_image_is_named_and_a_float_tiff_says_what_to_save_instead(tmp_path):
    import cv2

    cv2.imwrite(str(tmp_path / "render.tif"), np.full((4, 6, 3), 0.5, np.float32))  # PIL cannot open it
    with pytest.raises(InputError, match=r"not a readable image: .*render\.tif \(a TIFF of floating-point.*"
                                         r"save it as 8- or 16-bit PNG or TIFF\)"):
        read_image(tmp_path / "render.tif")
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(InputError, match=r"not a readable image: .*broken\.png$"):
        read_image(tmp_path / "broken.png")


def test_iphone_heic_photos_are_read_upright(tmp_path):
    """iPhones save HEIC by default; SoftFit refused them ("convert them to PNG or JPEG"). pillow-heif reads
    them, turned as the phone was held (its rotation tag applied once, not twice)."""
    from pillow_heif import from_pillow  # writes HEIC without registering it with PIL: the reader must

    rgb = np.zeros((48, 64, 3), np.uint8)
    rgb[:, :32] = (200, 40, 40)  # red left half, blue right half
    rgb[:, 32:] = (40, 40, 200)
    exif = Image.Exif()
    exif[0x0112] = 6  # held upright: shown turned 90 degrees clockwise
    from_pillow(Image.fromarray(rgb)).save(tmp_path / "IMG_0001.HEIC", exif=exif.tobytes(), quality=95)
    assert [p.name for p in image_files(tmp_path)] == ["IMG_0001.HEIC"]
    out = read_image(tmp_path / "IMG_0001.HEIC", exif=True)
    assert out.shape == (64, 48, 3) and displayed_size(tmp_path / "IMG_0001.HEIC") == (48, 64)
    assert out[5, 24, 0] > 150 > out[5, 24, 2] and out[-5, 24, 2] > 150 > out[-5, 24, 0]  # red on top


def test_a_folder_of_heic_photos_loads_like_any_other(tmp_path):
    from pillow_heif import from_pillow

    from softfit.data.load import load_dataset

    (tmp_path / "masks").mkdir()
    originals = []
    ramp = np.repeat(np.linspace(20, 120, 80)[None, :, None], 60, 0)  # a smooth backdrop
    for i in range(6):
        mask = np.zeros((60, 80), np.uint8)
        mask[15 + i:45, 20:60 - i] = 255
        rgb = np.where(mask[..., None] > 0, (200, 120, 40), ramp).astype(np.uint8)
        originals.append(rgb)
        from_pillow(Image.fromarray(rgb)).save(tmp_path / f"IMG_{i:04d}.HEIC", quality=95)
        Image.fromarray(mask).save(tmp_path / "masks" / f"IMG_{i:04d}.png")
    data = load_dataset(tmp_path, cameras="turntable", image_size=None)
    assert data.names == [f"IMG_{i:04d}" for i in range(6)] and data.info["silhouette"] == "mask"
    assert np.abs(data.images.astype(int) - np.stack(originals)).mean() < 4  # lossy, but the same photos

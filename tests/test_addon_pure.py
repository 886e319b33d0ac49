"""The add-on's pure-Python modules (no bpy), checked against the backend modules they mirror: input
layouts (views + silhouettes vs `softfit.data.load`), transforms.json reading, mesh files, geometry.

The add-on is imported as it ships: staged by scripts/build_extension.py (without wheels) as the package
`softfit_addon`, so its `core` and `wire` subpackages (backend files copied in) are there."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_extension  # noqa: E402

STAGE_DIR = Path(tempfile.mkdtemp(prefix="softfit-addon-"))
atexit.register(shutil.rmtree, STAGE_DIR, True)
build_extension.stage(STAGE_DIR / "softfit_addon", wheels=False)
sys.path.insert(0, str(STAGE_DIR))

from addon_helpers import box_mesh, convex_silhouettes, ring_cameras, write_rgba_dataset  # noqa: E402
from softfit_addon.core import cameras as core_cameras  # noqa: E402
from softfit_addon.core.data.gather import Readers  # noqa: E402
from softfit_addon.core.data.pixels import mask_coverage  # noqa: E402
from softfit_addon.core.data.resize import resize as addon_resize  # noqa: E402
from softfit_addon.core.data.size import target_size  # noqa: E402
from softfit_addon.core.mesh.sphere_rule import sphere_resolution as addon_sphere_resolution  # noqa: E402
from softfit_addon.logic import backend_path, fitdata, geometry, meshfile, summary, views  # noqa: E402
from softfit_addon.logic.errors import InputError as AddonInputError  # noqa: E402

import softfit.cameras as sc  # noqa: E402
from softfit.data.load import load_dataset  # noqa: E402
from softfit.errors import InputError  # noqa: E402
from softfit.mesh import io as mesh_io  # noqa: E402
from softfit.mesh.sphere import uv_sphere  # noqa: E402
from softfit.mesh.types import Mesh  # noqa: E402

# The whole Blender-free sub-package, and the task runner (Blender-facing, but bpy only inside functions).
PURE = ("logic.backend_path", "logic.convert", "logic.errors", "logic.fitdata", "logic.geometry",
        "logic.installer", "logic.meshfile", "logic.session", "logic.summary", "logic.views", "blender.tasks")


def pil_rgba(path: Path) -> np.ndarray:
    """What the add-on's bpy reader returns: (H, W, 4) float32 RGBA, top row first."""
    with Image.open(path) as im:
        return np.asarray(im.convert("RGBA"), dtype=np.float32) / 255.0


def pil_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as im:
        return im.size


# What addon/blender/images.py builds from Blender's loader, here from PIL: RGBA bytes and mask coverage.
PIL_READERS = Readers(lambda p, _exif: np.round(pil_rgba(p) * 255).astype(np.uint8),
                      lambda p: mask_coverage(pil_rgba(p)))


def same_cameras(a: core_cameras.Cameras, b: sc.Cameras, atol: float = 1e-9) -> None:
    assert (a.width, a.height) == (b.width, b.height)
    for name in ("c2w", "fx", "fy", "cx", "cy"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), atol=atol, err_msg=name)


def test_pure_modules_import_without_bpy() -> None:
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import importlib\n"
            f"for m in {PURE!r}: importlib.import_module('softfit_addon.' + m)\n"
            "bad = {'bpy', 'torch', 'softfit'} & set(sys.modules)\n"
            "assert not bad, bad")
    proc = subprocess.run([sys.executable, "-c", code, str(STAGE_DIR)], capture_output=True, text=True,
                          cwd=STAGE_DIR)
    assert proc.returncode == 0, proc.stderr


def test_core_is_the_backend_code_verbatim() -> None:
    """The shipped core/ files are the backend's own bytes, so there is nothing to keep in step."""
    for rel, src in build_extension.shipped_backend().items():
        assert (STAGE_DIR / "softfit_addon" / rel).read_bytes() == src.read_bytes(), rel
    assert not (ROOT / "addon" / "core").exists() and not (ROOT / "addon" / "wire").exists()


def test_shared_code_raises_the_addons_error() -> None:
    """Operators catch the add-on's InputError: errors from the shared core must be that very class."""
    assert AddonInputError is sys.modules["softfit_addon.core.errors"].InputError
    assert AddonInputError is not InputError  # the add-on never imports the backend package
    with pytest.raises(AddonInputError, match="focal"):
        core_cameras.Cameras(np.eye(4)[None], 0.0, 1.0, 0, 0, 4, 4)
    with pytest.raises(AddonInputError, match="SoftRas cameras"):
        core_cameras.from_softras(np.zeros((3, 2)), 32)
    assert addon_sphere_resolution(2000) == (46, 23)  # 2024 triangles, the nearest to 2000
    for bad in (0, 7, True, 2.5, 10**9):
        with pytest.raises(AddonInputError, match="polygon count"):
            addon_sphere_resolution(bad)  # type: ignore[arg-type]


def test_transforms_parsing_matches_backend(tmp_path: Path) -> None:
    (tmp_path / "im").mkdir()
    for i, size in enumerate([(40, 30), (40, 30), (80, 60)]):
        Image.fromarray(np.zeros((size[1], size[0], 3), np.uint8)).save(tmp_path / "im" / f"f{i}.png")
    c2w = sc.turntable([0, 90, 180], 3.0, 10.0, 50.0, 40, 30).c2w
    meta = {"camera_angle_x": 0.9, "frames": [
        {"file_path": "im/f0", "transform_matrix": c2w[0].tolist()},
        {"file_path": "im/f1.png", "transform_matrix": c2w[1].tolist(), "fl_x": 51.0, "cx": 18.0},
        {"file_path": "im/f2.png", "transform_matrix": c2w[2].tolist(), "w": 80, "h": 60,
         "mask_path": "m/f2"}]}
    (tmp_path / "transforms.json").write_text(json.dumps(meta))
    measured: list[str] = []

    def size_of(path: Path) -> tuple[int, int]:  # what Blender's image reader stands in for
        measured.append(path.name)
        return pil_size(path)

    ours, frames = core_cameras.load_transforms(tmp_path / "transforms.json", image_size=size_of)
    ref, ref_frames = sc.load_transforms(tmp_path / "transforms.json")
    assert measured == ["f0.png", "f1.png"]  # f2 states its size; f0 is found without its extension
    same_cameras(ours, ref)
    assert [f.image for f in frames] == [f.image for f in ref_frames]
    assert frames[2].mask == ref_frames[2].mask
    # What the add-on sends reads back as the same cameras.
    (tmp_path / "sent.json").write_text(json.dumps(core_cameras.transforms_dict(ours, ["a", "b", "c"])))
    same_cameras(ours, sc.load_transforms(tmp_path / "sent.json")[0])


# ---------------------------------------------------------------------------------------------------
# Input layouts: the add-on's views and silhouettes against softfit.data.load on the same files.

VERTS, _ = box_mesh((0.45, 0.3, 0.25), (0.1, -0.05, 0.05), yaw_deg=25)


def _save(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


def make_layout(kind: str, base: Path) -> tuple[Path, dict, dict]:
    """Files in one input layout; returns (path, add-on options, load_dataset options)."""
    if kind in ("transforms_rgba", "transforms_masks"):
        cams = ring_cameras(5, 48, 40, shift_px=(3.0, -2.0))
        write_rgba_dataset(base, cams, convex_silhouettes(cams, VERTS), masks=kind.endswith("masks"))
        return base, {}, {}
    if kind == "transforms_distorted":  # a lens to undo on both sides (the add-on used to ignore it)
        cams = ring_cameras(5, 48, 40, shift_px=(3.0, -2.0))
        write_rgba_dataset(base, cams, convex_silhouettes(cams, VERTS))
        meta = json.loads((base / "transforms.json").read_text())
        meta.update(camera_model="OPENCV", k1=-0.25, p1=0.01)
        (base / "transforms.json").write_text(json.dumps(meta))
        return base, {}, {}
    if kind == "transforms_downscaled":  # images stored at half the size the cameras declare
        cams = ring_cameras(5, 96, 80, shift_px=(6.0, -4.0))
        write_rgba_dataset(base, cams, convex_silhouettes(cams.resized(48, 40), VERTS))
        return base, {}, {}
    if kind in ("aloi", "folder"):
        angles = [0, 5, 10, 20, 355] if kind == "aloi" else None
        folder = base / "png2" / "obj7" if kind == "aloi" else base / "photos"
        n = 5
        az = angles if angles is not None else [360.0 * i / n for i in range(n)]
        cams = sc.turntable(az, sc.SOFTRAS_DISTANCE, 0.0, 60.0, 64, 48)
        sil = convex_silhouettes(cams, VERTS)
        for i, s in enumerate(sil):
            stem = f"obj7_r{angles[i]}" if angles is not None else f"img{i + 1}"
            _save(folder / f"{stem}.png", np.dstack([(s * 200).astype(np.uint8)] * 3))
            mask_dir = base / "mask2" / "obj7" if kind == "aloi" else folder / "masks"
            _save(mask_dir / f"{stem}.png", (s * 255).astype(np.uint8))
        if kind == "aloi":
            return folder, {}, {}
        return folder, {"camera_source": "TURNTABLE", "turntable": views.Turntable(2.732, 0.0, 60.0)}, {
            "cameras": "turntable:distance=2.732,elevation=0,fov=60"}
    rows = np.array([[2.732, 30.0, 15.0 * i] for i in range(4)])
    sil = convex_silhouettes(sc.from_softras(rows, 32), VERTS)
    rgba = np.zeros((4, 4, 32, 32), np.uint8)
    rgba[:, 3] = (sil[:, :, ::-1] * 255).astype(np.uint8)
    if kind == "softras_npy":
        base.mkdir(parents=True, exist_ok=True)
        np.save(base / "source.npy", rgba)
        np.save(base / "camera.npy", rows)
        return base / "camera.npy", {}, {}
    arc = np.zeros((2, 24, 4, 32, 32), np.uint8)
    arc[1] = np.roll(rgba[:1], 1, axis=-1)  # any content; object 1 is picked
    np.savez(base / "objects.npz", arc)
    return base / "objects.npz", {"object_index": 1}, {"object_index": 1}


@pytest.mark.parametrize("kind", ["transforms_rgba", "transforms_masks", "transforms_downscaled",
                                  "transforms_distorted", "aloi",
                                  "folder", "softras_npy", "softras_npz"])
def test_views_and_silhouettes_match_load_dataset(kind: str, tmp_path: Path) -> None:
    path, opts, ref_opts = make_layout(kind, tmp_path)
    vs = views.discover(views.InputOptions(str(path), **opts), pil_size)
    ours = fitdata.assemble(vs, PIL_READERS, 32, "AUTO")
    ref = load_dataset(path, image_size=32, **ref_opts)
    assert ("undistorted" in ref.info) == (kind == "transforms_distorted")
    assert ours.why == ref.info["silhouette_choice"]["because"]  # what auto chose, in the backend's words
    assert ours.method == ref.info["silhouette"].upper()
    same_cameras(ours.cameras, ref.cameras, atol=1e-6)
    assert ours.names == ref.names or kind.startswith("softras")
    assert ours.silhouettes is not None and ours.silhouettes.shape == ref.silhouettes.shape
    np.testing.assert_allclose(ours.silhouettes, ref.silhouettes, atol=2e-3)


@pytest.mark.parametrize("kind", ["transforms_rgba", "transforms_masks", "folder", "segmented"])
def test_the_texture_photos_are_what_softfit_fit_bakes_from(kind: str, tmp_path: Path) -> None:
    """The add-on reads the views again at up to PHOTO_SIZE for the backend's bake, as `softfit fit` does
    (texture/photos.py): the same pixels, alpha = the silhouette at that size, RGB when the backend
    segments (it upsamples its own masks); nothing when the views are already at their own size."""
    from softfit.texture.photos import bake_photos

    path, opts, ref_opts = make_layout("folder" if kind == "segmented" else kind, tmp_path)
    if kind == "segmented":
        shutil.rmtree(path / "masks")
    vs = views.discover(views.InputOptions(str(path), **opts), pil_size)
    ours = fitdata.assemble(vs, PIL_READERS, 32, "AUTO")
    photos = fitdata.texture_photos(vs, ours, PIL_READERS, 2**30)
    small = load_dataset(path, image_size=32, **ref_opts)
    ref = bake_photos(path, small, ref_opts.get("cameras"))
    assert photos is not None and ref is not None and photos.shape[1:3] == ref.images.shape[1:3]
    assert max(photos.shape[1:3]) > 32
    np.testing.assert_array_equal(photos[..., :3], ref.images)
    if kind == "segmented":
        assert photos.shape[-1] == 3
    else:
        assert photos.shape[-1] == 4
        np.testing.assert_allclose(photos[..., 3] / 255.0, ref.silhouettes, atol=0.5 / 255 + 1e-6)
    # the message budget bounds the size; views at their own size get no photos
    n, h, w = photos.shape[:3]
    capped = fitdata.texture_photos(vs, ours, PIL_READERS, n * photos.shape[-1] * (w * h) // 2)
    assert capped is not None and capped.shape[1] * capped.shape[2] <= w * h // 2
    full = fitdata.assemble(vs, PIL_READERS, 0, "AUTO")
    assert fitdata.texture_photos(vs, full, PIL_READERS, 2**30) is None


def test_a_folder_holding_one_archive_reads_the_chosen_object(tmp_path: Path) -> None:
    """The panel's object index applies to an archive found in a folder as to the archive itself."""
    path, opts, ref_opts = make_layout("softras_npz", tmp_path)
    in_folder = fitdata.assemble(views.discover(views.InputOptions(str(tmp_path), **opts), pil_size),
                                 PIL_READERS, 32, "AUTO")
    direct = load_dataset(path, image_size=32, **ref_opts)
    np.testing.assert_allclose(in_folder.silhouettes, direct.silhouettes, atol=2e-3)


def _photos(folder: Path, stems: list[str], exts: list[str], az: list[float], colour_masks: bool = False,
            labels: bool = False) -> tuple[dict, dict]:
    """A plain folder of opaque photos with masks/ beside them, on a turntable at `az` (file order);
    `labels`: masks saved as 0/1."""
    cams = sc.turntable(az, sc.SOFTRAS_DISTANCE, 0.0, 60.0, 64, 48)
    for stem, ext, s in zip(stems, exts, convex_silhouettes(cams, VERTS), strict=True):
        _save(folder / f"{stem}{ext}", np.dstack([(s * 200).astype(np.uint8)] * 3))
        m = (s > 0.5).astype(np.uint8) if labels else (s * 255).astype(np.uint8)
        _save(folder / "masks" / f"{stem}.png", np.dstack([0 * m, m, 0 * m]) if colour_masks else m)
    return ({"camera_source": "TURNTABLE", "turntable": views.Turntable(2.732, 0.0, 60.0)},
            {"cameras": "turntable:distance=2.732,elevation=0,fov=60"})


def _both(path: Path, opts: dict, ref_opts: dict, size: int):
    vs = views.discover(views.InputOptions(str(path), **opts), pil_size)
    ours = fitdata.assemble(vs, PIL_READERS, size, "AUTO")
    return ours, load_dataset(path, image_size=size, **ref_opts)


def _same(ours, ref) -> None:
    same_cameras(ours.cameras, ref.cameras, atol=1e-6)
    assert ours.names == ref.names and ours.silhouettes.shape == ref.silhouettes.shape
    np.testing.assert_allclose(ours.silhouettes, ref.silhouettes, atol=2e-3)


def test_a_1000x250_view_at_size_250_is_250x63_on_both_sides(tmp_path: Path) -> None:
    """62.5 rows round half up on both sides (the add-on's own rounding gave 62, the backend 63)."""
    cams = ring_cameras(3, 1000, 250)
    write_rgba_dataset(tmp_path, cams, convex_silhouettes(cams, VERTS * 0.3))
    ours, ref = _both(tmp_path, {}, {}, 250)
    assert ours.silhouettes.shape == ref.silhouettes.shape == (3, 63, 250)
    _same(ours, ref)


def test_image_extensions_in_any_case_are_found_alike(tmp_path: Path) -> None:
    """.PNG, .webp and .bmp count on both sides (the add-on's own list missed .webp and .Png)."""
    opts, ref_opts = _photos(tmp_path, ["img1", "img2", "img3", "img4"], [".PNG", ".webp", ".bmp", ".Png"],
                             [0.0, 90.0, 180.0, 270.0])
    _same(*_both(tmp_path, opts, ref_opts, 32))


def test_negative_turntable_angles_in_names_order_the_views_alike(tmp_path: Path) -> None:
    """`_r-30` is an angle on both sides (the add-on's own pattern took no minus sign)."""
    stems = ["view_r0", "view_r-30", "view_r30", "view_r-60"]
    opts, ref_opts = _photos(tmp_path, stems, [".png"] * 4, [0.0, -30.0, 30.0, -60.0])
    ours, ref = _both(tmp_path, opts, ref_opts, 32)
    assert ours.names == ["view_r-60", "view_r-30", "view_r0", "view_r30"]
    _same(ours, ref)


def test_colour_coded_masks_cover_alike(tmp_path: Path) -> None:
    """A green-on-black mask: its brightest channel on both sides (the add-on took the red one: empty)."""
    opts, ref_opts = _photos(tmp_path, ["a", "b", "c"], [".png"] * 3, [0.0, 120.0, 240.0], colour_masks=True)
    _same(*_both(tmp_path, opts, ref_opts, 32))


def test_label_masks_are_the_object_on_both_sides(tmp_path: Path) -> None:
    """0/1 label masks (mask.astype(uint8)): object where 1 on both sides, not an empty silhouette."""
    opts, ref_opts = _photos(tmp_path, ["a", "b", "c"], [".png"] * 3, [0.0, 120.0, 240.0], labels=True)
    ours, ref = _both(tmp_path, opts, ref_opts, 32)
    _same(ours, ref)
    assert (ours.silhouettes > 0.5).mean() > 0.05


def test_a_faintly_translucent_alpha_is_the_silhouette_on_both_sides(tmp_path: Path) -> None:
    """Alpha 255 on the object and 160 around it: translucent, so both sides take it as the silhouette
    (and both refuse it as covering the whole image); the add-on's own test (alpha < 0.5 somewhere) sent
    such views to segmentation instead."""
    cams = ring_cameras(3, 32, 32)
    write_rgba_dataset(tmp_path, cams, 0.63 + 0.37 * convex_silhouettes(cams, VERTS))
    with pytest.raises(InputError, match="whole image"):
        load_dataset(tmp_path, image_size=32)
    with pytest.raises(AddonInputError, match="covers the whole image"):
        _both(tmp_path, {}, {}, 32)


def test_input_errors_are_one_line(tmp_path: Path) -> None:
    def fails(match: str, opts: views.InputOptions) -> None:
        with pytest.raises(AddonInputError, match=match):
            fitdata.assemble(views.discover(opts, pil_size), PIL_READERS, 32, "AUTO")

    fails("input not found", views.InputOptions(str(tmp_path / "nope")))
    fails("choose an input", views.InputOptions(""))
    (tmp_path / "empty").mkdir()
    fails("no images", views.InputOptions(str(tmp_path / "empty")))
    folder, _, _ = make_layout("folder", tmp_path / "f")
    fails("turntable", views.InputOptions(str(folder)))  # a plain folder has no camera file
    os.remove(folder / "masks" / "img3.png")
    fails("4 of 5 views have masks; none found for .*img3",
          views.InputOptions(str(folder), camera_source="TURNTABLE"))
    cams = ring_cameras(3, 16, 16)
    sil = convex_silhouettes(cams, VERTS)
    sil[1] = 0.0
    write_rgba_dataset(tmp_path / "e", cams, sil)
    fails(r"empty silhouette\) in .*view_001", views.InputOptions(str(tmp_path / "e")))
    sil[1] = 1.0
    write_rgba_dataset(tmp_path / "full", cams, sil)
    fails("covers the whole image", views.InputOptions(str(tmp_path / "full")))
    (tmp_path / "sr").mkdir()
    np.save(tmp_path / "sr" / "source.npy", np.zeros((3, 4, 8, 8), np.uint8))
    np.save(tmp_path / "sr" / "camera.npy", np.zeros((2, 3)))
    fails("has 3 images but .*camera.npy has 2 cameras", views.InputOptions(str(tmp_path / "sr")))
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "transforms.json").write_text("{not json")
    fails("not valid JSON", views.InputOptions(str(tmp_path / "t")))
    cams = ring_cameras(3, 40, 40)  # cameras for square images, images 40x20: mismatched
    write_rgba_dataset(tmp_path / "m", cams, convex_silhouettes(ring_cameras(3, 40, 20), VERTS))
    fails("declared sizes must match", views.InputOptions(str(tmp_path / "m")))
    fails("holds transforms data, not aloi", views.InputOptions(str(tmp_path / "m"), kind="ALOI"))


def test_fitdata_sizes_resize_and_methods(tmp_path: Path) -> None:
    assert target_size(384, 288, 256) == (256, 192)
    assert target_size(100, 333, 64) == (19, 64)
    assert target_size(64, 48, 256) == (64, 48)  # never enlarged
    a = np.arange(16, dtype=np.float32).reshape(4, 4)
    np.testing.assert_allclose(addon_resize(a, 2, 2), [[2.5, 4.5], [10.5, 12.5]])
    rgb = np.random.default_rng(1).uniform(size=(6, 9, 3)).astype(np.float32)
    assert np.isclose(addon_resize(rgb, 5, 4).mean(), rgb.mean(), atol=1e-6)  # area-preserving
    with pytest.raises(AddonInputError, match="image size must be positive"):
        fitdata.assemble(views.discover(views.InputOptions(str(make_layout("aloi", tmp_path / "a")[0])),
                                        pil_size), PIL_READERS, -1)
    folder, _, _ = make_layout("folder", tmp_path)
    for name in os.listdir(folder / "masks"):
        os.remove(folder / "masks" / name)
    vs = views.discover(views.InputOptions(str(folder), camera_source="TURNTABLE"), pil_size)
    auto = fitdata.assemble(vs, PIL_READERS, 32, "AUTO")  # no alpha, no masks: the backend segments
    assert auto.silhouettes is None and auto.images is not None and auto.images.shape == (5, 24, 32, 3)
    assert auto.backend_method == "auto"
    assert fitdata.assemble(vs, PIL_READERS, 32, "GRABCUT").backend_method == "grabcut"
    with pytest.raises(AddonInputError, match="silhouette 'alpha'"):
        fitdata.assemble(vs, PIL_READERS, 32, "ALPHA")
    with pytest.raises(AddonInputError, match="no mask files found"):
        fitdata.assemble(vs, PIL_READERS, 32, "MASK")
    tf = fitdata.assemble(vs, PIL_READERS, 32, "AUTO").transforms()
    assert len(tf["frames"]) == 5 and (tf["w"], tf["h"]) == (32, 24)


def test_geometry() -> None:
    rng = np.random.default_rng(2)
    m = np.eye(4)
    m[:3, :3] = rng.normal(size=(3, 3))
    m[:3, 3] = [1.0, -2.0, 0.5]
    p = rng.normal(size=(50, 3))
    np.testing.assert_allclose(geometry.to_local(geometry.transform_points(p, m), m), p, atol=1e-9)
    flat = np.diag([1.0, 0.0, 1.0, 1.0])
    with pytest.raises(AddonInputError, match="zero scale"):
        geometry.to_local(p, flat)
    with pytest.raises(AddonInputError, match="for a mesh of 49"):
        geometry.check_frame(p, 49)
    with pytest.raises(AddonInputError, match="NaN"):
        geometry.check_frame(np.full((2, 3), np.nan), 2)
    pinned = geometry.pinned_from_weights(np.array([5, 1, 3]), np.array([1.0, 0.2, 0.5]))
    np.testing.assert_array_equal(pinned, [3, 5])
    with pytest.raises(AddonInputError, match="face indices"):
        geometry.check_mesh(p[:5], np.array([[0, 1, 9]] * 4))


def test_mesh_files_match_backend_writer(tmp_path: Path) -> None:
    s = uv_sphere(100, 0.7, (0.1, 0.2, 0.3))
    for ext, writer in ((".obj", mesh_io.save_obj), (".ply", mesh_io.save_ply)):
        meshfile.save_mesh(tmp_path / f"ours{ext}", s.verts, s.faces)
        writer(tmp_path / f"ref{ext}", Mesh(s.verts, s.faces))
        assert (tmp_path / f"ours{ext}").read_bytes() == (tmp_path / f"ref{ext}").read_bytes()
        back = mesh_io.load_mesh(tmp_path / f"ours{ext}")
        np.testing.assert_allclose(back.verts, s.verts, atol=1e-6)
        np.testing.assert_array_equal(back.faces, s.faces)
    with pytest.raises(AddonInputError, match="obj or .ply"):
        meshfile.save_mesh(tmp_path / "x.stl", s.verts, s.faces)
    with pytest.raises(AddonInputError, match="folder does not exist"):
        meshfile.save_mesh(tmp_path / "no" / "x.obj", s.verts, s.faces)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ours.obj", "ours.ply", "ref.obj", "ref.ply"]


def test_backend_interpreter_detection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOFTFIT_PYTHON", raising=False)
    venv = ROOT / ".venv" / "bin" / "python"
    if venv.is_file():
        assert backend_path.find_repo_python(ROOT / "addon") == venv
        assert backend_path.find_repo_python(ROOT / "build" / "extension" / "dev" / "softfit") == venv
    assert backend_path.find_repo_python(tmp_path) is None  # installed from a zip: no checkout around
    assert backend_path.local_python("", tmp_path) is None
    monkeypatch.setenv("SOFTFIT_PYTHON", "/opt/py/bin/python")
    assert backend_path.local_python("", tmp_path) == Path("/opt/py/bin/python")
    assert backend_path.local_python("/usr/bin/python3", tmp_path) == Path("/usr/bin/python3")


def test_summary_lines() -> None:
    m = {"train_iou": 0.91234, "heldout_iou": 0.9, "wall_time": 12.34, "iterations": 300, "device": "cpu",
         "chamfer": "bad"}
    assert summary.metric_lines(m) == ["Held-out IoU: 0.9000", "Train IoU: 0.9123", "Iterations: 300",
                                       "Time: 12.3 s", "Device: cpu"]
    assert summary.result_message(m) == "done, held-out IoU 0.900, train IoU 0.912, 12.3 s"
    assert summary.result_message({"cancelled": True}) == "cancelled"
    seg = {"heldout_iou": 0.95, "iou_against": "segmented masks (multiview): agreement with the segmentation",
           "silhouette_method": "multiview", "silhouette_reason": "cameras are known",
           "segmentation_warnings": ["view 3 doubtful"]}
    assert summary.result_message(seg) == (
        "done, held-out agreement with the segmentation 0.950, silhouettes by multiview because cameras are "
        "known, WARNING: view 3 doubtful")
    framed = {"heldout_iou": 0.99,
              "silhouette_warnings": ["the silhouettes reach the image border in 9 of 9 views"]}
    assert summary.result_message(framed) == (
        "done, held-out IoU 0.990, WARNING: the silhouettes reach the image border in 9 of 9 views")
    # the backend's advice names command-line options; the panel shows its own settings instead
    from softfit.silhouettes.confidence import ADVICE

    advised = summary.result_message({"segmentation_warnings": ["the views' masks agree poorly", ADVICE]})
    assert "--" not in advised and "Silhouette: Masks, with a masks/ folder" in advised
    assert "Silhouette: Backdrop, with an Empty Scene photo" in advised and "Silhouette: DeepLab" in advised
    few = {"train_iou": 0.98, "view_warnings": ["only 2 view(s) constrain the shape"]}
    assert summary.result_message(few) == "done, train IoU 0.980, WARNING: only 2 view(s) constrain the shape"
    # the texture: its size and the photos it came from, or why there is none (not when turned off)
    textured = {"heldout_iou": 0.99, "texture": {"size": [550, 535], "photo_size": [1024, 768], "time": 2.0}}
    assert summary.result_message(textured) == (
        "done, held-out IoU 0.990, texture 550x535 from the photos at 1024x768")
    skipped = {"texture": {"skipped": "no training view sees the mesh"}}
    assert summary.result_message(skipped) == "done, no texture: no training view sees the mesh"
    assert summary.result_message({"texture": {"skipped": "turned off (--no-texture)"}}) == "done"


def test_tasks_run_work_off_the_calling_thread_and_callbacks_on_it() -> None:
    """The mechanism behind "never block the UI": `run` returns before the work is done; the work runs in
    another thread; its result reaches `on_done` only through `pump`, on the thread that pumps."""
    import threading

    from softfit_addon.blender import tasks

    release = threading.Event()
    seen: dict = {}

    def work() -> int:
        seen["work_thread"] = threading.current_thread()
        release.wait(10)
        return 42

    def done(result: int) -> None:
        seen.update(result=result, cb_thread=threading.current_thread())

    task = tasks.run("t", "testing", work, done)
    assert tasks.busy("t") is task and not task.finished.is_set()  # returned while the work still waits
    assert tasks.pump() == tasks.PUMP_INTERVAL and "result" not in seen
    release.set()
    assert tasks.wait(task, 10)
    assert seen["result"] == 42 and seen["cb_thread"] is threading.current_thread()
    assert seen["work_thread"] is not threading.current_thread() and tasks.busy() is None
    errors: list = []
    failing = tasks.run("t", "failing", lambda: 1 / 0, on_error=errors.append)
    assert tasks.wait(failing, 10) and isinstance(errors[0], ZeroDivisionError)
    assert tasks.pump() is None  # idle: the timer unregisters itself


def test_local_server_gets_the_preferences_timeout() -> None:
    from softfit_addon.logic import session

    cfg = session.BackendConfig(timeout=25.0, args="--workers 2")
    assert session.server_args(cfg) == ["--workers", "2", "--client-timeout", "25"]
    assert session.server_args(session.BackendConfig(timeout=1.0)) == ["--client-timeout", "4"]
    assert session.server_args(session.BackendConfig(args="--client-timeout=60")) == ["--client-timeout=60"]
    with pytest.raises(AddonInputError, match="server arguments"):
        session.server_args(session.BackendConfig(args="'unclosed"))


def test_installer_pip_command_and_selftest_silhouettes(tmp_path: Path) -> None:
    """The self-test's ellipsoid silhouettes (ray test) agree with the backend's renderer of the same
    ellipsoid; pip gets a wheel file, or a folder as --find-links."""
    from softfit_addon.logic import installer

    from softfit.metrics import render_silhouettes

    sil, transforms = installer.ellipsoid_silhouettes((0.6, 0.45, 0.35), views=8, size=64)
    cams, _frames = sc.parse_transforms(transforms, None)
    s = uv_sphere(20000, 1.0)
    rendered = render_silhouettes(Mesh(s.verts * np.array([0.6, 0.45, 0.35]), s.faces), cams) > 0.5
    ours = sil > 0
    iou = (ours & rendered).sum((1, 2)) / (ours | rendered).sum((1, 2))
    assert ours.sum() > 0.05 * ours.size and iou.min() > 0.97, iou
    wheel = tmp_path / "softfit-0.1.0-cp311-cp311-linux_x86_64.whl"
    wheel.write_bytes(b"")
    inst = installer.Installer(tmp_path / "venv", str(wheel), pip_args="--index-url http://127.0.0.1:1/simple")
    cmd = inst.pip_command()
    assert cmd[0] == str(tmp_path / "venv" / "bin" / "python") and cmd[1:4] == ["-m", "pip", "install"]
    assert str(wheel) in cmd and cmd[-2:] == ["--index-url", "http://127.0.0.1:1/simple"]
    assert installer.Installer(tmp_path / "v", str(tmp_path)).pip_command()[-3:] == [
        "--find-links", str(tmp_path), "softfit"]
    assert installer.bundled_wheel(tmp_path) is None


def test_installer_selftest_fits_with_a_real_backend() -> None:
    """The installer's last step against this environment's backend: a real fit, checked by IoU."""
    from softfit_addon.logic import installer

    lines: list[str] = []
    result = installer.selftest_fit(sys.executable, log=lines.append)
    assert result["train_iou"] >= installer.SELFTEST_IOU and any("train IoU" in ln for ln in lines)


def test_the_panels_fit_defaults_are_fitparams_defaults() -> None:
    """What the panel shows before anything is changed is what the backend will use (nothing is sent
    until the user changes it): each fit setting's default equals FitParams' (lr was 0.01 against 0.05)."""
    import ast
    from dataclasses import fields

    from softfit.fit import FitParams

    tree = ast.parse((ROOT / "addon" / "blender" / "properties.py").read_text())
    settings = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "SOFTFIT_PG_settings")
    shown = {}
    for node in settings.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.annotation, ast.Call):
            for kw in node.annotation.keywords:
                if kw.arg == "default":
                    shown[node.target.id] = ast.literal_eval(kw.value)
    fit_settings = ast.literal_eval(next(
        n.value for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "FIT_SETTINGS"))
    defaults = {f.name: f.default for f in fields(FitParams)}
    assert fit_settings and all(name in defaults for name in fit_settings)
    assert {n: shown[n] for n in fit_settings} == {n: defaults[n] for n in fit_settings}


def _backdrop_capture(base: Path) -> tuple[Path, np.ndarray]:
    """A fixed camera's photos of the box over a checked backdrop (RGB, no masks), and the empty scene
    saved as empty.png; returns (folder, true silhouettes)."""
    cams = ring_cameras(8, 64, 48)
    sil = convex_silhouettes(cams, VERTS) > 0.5
    yy, xx = np.mgrid[:48, :64]
    empty = (((yy // 5 + xx // 5) % 2)[..., None] * np.array([70, 50, 30]) + np.array([80, 100, 130])
             ).astype(np.uint8)
    (base / "images").mkdir(parents=True)
    names = []
    for i, s in enumerate(sil):
        photo = empty.copy()
        photo[s] = (230, 210, 40)
        names.append(f"images/view_{i:03d}.png")
        _save(base / names[-1], photo)
    sc.save_transforms(base / "transforms.json", cams, names)
    _save(base / "empty.png", empty)
    _save(base / "empty_half.png", empty[::2, ::2])  # the same framing at half the size
    _save(base / "empty_square.png", empty[:, :48])
    return base, sil


def test_backdrop_segmentation_sends_the_empty_scene_and_fits_over_a_real_socket(tmp_path: Path) -> None:
    """Backdrop (and DeepLab) in the panel used to send the bare method name: the backend then asked for
    backdrop=FILE / weights=FILE, which no artist could give. The empty scene is now read here at the
    views' working size and sent as the `backdrop` array; DeepLab asks for torchvision's weights."""
    from wire_support import shared_backend

    from softfit.mesh.sphere import uv_sphere
    from softfit.wire import Result

    path, truth = _backdrop_capture(tmp_path)
    vs = views.discover(views.InputOptions(str(path)), pil_size)
    with pytest.raises(AddonInputError, match="choose it as Empty Scene"):
        fitdata.assemble(vs, PIL_READERS, 0, "BACKDROP")
    with pytest.raises(AddonInputError, match="empty_square.png is 48x48 but the views are 64x48"):
        fitdata.assemble(vs, PIL_READERS, 0, "BACKDROP", str(path / "empty_square.png"))
    half = fitdata.assemble(vs, PIL_READERS, 32, "BACKDROP", str(path / "empty_half.png"))
    assert half.backdrop is not None and half.backdrop.shape == (24, 32, 3)
    assert half.backend_method == "backdrop"
    data = fitdata.assemble(vs, PIL_READERS, 0, "BACKDROP", str(path / "empty.png"))
    assert data.images is not None and data.backdrop is not None and data.backdrop.shape == (48, 64, 3)
    deeplab = fitdata.assemble(vs, PIL_READERS, 0, "DEEPLAB", options="weights=torchvision")
    assert deeplab.backend_method == "deeplab:weights=torchvision" and deeplab.backdrop is None
    assert fitdata.assemble(vs, PIL_READERS, 0, "GRABCUT").backdrop is None

    init = uv_sphere(300, 0.4)
    params = {"iterations": 60, "resolutions": [[0.0, 0]], "holdout": 0.0, "seed": 0}
    with shared_backend().client() as c:
        r = c.wait(c.submit(None, data.images, data.transforms(), init.verts, init.faces, params,
                            silhouette_method=data.backend_method, backdrop=data.backdrop, texture=False),
                   timeout=120)
    assert isinstance(r, Result) and r.metrics["silhouette_method"] == "backdrop"
    assert r.metrics["train_iou"] > 0.8  # fitted to the box the empty scene reveals


# Backend modules whose messages reach the panel (loading, segmentation, initial mesh, fit, texture); the
# command line's own (cli, commands, batch, bench, dataset, server flags) never do.
PANEL_REACHED = ("cameras.py", "data", "fit", "init", "silhouettes", "texture", "pipeline")


def _message_strings(path: Path) -> list[str]:
    """The string constants of a module that are not docstrings."""
    import ast

    tree = ast.parse(path.read_text())
    docs = {id(n.body[0].value) for n in ast.walk(tree)
            if isinstance(n, ast.Module | ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef) and n.body
            and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    return [n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs]


def test_backend_messages_name_panel_settings_not_command_line_options() -> None:
    """A segmentation that isolates no object said "try --silhouette grabcut" in Blender's status line, and
    a camera file with paths outside its folder "pass --allow-outside-paths": options an artist cannot
    type. Every command-line option a message the panel shows can name is put in the panel's words."""
    import re

    from softfit_addon.logic.errors import in_panel_terms

    from softfit.silhouettes.multiview import TRY

    root = ROOT / "backend" / "softfit"
    files = [f for part in PANEL_REACHED for f in ((root / part).rglob("*.py") if (root / part).is_dir()
                                                   else [root / part])]
    found = []
    for f in files:
        for text in _message_strings(f):
            if re.search(r"--[a-z]", text):
                found.append(text)
                assert not re.search(r"--[a-z]", in_panel_terms(text)), (f.name, text)
    assert len(found) >= 5  # the scan saw the hints it is there for
    said = in_panel_terms(TRY)
    assert "Silhouette: GrabCut" in said and "Silhouette: Backdrop, with an Empty Scene photo" in said


def test_a_camera_file_naming_images_outside_its_folder_needs_the_panels_consent(tmp_path: Path) -> None:
    from softfit_addon.logic.errors import in_panel_terms

    cams = ring_cameras(5, 48, 40)
    write_rgba_dataset(tmp_path / "outside", cams, convex_silhouettes(cams, VERTS))
    meta = json.loads((tmp_path / "outside" / "transforms.json").read_text())
    for fr in meta["frames"]:
        fr["file_path"] = "../outside/" + fr["file_path"]
    (tmp_path / "set").mkdir()
    (tmp_path / "set" / "transforms.json").write_text(json.dumps(meta))
    opts = views.InputOptions(str(tmp_path / "set" / "transforms.json"))
    with pytest.raises(AddonInputError, match="outside the dataset folder") as e:
        views.discover(opts, pil_size)
    assert "tick Input: Allow Outside Paths" in in_panel_terms(str(e.value))
    allowed = views.discover(views.InputOptions(opts.path, allow_outside_paths=True), pil_size)
    data = fitdata.assemble(allowed, PIL_READERS, 0, "AUTO")
    assert data.silhouettes is not None and len(data.names) == 5


def test_a_colmap_project_gets_a_clear_word_in_the_addon(tmp_path: Path) -> None:
    """The backend now reads a COLMAP project folder (pycolmap); Blender's Python has no pycolmap, so the
    panel says what to do instead of failing on an unknown layout."""
    from colmap_support import write_colmap

    cams = ring_cameras(5, 48, 40)
    write_rgba_dataset(tmp_path / "project", cams, convex_silhouettes(cams, VERTS))
    (tmp_path / "project" / "transforms.json").unlink()
    write_colmap(tmp_path / "project" / "sparse" / "0", cams)
    with pytest.raises(AddonInputError, match=r"COLMAP project \(its model in sparse/0\).*press Read with "
                                              r"Backend"):
        views.discover(views.InputOptions(str(tmp_path / "project")), pil_size)
    assert load_dataset(tmp_path / "project").info["format"] == "colmap"  # what the backend does with it


def test_a_video_gets_a_clear_word_in_the_addon(tmp_path: Path) -> None:
    """The backend reads a video's frames (OpenCV); Blender's Python has no OpenCV."""
    import cv2

    out = cv2.VideoWriter(str(tmp_path / "orbit.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10, (32, 24))
    for i in range(4):
        out.write(np.full((24, 32, 3), 40 * i, np.uint8))
    out.release()
    for path in (tmp_path, tmp_path / "orbit.mp4"):
        with pytest.raises(AddonInputError, match=r"orbit.mp4 is a video.*SfM .*camera source and press "
                                                  r"Read with Backend"):
            views.discover(views.InputOptions(str(path), camera_source="SFM"), pil_size)


def test_views_written_by_softfit_views_carry_their_segmentation(tmp_path: Path) -> None:
    """A folder `softfit views` wrote from segmented photos reads in the add-on as alpha silhouettes plus
    what segmented them, which the fit request sends on (its IoUs are then agreement, not accuracy)."""
    from softfit.cli import main

    path, truth = _backdrop_capture(tmp_path / "capture")
    assert main(["views", str(path), "--out", str(tmp_path / "views")]) == 0  # the folder's cameras: its own
    data = fitdata.assemble(views.discover(views.InputOptions(str(tmp_path / "views")), pil_size),
                            PIL_READERS, 0, "AUTO")
    assert data.method == "ALPHA" and data.segmentation is not None
    assert data.segmentation["method"] == "multiview"
    assert iou_bool(data.silhouettes >= 0.5, truth) > 0.8
    given = fitdata.assemble(vs := views.discover(views.InputOptions(str(path)), pil_size), PIL_READERS, 0,
                             "BACKDROP", str(path / "empty.png"))
    assert given.segmentation is None and len(vs.views) == 8  # segmented by the backend: nothing to pass on


def iou_bool(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def test_read_with_backend_runs_softfit_views_with_the_panels_cameras(tmp_path: Path) -> None:
    """The command Read with Backend runs, and what an artist reads when the backend cannot read the
    input (its own error line, not a traceback)."""
    import sys

    from softfit_addon.logic import convert

    t = views.Turntable(distance=3.0, elevation_deg=20.0, fov_deg=45.0, start_deg=10.0, clockwise=True)
    assert convert.camera_option("SFM", t) == "sfm" and convert.camera_option("FILE", t) is None
    spec = convert.camera_option("TURNTABLE", t)
    assert spec == "turntable:distance=3,elevation=20,fov=45,start=10,direction=cw"
    from softfit.data.spec import parse_turntable

    assert parse_turntable(spec).direction == -1 and parse_turntable(spec).start == 10.0
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no photos here")
    with pytest.raises(AddonInputError, match=r"the backend could not read empty: no images found in"):
        convert.write_views(sys.executable, tmp_path / "empty", tmp_path / "out", "sfm", timeout=120)

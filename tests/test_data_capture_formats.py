"""Real capture formats on real renders: lens distortion in transforms.json (OPENCV, OPENCV_FISHEYE) is
undone at load time, a COLMAP sparse model is read directly, and frames whose image is missing are
skipped with one warning."""

from __future__ import annotations

import json
import logging
import shutil

import numpy as np
import pytest
from colmap_support import write_colmap
from dataset_support import ious
from PIL import Image

from softfit.cameras import load_transforms
from softfit.data.distortion import Distortion, distort
from softfit.data.load import load_dataset, read_views
from softfit.errors import InputError

COEFFS = {
    "OPENCV": {"k1": -0.35, "k2": 0.12, "p1": 0.004, "p2": -0.003},
    "OPENCV_FISHEYE": {"k1": 0.08, "k2": -0.04, "k3": 0.01, "k4": -0.002},
}


@pytest.fixture(scope="module")
def rendered(render_dataset_cached):
    """A real render filling most of the frame (lenses distort the periphery most): RGBA images, exact
    masks, cameras."""
    folder = render_dataset_cached(source="suzanne", views=6, size="128", scale=2.2)
    cams, frames = load_transforms(folder)
    images = np.stack([np.asarray(Image.open(f.image))[..., :3] for f in frames])
    masks = np.stack([np.asarray(Image.open(f.mask)) > 127 for f in frames])
    return folder, cams, images, masks


def _write_capture(out, cams, images, masks, meta_extra: dict, dist: Distortion | None):
    """A transforms.json capture of RGB photos and masks, distorted by `dist` (None: as rendered)."""
    (out / "images").mkdir(parents=True)
    (out / "masks").mkdir()
    frames = []
    for i in range(len(cams)):
        img, m = images[i], masks[i].astype(np.uint8) * 255
        if dist is not None:
            k = (cams.fx[i], cams.fy[i], cams.cx[i], cams.cy[i])
            img, m = distort(img, dist, *k), distort(m, dist, *k)
        Image.fromarray(img).save(out / "images" / f"v{i}.png")
        Image.fromarray(m).save(out / "masks" / f"v{i}.png")
        frames.append({"file_path": f"images/v{i}.png", "transform_matrix": cams.c2w[i].tolist(),
                       "fl_x": cams.fx[i], "fl_y": cams.fy[i], "cx": cams.cx[i], "cy": cams.cy[i]})
    meta = {"w": cams.width, "h": cams.height, "frames": frames, **meta_extra}
    (out / "transforms.json").write_text(json.dumps(meta))
    return out


@pytest.mark.parametrize("model", list(COEFFS))
def test_distorted_capture_is_undistorted_at_load_time(rendered, tmp_path, model):
    _, cams, images, masks = rendered
    dist = Distortion(model, **COEFFS[model])
    extra = {"camera_model": model, **COEFFS[model]}
    folder = _write_capture(tmp_path / "cap", cams, images, masks, extra, dist)
    data = load_dataset(folder, silhouette="mask", image_size=None)
    assert data.info["undistorted"]["models"] == [model] and data.info["undistorted"]["views"] == len(cams)
    undistorted = data.silhouettes >= 0.5
    assert ious(undistorted, masks).min() > 0.97  # the silhouettes the pinhole cameras would have seen
    # Control: the same files read as if the lens were a pinhole (coefficients dropped) do not match.
    plain = json.loads((folder / "transforms.json").read_text())
    for key in ("camera_model", *COEFFS[model]):
        plain.pop(key)
    (folder / "transforms.json").write_text(json.dumps(plain))
    ignored = load_dataset(folder, silhouette="mask", image_size=None)
    assert "undistorted" not in ignored.info
    assert ious(ignored.silhouettes >= 0.5, masks).mean() < ious(undistorted, masks).mean() - 0.02
    # The photos are undistorted as well: closer to the rendered pinhole images than the files are.
    inside = masks.any(axis=0)
    err_after = np.abs(data.images.astype(float) - images)[:, inside].mean()
    err_before = np.abs(ignored.images.astype(float) - images)[:, inside].mean()
    assert err_after < 0.7 * err_before


def test_bad_distortion_is_refused(rendered, tmp_path):
    _, cams, images, masks = rendered
    folder = _write_capture(tmp_path / "cap", cams, images, masks,
                            {"camera_model": "OPENCV", "k1": 0.1, "k4": 0.01}, None)
    with pytest.raises(InputError, match="k4"):
        load_dataset(folder, silhouette="mask")
    meta = json.loads((folder / "transforms.json").read_text())
    meta.update(camera_model="EQUIRECTANGULAR", k4=0.0)
    (folder / "transforms.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match="unsupported camera_model"):
        load_dataset(folder, silhouette="mask")


def test_missing_frames_are_skipped_with_one_warning(rendered, tmp_path, caplog):
    src, cams, _, _ = rendered
    folder = tmp_path / "cap"
    shutil.copytree(src, folder)
    gone = ["view_001", "view_004"]
    for name in gone:
        (folder / "images" / f"{name}.png").unlink()
    with caplog.at_level(logging.WARNING):
        data = load_dataset(folder, silhouette="mask", image_size=None)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "missing" in r.getMessage()]
    assert len(warnings) == 1 and all(n in warnings[0].getMessage() for n in gone)
    assert data.names == ["view_000", "view_002", "view_003", "view_005"]
    np.testing.assert_allclose(data.cameras.c2w, cams.c2w[[0, 2, 3, 5]])
    assert [p.rsplit("/", 1)[-1] for p in data.info["skipped_frames"]] == [f"{n}.png" for n in gone]
    for name in ("view_000", "view_002"):
        (folder / "images" / f"{name}.png").unlink()
    with pytest.raises(InputError, match="only 2 of 6 frames"):
        load_dataset(folder, silhouette="mask")


def test_colmap_model_is_read_directly(rendered, tmp_path, caplog):
    src, cams, _, masks = rendered
    folder = tmp_path / "photos"
    shutil.copytree(src / "images", folder / "images")
    shutil.copytree(src / "masks", folder / "masks")
    pts = np.random.default_rng(0).normal(size=(20, 3))
    write_colmap(tmp_path / "sparse" / "0", cams, points=pts)
    data = load_dataset(folder, cameras=f"colmap:{tmp_path / 'sparse' / '0'}", silhouette="mask",
                        image_size=None)
    kept = read_views(folder, f"colmap:{tmp_path / 'sparse' / '0'}").points  # for the support plane
    np.testing.assert_allclose(kept[np.lexsort(kept.T)], pts[np.lexsort(pts.T)])
    assert data.info["format"] == "colmap" and "undistorted" not in data.info
    np.testing.assert_allclose(data.cameras.c2w, cams.c2w, atol=1e-9)
    np.testing.assert_allclose(data.cameras.intrinsics, cams.intrinsics, atol=1e-9)
    assert ious(data.silhouettes >= 0.5, masks).min() == 1.0
    # A missing photo is skipped as in transforms.json; a model with distortion is undistorted.
    (folder / "images" / "view_003.png").unlink()
    with caplog.at_level(logging.WARNING):
        data = load_dataset(folder, cameras=f"colmap:{tmp_path / 'sparse' / '0'}", silhouette="mask")
    assert len(data.names) == 5 and "view_003.png" in caplog.text
    write_colmap(tmp_path / "sparse" / "1", cams, "OPENCV", (-0.2, 0.05, 0.0, 0.0))
    data = load_dataset(folder, cameras=f"colmap:{tmp_path / 'sparse' / '1'}", silhouette="mask")
    assert data.info["undistorted"]["models"] == ["OPENCV"]
    with pytest.raises(InputError, match="not a COLMAP sparse model"):
        load_dataset(folder, cameras=f"colmap:{folder}", silhouette="mask")


def test_a_colmap_project_folder_is_read_as_it_is_laid_out(rendered, tmp_path):
    """COLMAP writes a project as images/ and sparse/0/; pointed at it, softfit said "it holds image folders
    (images, masks): pass one of them", and the images folder alone has no cameras. The project folder is
    now read like `--cameras colmap:sparse/0` (binary or text model), and a turntable option is refused
    there as for any layout with cameras of its own."""
    src, cams, _, masks = rendered
    project = tmp_path / "project"
    shutil.copytree(src / "images", project / "images")
    shutil.copytree(src / "masks", project / "masks")
    write_colmap(project / "sparse" / "0", cams)
    data = load_dataset(project, silhouette="mask", image_size=None)
    assert data.info["format"] == "colmap" and data.info["cameras"].endswith("sparse/0")
    np.testing.assert_allclose(data.cameras.c2w, cams.c2w, atol=1e-9)
    assert ious(data.silhouettes >= 0.5, masks).min() == 1.0
    with pytest.raises(InputError, match="has its own cameras"):
        load_dataset(project, cameras="turntable", silhouette="mask")
    import pycolmap

    text = tmp_path / "text"
    shutil.copytree(project / "images", text / "images")
    shutil.copytree(project / "masks", text / "masks")
    (text / "sparse").mkdir()
    pycolmap.Reconstruction(str(project / "sparse" / "0")).write_text(str(text / "sparse"))  # sparse/*.txt
    again = load_dataset(text, silhouette="mask", image_size=None)
    np.testing.assert_allclose(again.cameras.c2w, cams.c2w, atol=1e-6)

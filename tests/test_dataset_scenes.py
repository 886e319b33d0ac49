"""Photoreal test scenes (`softfit dataset render --scene`): camera paths, and tiny Cycles renders of every
scene checked against SoftFit's own projection of the true mesh (the truth is what it claims to be), the
photo layout (RGB only, nothing a loader could mistake for masks), and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from dataset_support import MIN_IOU, hard_masks, ious, read_masks
from PIL import Image

from softfit.cameras import load_transforms
from softfit.cli import main as cli_main
from softfit.data.load import load_dataset
from softfit.dataset.suite import SCENES, capture, scene_spec
from softfit.errors import InputError
from softfit.mesh.io import load_mesh


def _axis_miss(c2w: np.ndarray, point: np.ndarray) -> np.ndarray:
    """Distance of `point` from each camera's optical axis."""
    eye, fwd = c2w[:, :3, 3], -c2w[:, :3, 2]
    d = point - eye
    return np.linalg.norm(d - (d * fwd).sum(1, keepdims=True) * fwd, axis=1)


def test_turntable_capture_keeps_the_camera_and_turns_the_object():
    spec = scene_spec("turntable-floor", views=8)
    cap = capture(spec, 1.0)
    assert np.allclose(cap.camera, cap.camera[0])  # a fixed camera in the room
    turns = np.degrees(np.arctan2(cap.object_pose[:, 1, 0], cap.object_pose[:, 0, 0])) % 360
    np.testing.assert_allclose(turns, 45.0 * np.arange(8), atol=1e-9)
    # In the object's frame the camera circles it once, at one height and distance.
    c = cap.cameras.centers
    assert np.ptp(c[:, 2]) < 1e-9 and np.ptp(np.linalg.norm(c[:, :2], axis=1)) < 1e-9
    az = np.degrees(np.arctan2(c[:, 0], -c[:, 1])) % 360
    np.testing.assert_allclose(np.sort((az - az[0]) % 360), 45.0 * np.arange(8), atol=1e-6)


def test_handheld_capture_is_irregular_but_seeded():
    spec = scene_spec("handheld-room", views=24)
    cap = capture(spec, 1.0)
    assert np.allclose(cap.object_pose, np.eye(4))
    c = cap.cameras.centers - [0, 0, 0.5]
    dist = np.linalg.norm(c, axis=1)
    elev = np.degrees(np.arcsin(c[:, 2] / dist))
    assert np.ptp(dist) > 0.1 * spec.distance and np.ptp(elev) > 15.0
    assert spec.elevation[0] - 1 <= elev.min() and elev.max() <= spec.elevation[1] + 1
    assert _axis_miss(cap.cameras.c2w, np.array([0, 0, 0.5])).max() > 0.02  # the aim is jittered
    roll = np.degrees(np.arcsin(np.clip(cap.cameras.c2w[:, 2, 0], -1, 1)))  # camera x leaves the horizon
    assert np.abs(roll).max() > 0.5
    np.testing.assert_array_equal(capture(spec, 1.0).cameras.c2w, cap.cameras.c2w)
    other = capture(scene_spec("handheld-room", views=24, seed=7), 1.0)
    assert not np.allclose(other.cameras.c2w, cap.cameras.c2w)


def test_scene_options_are_checked():
    with pytest.raises(InputError, match="unknown scene"):
        scene_spec("moon-base")
    with pytest.raises(InputError, match="views"):
        scene_spec("dark-cloth", views=1)
    with pytest.raises(InputError, match="image size"):
        scene_spec("dark-cloth", size="8x8")


def test_development_scenes_are_valid_and_never_benchmarked():
    """Segmentation is developed on DEV_SCENES and scored on SCENES: the two never share a name, an
    object-material-world combination, or the benchmark's scene list."""
    from softfit.bench.silhouettes import add_arguments
    from softfit.dataset.suite import DEV_SCENES

    assert DEV_SCENES and not set(DEV_SCENES) & set(SCENES)
    test_looks = {(s.object, s.material, s.hdri) for s in SCENES.values()}
    for name, spec in DEV_SCENES.items():
        assert scene_spec(name, views=4).views == 4 and spec.check() is spec
        assert (spec.object, spec.material, spec.hdri) not in test_looks, name
    import argparse

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    scenes_help = next(a.help for a in parser._actions if a.dest == "scenes")
    assert not any(name in scenes_help for name in DEV_SCENES)


@pytest.mark.parametrize("name", list(SCENES))
def test_scene_truth_matches_the_cameras_and_photos_carry_no_masks(render_scene_cached, name):
    folder = render_scene_cached(name)
    cams, frames = load_transforms(folder)
    assert len(cams) == 3 and (cams.width, cams.height) == (96, 72)
    photos = [Image.open(f.image) for f in frames]
    assert all(p.mode == "RGB" for p in photos)  # no alpha: segmentation must find the object
    assert not (folder / "masks").exists()
    # The true masks are the true mesh seen by the recorded cameras (object frame), pixel for pixel.
    truth = read_masks(sorted((folder / "truth" / "masks").glob("*.png")))
    mesh = load_mesh(folder / "truth" / "gt_mesh.obj")
    assert ious(truth, hard_masks(mesh, cams)).min() > MIN_IOU
    assert truth.any(axis=(1, 2)).all() and not truth[:, [0, -1]].any() and not truth[:, :, [0, -1]].any()
    # A photo, not a cut-out: the surroundings are textured and lit, not a flat backdrop.
    rgb = np.stack([np.asarray(p, dtype=np.float32) for p in photos])
    background = rgb[~truth]
    assert background.std(axis=0).max() > 2.0
    info = json.loads((folder / "dataset.json").read_text())
    assert info["scene"]["name"] == name and info["truth"]["masks"] == "truth/masks"
    assert info["seconds_per_view"]["image"] > 0
    # No loader picks the true masks up by itself.
    with pytest.raises(InputError, match="no mask files"):
        load_dataset(folder, silhouette="mask", image_size=None)


def test_dark_scene_is_dark_on_dark_and_turntable_turns(render_scene_cached):
    folder = render_scene_cached("dark-cloth")
    truth = read_masks(sorted((folder / "truth" / "masks").glob("*.png")))
    rgb = np.stack([np.asarray(Image.open(p), dtype=np.float32)
                    for p in sorted((folder / "images").glob("*.png"))])
    lum = rgb.mean(axis=3)
    obj, bg = np.median(lum[truth]), np.median(lum[~truth])
    assert obj < 40 and bg < 80 and abs(obj - bg) < 40  # both dark, little contrast
    assert not np.array_equal(truth[0], truth[1])  # the object turned between views


def test_cli_renders_a_scene(tmp_path, capsys):
    out = tmp_path / "s"
    args = ["dataset", "render", "--scene", "glossy-table", "--views", "2", "--size", "64x48",
            "--samples", "2", "--out", str(out)]
    assert cli_main(args) == 0
    assert len(list((out / "images").glob("*.png"))) == 2
    assert len(list((out / "truth" / "masks").glob("*.png"))) == 2
    assert cli_main(["dataset", "render", "suzanne", "--scene", "glossy-table", "--out",
                     str(tmp_path / "t")]) == 2
    assert "give no SOURCE" in capsys.readouterr().err

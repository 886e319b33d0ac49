"""The support plane from a capture's 3-D points (`supportplane`) and the hull cut at it
(`voxelvotes.cut_support(plane=...)`), on constructed points and hulls whose answer is known, and the
route from a COLMAP model's points3D into the camera-aware segmentation on a rendered scene."""

from __future__ import annotations

import shutil

import numpy as np
from colmap_support import write_colmap

from softfit.bench.silhouettes import truth_view
from softfit.cameras import turntable
from softfit.data.load import load_dataset
from softfit.data.silhouette import notes as silhouette_notes
from softfit.metrics import silhouette_iou
from softfit.silhouettes.supportplane import Plane, find_support
from softfit.silhouettes.voxelvotes import VoxelVotes, cut_support

UP = np.array([0.0, 0.0, 1.0])


def _scene_points(rng, floor_z: float = -0.5, tilt_deg: float = 0.0, n_floor: int = 400) -> np.ndarray:
    """A (tilted) floor at `floor_z` under the origin, an object's surface above it, a wall, outliers."""
    xy = rng.uniform(-1.5, 1.5, (n_floor, 2))
    t = np.radians(tilt_deg)
    floor = np.c_[xy, floor_z + np.tan(t) * xy[:, 0] + rng.normal(0, 0.003, n_floor)]
    d = rng.normal(size=(300, 3))
    ball = 0.4 * d / np.linalg.norm(d, axis=1, keepdims=True)  # the object: more points, not a plane
    wall = np.c_[np.full(150, -1.4), rng.uniform(-1.5, 1.5, 150), rng.uniform(-0.5, 1.0, 150)]
    return np.concatenate([floor, ball, wall, rng.uniform(-1.5, 1.5, (60, 3))])


def test_support_plane_is_found_under_the_object_and_not_in_a_wall_or_the_object():
    rng = np.random.default_rng(0)
    plane = find_support(_scene_points(rng), UP, np.zeros(3), 1.0)
    assert plane is not None and plane.inliers >= 300
    assert plane.normal @ UP > np.cos(np.radians(1.0))
    assert abs(plane.offset + 0.5) < 0.01  # z = -0.5
    tilted = find_support(_scene_points(rng, tilt_deg=10.0), UP, np.zeros(3), 1.0)
    assert tilted is not None and abs(np.degrees(np.arccos(tilted.normal @ UP)) - 10.0) < 1.0
    # no floor: the object's own points and a wall make no support (the wall is too steep)
    pts = _scene_points(rng, n_floor=0)
    assert find_support(pts, UP, np.zeros(3), 1.0) is None
    assert find_support(np.zeros((0, 3)), UP, np.zeros(3), 1.0) is None


def _box_votes(occ_fn) -> tuple[VoxelVotes, np.ndarray]:
    cams = turntable(np.arange(8) * 45.0, distance=3.0, elevation_deg=25.0, fov_deg=40.0, width=64, height=64)
    votes = VoxelVotes(cams, np.array([-1.0, -1, -1]), np.array([1.0, 1, 1]), 40)
    return votes, occ_fn(votes.centers)


def test_a_known_plane_cuts_a_skirt_too_narrow_for_the_hull_rule():
    """A wide box with a shadow's double tent on one side: the tent is not 1.5 times wider than the box,
    so the hull alone cuts nothing; the plane from the points cuts the tent at the floor's height and
    keeps the box."""
    box = lambda c: (np.abs(c[:, 0]) < 0.5) & (np.abs(c[:, 1]) < 0.5) & (c[:, 2] > -0.5) & (c[:, 2] < 0.3)  # noqa: E731
    tent = lambda c: (np.hypot(c[:, 0] - 0.8, c[:, 1]) < 0.3 - 4 * np.abs(c[:, 2] + 0.5))  # noqa: E731
    votes, occ = _box_votes(lambda c: box(c) | tent(c))
    np.testing.assert_array_equal(cut_support(votes, occ, UP), occ)  # the hull rule finds no support
    cut = cut_support(votes, occ, UP, plane=Plane(UP, -0.5, 100))
    obj = box(votes.centers)
    assert (cut & obj).sum() > 0.95 * obj.sum()
    skirt = occ & ~obj
    assert (cut & skirt).sum() < 0.2 * skirt.sum()
    assert (votes.centers[cut][:, 2] > -0.5 - votes.h).all()


def test_colmap_points_reach_the_segmentation(render_scene_cached, tmp_path):
    """A rendered hand-held scene (a glossy torus on a tiled floor, a development scene) loaded from a
    COLMAP model whose points3D hold the floor, the object and stray points: the camera-aware
    segmentation finds the floor's plane in them, says so, and its masks stay as good as without."""
    folder = render_scene_cached("dev-glossy-torus", views=8, size="200x150", samples=4)
    truth = load_dataset(truth_view(folder, tmp_path), silhouette="mask", image_size=200)
    rng = np.random.default_rng(1)
    floor = np.c_[rng.uniform(-1.5, 1.5, (400, 2)), rng.normal(0, 0.002, 400)]  # the support is z = 0
    d = rng.normal(size=(200, 3))
    obj = 0.3 * d / np.linalg.norm(d, axis=1, keepdims=True) + [0, 0, 0.2]
    photos = tmp_path / "photos"
    shutil.copytree(folder / "images", photos / "images")
    write_colmap(tmp_path / "sparse", truth.cameras, points=np.concatenate([floor, obj]))
    data = load_dataset(photos, cameras=f"colmap:{tmp_path / 'sparse'}", silhouette="multiview",
                        image_size=200)
    notes = data.info["segmentation"]["multiview"]["notes"]
    assert any("support plane found" in n for n in notes), notes
    assert any(line.startswith("segmentation: support plane found") for line in silhouette_notes(data.info))
    plain = load_dataset(folder, silhouette="multiview", image_size=200)
    assert not any("support plane" in n for n in plain.info["segmentation"]["multiview"]["notes"])
    ok = silhouette_iou(data.silhouettes > 0.5, truth.silhouettes > 0.5).mean()
    base = silhouette_iou(plain.silhouettes > 0.5, truth.silhouettes > 0.5).mean()
    assert ok >= base - 0.01, (ok, base)

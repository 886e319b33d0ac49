"""SfM maths without COLMAP: pose conversion, world-frame normalisation, Umeyama, pose errors, specs."""

from __future__ import annotations

import numpy as np
import pytest

from softfit.cameras import Cameras, look_at, turntable
from softfit.errors import InputError
from softfit.sfm import estimate_cameras, fallback_cameras, parse_spec, pose_errors, umeyama
from softfit.sfm.estimate import _fill_unregistered, _ranges
from softfit.sfm.frames import CV_TO_GL, colmap_to_c2w, fit_circle, look_point, world_frame


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q *= np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def as_colmap(cams: Cameras, scale: float, rot: np.ndarray, trans: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """World-to-camera (R, t) in OpenCV axes, in a world moved by x' = scale·rot·x + trans, as COLMAP
    would report the same cameras."""
    r_gl = np.einsum("ij,njk->nik", rot, cams.c2w[:, :3, :3])
    centres = scale * cams.centers @ rot.T + trans
    r_cv = r_gl @ CV_TO_GL  # camera axes in OpenCV convention, columns in world coordinates
    R = np.transpose(r_cv, (0, 2, 1))
    t = -np.einsum("nij,nj->ni", R, centres)
    return R, t


def test_colmap_to_c2w_inverts_world_to_camera():
    rng = np.random.default_rng(1)
    R = np.stack([random_rotation(rng) for _ in range(5)])
    t = rng.normal(size=(5, 3))
    c2w = colmap_to_c2w(R, t)
    pts = rng.normal(size=(5, 3))
    cam_cv = np.einsum("nij,nj->ni", R, pts) + t  # COLMAP: +Z forward, +Y down
    cam_gl = np.einsum("nji,nj->ni", c2w[:, :3, :3], pts - c2w[:, :3, 3])
    np.testing.assert_allclose(cam_gl, cam_cv * np.array([1, -1, -1]), atol=1e-12)


@pytest.mark.parametrize("elevation,direction", [(0.0, 1), (25.0, 1), (-15.0, -1)])
def test_world_frame_recovers_a_turntable_from_any_similarity(elevation, direction):
    gt = turntable([direction * 10.0 * i for i in range(36)], 2.732, elevation, 50.0, 200, 150)
    rng = np.random.default_rng(7)
    R, t = as_colmap(gt, 0.37, random_rotation(rng), rng.normal(size=3) * 5)
    c2w = colmap_to_c2w(R, t)
    frame = world_frame(c2w, np.arange(36), distance=2.732)
    got = frame.apply(c2w)
    assert frame.turntable
    np.testing.assert_allclose(got, gt.c2w, atol=1e-9)
    assert frame.azimuth_step == pytest.approx(np.radians(10.0 * direction))
    assert frame.elevation == pytest.approx(np.radians(elevation))


def test_world_frame_aligns_view_zero_even_when_it_is_missing():
    gt = turntable([7.5 * i for i in range(48)], 3.0, 10.0)
    keep = np.arange(3, 48)
    R, t = as_colmap(gt.subset(keep), 2.0, random_rotation(np.random.default_rng(3)), np.ones(3))
    frame = world_frame(colmap_to_c2w(R, t), keep, distance=3.0)
    np.testing.assert_allclose(frame.apply(colmap_to_c2w(R, t)), gt.c2w[keep], atol=1e-9)
    filled = _fill_unregistered(frame.apply(colmap_to_c2w(R, t)), list(keep), 48, frame, 3.0)
    np.testing.assert_allclose(filled, gt.c2w, atol=1e-9)  # views 0-2 placed back on the circle


def test_world_frame_without_turntable_centres_on_the_look_point():
    rng = np.random.default_rng(5)
    eyes = rng.normal(size=(12, 3))
    eyes = 4.0 * eyes / np.linalg.norm(eyes, axis=1, keepdims=True)
    target = np.array([0.3, -0.2, 0.1])
    c2w = np.stack([look_at(e + target, target) for e in eyes])
    np.testing.assert_allclose(look_point(c2w), target, atol=1e-9)
    frame = world_frame(c2w, np.arange(12), distance=2.0, turntable=False)
    got = frame.apply(c2w)
    assert not frame.turntable
    np.testing.assert_allclose(np.linalg.norm(got[:, :3, 3], axis=1), 2.0, atol=1e-9)
    np.testing.assert_allclose(look_point(got), 0.0, atol=1e-9)
    assert got[0, 0, 3] == pytest.approx(0.0, abs=1e-9) and got[0, 1, 3] < 0  # view 0 at azimuth 0


def test_turntable_hint_is_dropped_when_centres_are_not_a_circle():
    rng = np.random.default_rng(2)
    eyes = rng.normal(size=(20, 3)) * [3, 3, 3]
    c2w = np.stack([look_at(e) for e in eyes])
    circle = fit_circle(eyes)
    assert circle is not None and not circle.ok
    assert not world_frame(c2w, np.arange(20), 2.732, turntable=True).turntable


def test_umeyama_recovers_a_similarity():
    rng = np.random.default_rng(0)
    src = rng.normal(size=(30, 3))
    rot = random_rotation(rng)
    s, r, t = umeyama(src, 2.5 * src @ rot.T + [1, 2, 3])
    assert s == pytest.approx(2.5)
    np.testing.assert_allclose(r, rot, atol=1e-12)
    np.testing.assert_allclose(t, [1, 2, 3], atol=1e-12)
    with pytest.raises(InputError):
        umeyama(src[:2], src[:2])


def test_pose_errors_measure_a_known_perturbation():
    gt = turntable([10.0 * i for i in range(36)], 2.732, 20.0)
    rng = np.random.default_rng(4)
    # The same cameras in another similarity frame: zero error after alignment.
    rot = random_rotation(rng)
    c2w = gt.c2w.copy()
    c2w[:, :3, :3] = rot @ gt.c2w[:, :3, :3]
    c2w[:, :3, 3] = 0.5 * gt.centers @ rot.T + 3.0
    moved = Cameras(c2w, gt.fx, gt.fy, gt.cx, gt.cy, gt.width, gt.height)
    e = pose_errors(moved, gt)
    assert e["rotation_deg_max"] < 1e-5 and e["position_max"] < 1e-9
    assert e["scale"] == pytest.approx(2.0)
    assert pose_errors(moved, gt, align=False)["rotation_deg_mean"] > 1.0
    # Rotate every camera by 2 degrees about its own optical axis: 2 degrees, no position error.
    a = np.radians(2.0)
    roll = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    c2w = gt.c2w.copy()
    c2w[:, :3, :3] = gt.c2w[:, :3, :3] @ roll
    e = pose_errors(Cameras(c2w, gt.fx * 1.1, gt.fy, gt.cx, gt.cy, gt.width, gt.height), gt)
    assert e["rotation_deg_mean"] == pytest.approx(2.0, abs=1e-6)
    assert e["position_max"] < 1e-9
    assert e["focal_rel_mean"] == pytest.approx(0.1)
    with pytest.raises(InputError):
        pose_errors(gt.subset([0, 1]), gt)


def test_parse_spec():
    assert parse_spec("sfm") == {}
    assert parse_spec("SfM:distance=3, focal=300,turntable=no,fallback=yes,model=simple_radial,seed=2,"
                      "matching=sequential,min_registered=0.8") == {
        "distance": 3.0, "focal_guess": 300.0, "turntable_hint": False, "fallback": True,
        "camera_model": "SIMPLE_RADIAL", "seed": 2, "matching": "sequential", "min_registered": 0.8}
    for bad in ("turntable", "sfm:distance=-1", "sfm:focal=abc", "sfm:foo=1", "sfm:turntable=maybe",
                "sfm:model=fisheye", "sfm:min_registered=2", "sfm:distance", "sfm:matching=vocab"):
        with pytest.raises(InputError):
            parse_spec(bad)


def test_too_few_views_fall_back_with_a_message():
    images = np.zeros((2, 32, 48, 3), np.uint8)
    res = estimate_cameras(images, None)
    assert res.fallback and res.registered == []
    assert "too few views" in res.message and "Falling back to a turntable" in res.message
    np.testing.assert_allclose(res.cameras.c2w, fallback_cameras(2, 48, 32).c2w)
    assert (res.cameras.width, res.cameras.height) == (48, 32)
    none = estimate_cameras(images, None, fallback=False)
    assert none.cameras is None and "SfM failed" in none.message


def test_empty_masks_fall_back_and_bad_inputs_are_input_errors():
    images = np.zeros((4, 16, 16, 3), np.uint8)
    res = estimate_cameras(images, np.zeros((4, 16, 16), bool), focal_guess=40.0)
    assert res.fallback and "masks are empty" in res.message
    assert res.cameras.fx[0] == 40.0
    with pytest.raises(InputError):
        estimate_cameras(images.astype(np.float32), None)
    with pytest.raises(InputError):
        estimate_cameras(images, np.zeros((4, 8, 8), bool))
    with pytest.raises(InputError):
        estimate_cameras(images, None, camera_model="FISHEYE")
    with pytest.raises(InputError):
        estimate_cameras(images, None, matching="vocab_tree")


def test_ranges():
    assert _ranges([0, 1, 2, 3, 7, 9, 10]) == "0-3, 7, 9-10"

"""Camera model: conventions, file round trips and the SoftRas conversion (numpy and torch twins)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from dataset_support import softras_pixels

from softfit.cameras import (
    Cameras,
    aloi_turntable,
    from_softras,
    load_transforms,
    look_at,
    save_transforms,
    turntable,
)
from softfit.errors import InputError
from softfit.projection import camera_tensors, project, to_ndc


def test_look_at_is_a_rotation_looking_down_minus_z():
    eye = np.array([1.0, -2.0, 0.5])
    c2w = look_at(eye)
    r = c2w[:3, :3]
    np.testing.assert_allclose(r.T @ r, np.eye(3), atol=1e-12)
    assert np.linalg.det(r) == pytest.approx(1.0)
    forward = -r[:, 2]
    np.testing.assert_allclose(forward, -eye / np.linalg.norm(eye), atol=1e-12)
    assert r[2, 1] > 0  # camera +Y has a positive world Z component: world up is drawn up


def test_origin_projects_to_principal_point_and_up_is_up():
    cams = turntable([0, 90, 200], distance=3.0, elevation_deg=20, fov_deg=50, width=200, height=100)
    pts = cams.project_points(np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.3]]))
    np.testing.assert_allclose(pts[:, 0, :2], [[100.0, 50.0]] * 3, atol=1e-9)
    np.testing.assert_allclose(pts[:, 0, 2], 3.0, atol=1e-9)
    assert (pts[:, 1, 1] < pts[:, 0, 1]).all()  # +Z is above the origin: smaller row index


def test_front_view_right_is_plus_x():
    cams = turntable([0.0], distance=2.0)  # azimuth 0: camera on -Y looking at +Y (Blender front view)
    np.testing.assert_allclose(cams.centers[0], [0.0, -2.0, 0.0], atol=1e-12)
    p = cams.project_points(np.array([[0.2, 0.0, 0.0]]))
    assert p[0, 0, 0] > cams.cx[0]


def test_fov_spans_long_side():
    cams = turntable([0.0], distance=2.0, fov_deg=60, width=320, height=240)
    half = 2.0 * math.tan(math.radians(30))
    p = cams.project_points(np.array([[half, 0.0, 0.0]]))
    assert p[0, 0, 0] == pytest.approx(320.0, abs=1e-9)


def test_aloi_preset():
    cams = aloi_turntable()
    assert len(cams) == 72 and (cams.width, cams.height) == (384, 288)
    np.testing.assert_allclose(np.linalg.norm(cams.centers, axis=1), 2.732)
    np.testing.assert_allclose(cams.centers[18], [2.732, 0.0, 0.0], atol=1e-9)  # 90 deg: on +X


def test_torch_projection_matches_numpy_and_is_differentiable():
    cams = turntable(np.arange(0, 360, 45), distance=2.5, elevation_deg=15, width=64, height=48)
    cams = Cameras(cams.c2w, cams.fx * 1.1, cams.fy, cams.cx + 3, cams.cy - 2, 64, 48)
    pts = np.random.default_rng(0).normal(size=(20, 3)) * 0.3
    v = torch.tensor(pts, dtype=torch.float64, requires_grad=True)
    out = project(v, *camera_tensors(cams, v))
    np.testing.assert_allclose(out.detach().numpy(), cams.project_points(pts), atol=1e-9)
    out[..., :2].sum().backward()
    assert torch.isfinite(v.grad).all() and v.grad.abs().sum() > 0
    batched = project(v.detach().expand(len(cams), -1, -1), *camera_tensors(cams, v))
    torch.testing.assert_close(batched, out.detach())


def test_projection_of_point_on_camera_plane_is_finite():
    cams = turntable([0.0], distance=2.0)
    v = torch.tensor([[0.1, -2.0, 0.0]], dtype=torch.float32)  # exactly at the camera's depth
    out = project(v, *camera_tensors(cams, v))
    assert torch.isfinite(out).all()


def test_ndc_uses_long_side():
    s = torch.tensor([[0.0, 0.0], [320.0, 240.0]])
    n = to_ndc(s, 320, 240)
    torch.testing.assert_close(n, torch.tensor([[-1.0, 0.75], [1.0, -0.75]]))


def test_resized_keeps_projection_in_relative_units():
    cams = turntable([10.0, 70.0], width=384, height=288)
    small = cams.resized(192, 144)
    p = np.array([[0.1, 0.2, 0.3]])
    np.testing.assert_allclose(small.project_points(p)[..., :2], cams.project_points(p)[..., :2] / 2)


def test_transforms_round_trip(tmp_path):
    cams = turntable(np.arange(0, 360, 60), distance=2.2, elevation_deg=25, width=160, height=120)
    cams = Cameras(cams.c2w, cams.fx, cams.fy * 0.9, cams.cx + 5, cams.cy, 160, 120)
    names = [f"images/v{i:02d}" for i in range(len(cams))]
    save_transforms(tmp_path / "transforms.json", cams, names, [f"masks/v{i:02d}.png" for i in range(6)])
    back, frames = load_transforms(tmp_path)
    for a in ("c2w", "fx", "fy", "cx", "cy"):
        np.testing.assert_allclose(getattr(back, a), getattr(cams, a))
    assert (back.width, back.height) == (160, 120)
    assert frames[2].image == (tmp_path / "images/v02").resolve()
    assert frames[2].mask == (tmp_path / "masks/v02.png").resolve()


def test_transforms_camera_angle_and_per_frame_override(tmp_path):
    meta = {
        "camera_angle_x": 2 * math.atan(0.5),  # fx = w
        "w": 100, "h": 80,
        "frames": [
            {"file_path": "a.png", "transform_matrix": np.eye(4).tolist()},
            {"file_path": "b.png", "transform_matrix": np.eye(4).tolist(), "fl_x": 50, "fl_y": 60, "cx": 40},
        ],
    }
    (tmp_path / "transforms.json").write_text(json.dumps(meta))
    cams, _ = load_transforms(tmp_path / "transforms.json")
    np.testing.assert_allclose(cams.fx, [100, 50])
    np.testing.assert_allclose(cams.fy, [100, 60])
    np.testing.assert_allclose(cams.cx, [50, 40])
    np.testing.assert_allclose(cams.cy, [40, 40])


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"frames": []}), "no frames"),
        (json.dumps({"w": 4, "h": 4, "fl_x": 2, "frames": [{"file_path": "a"}]}), "frame 0"),
        (json.dumps({"w": 4, "h": 4, "frames": [{"file_path": "a", "transform_matrix": np.eye(4).tolist()}]}),
         "focal"),
        (json.dumps({"w": 4, "h": 4, "fl_x": 2, "frames": [{"file_path": "a", "transform_matrix": [[1]]}]}),
         "4x4"),
    ],
)
def test_transforms_bad_input(tmp_path, content, message):
    (tmp_path / "transforms.json").write_text(content)
    with pytest.raises(InputError, match=message):
        load_transforms(tmp_path)


def test_cameras_reject_nan_and_zero_focal():
    with pytest.raises(InputError, match="NaN"):
        Cameras(np.full((1, 4, 4), np.nan), 1, 1, 0, 0, 4, 4)
    with pytest.raises(InputError, match="focal"):
        Cameras(np.eye(4)[None], 0, 1, 0, 0, 4, 4)


def test_softras_conversion_is_the_mirrored_pinhole():
    rows = np.array([[2.732, 30.0, 0.0], [2.732, 30.0, 75.0], [2.0, -10.0, 200.0]])
    cams = from_softras(rows, image_size=64)
    pts_zup = np.random.default_rng(1).normal(size=(10, 3)) * 0.3
    pts_yup = np.stack([pts_zup[:, 0], pts_zup[:, 2], -pts_zup[:, 1]], axis=1)  # inverse of (x,-z,y)
    ours = cams.project_points(pts_zup)
    for i, (d, el, az) in enumerate(rows):
        theirs = softras_pixels(pts_yup, d, el, az, 64)
        # SoftRas images are the left-right mirror of ours: col' = S - col, same row.
        np.testing.assert_allclose(ours[i, :, 0], 64 - theirs[:, 0], atol=1e-9)
        np.testing.assert_allclose(ours[i, :, 1], theirs[:, 1], atol=1e-9)


def test_camera_on_its_target_is_a_clear_error():
    with pytest.raises(InputError, match="sits on the point it looks at"):
        look_at(np.zeros(3))

"""IoU with the hard rasteriser and Chamfer distance by seeded surface sampling."""

import numpy as np
import pytest

from softfit.cameras import turntable
from softfit.errors import InputError
from softfit.mesh.sphere import uv_sphere
from softfit.mesh.types import Mesh
from softfit.metrics import chamfer_distance, render_silhouettes, sample_surface, silhouette_iou, view_iou


def test_silhouette_iou_by_hand():
    a = np.zeros((2, 4, 4))
    b = np.zeros((2, 4, 4))
    a[0, :2] = 1  # 8 pixels
    b[0, 1:3] = 1  # 8 pixels, 4 shared -> 4 / 12
    assert silhouette_iou(a, b).tolist() == pytest.approx([1 / 3, 1.0])  # two empty views agree


def test_view_iou_of_a_mesh_with_itself_and_a_shifted_copy():
    s = uv_sphere(400, 0.5)
    cams = turntable([0, 90, 180], width=64, height=48)
    target = render_silhouettes(s, cams)
    assert target.shape == (3, 48, 64) and set(np.unique(target)) == {0.0, 1.0}
    assert view_iou(s, target, cams).tolist() == [1.0, 1.0, 1.0]
    moved = Mesh(s.verts + [0, 0, 0.2], s.faces)
    assert view_iou(moved, target, cams).max() < 0.8


def test_sampling_is_uniform_on_the_surface_and_seeded():
    s = uv_sphere(2000, 2.0)
    p = sample_surface(s, 5000, seed=1)
    r = np.linalg.norm(p, axis=1)
    assert r.max() <= 2.0 + 1e-9 and r.min() > 1.98  # on the (inscribed) surface
    assert abs(p[:, 2].mean()) < 0.05 and abs((p[:, 2] > 0).mean() - 0.5) < 0.03  # no pole bias
    assert np.array_equal(p, sample_surface(s, 5000, seed=1))
    with pytest.raises(InputError):
        sample_surface(Mesh(np.zeros((3, 3)), np.zeros((0, 3))), 10)


def test_chamfer_of_concentric_spheres_is_the_radius_gap():
    a, b = uv_sphere(3000, 1.0), uv_sphere(3000, 1.1)
    c = chamfer_distance(a, b, samples=5000)
    assert c["chamfer"] == pytest.approx(0.1, abs=0.01)
    assert c["chamfer_rel"] == pytest.approx(0.1 / np.linalg.norm([2.2, 2.2, 2.2]), rel=0.1)
    same = chamfer_distance(a, a, samples=5000)["chamfer"]
    assert same < 0.3 * c["chamfer"]  # only the sampling gap between two point sets on one surface
    assert chamfer_distance(a, b, samples=5000) == c  # seeded

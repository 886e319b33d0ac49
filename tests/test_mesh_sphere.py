"""The initial UV sphere: resolution rule, exact geometry, watertight and outward-facing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from softfit.errors import InputError
from softfit.mesh.sphere import sphere_resolution, sphere_triangles, uv_sphere


def test_resolution_rule():
    assert sphere_resolution(8) == (4, 2)  # the octahedron
    assert sphere_resolution(1900) == (44, 22)  # the original method's ~1 900 polygons at 256^2
    assert sphere_triangles(44, 22) == 1848
    for polys in (8, 50, 100, 777, 1900, 2700, 10_000, 123_456):
        seg, rings = sphere_resolution(polys)
        assert seg == 2 * rings
        got = sphere_triangles(seg, rings)
        # no other ring count is closer to the request
        for r in (rings - 1, rings + 1):
            if r >= 2:
                assert abs(sphere_triangles(2 * r, r) - polys) >= abs(got - polys)


@pytest.mark.parametrize("polys", [8, 100, 1900, 5000])
def test_sphere_is_exact_watertight_and_outward(polys):
    center, radius = np.array([0.3, -0.1, 0.25]), 0.7
    m = uv_sphere(polys, radius=radius, center=center)
    seg, rings = sphere_resolution(polys)
    assert m.n_verts == seg * (rings - 1) + 2
    assert m.n_faces == sphere_triangles(seg, rings)
    np.testing.assert_allclose(np.linalg.norm(m.verts - center, axis=1), radius, rtol=0, atol=1e-12)
    np.testing.assert_allclose(m.verts[0], center + [0, 0, radius], atol=1e-15)  # poles on the Z axis
    np.testing.assert_allclose(m.verts[-1], center - [0, 0, radius], atol=1e-15)

    # every directed edge once and its reverse once: closed 2-manifold with consistent winding
    f = m.faces
    directed = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    assert len(np.unique(directed, axis=0)) == len(directed)
    und = np.sort(directed, axis=1)
    _, counts = np.unique(und, axis=0, return_counts=True)
    assert (counts == 2).all()
    assert m.n_verts - len(counts) + m.n_faces == 2  # Euler characteristic of a sphere
    assert len(np.unique(f)) == m.n_verts  # no stray vertex
    assert (f[:, 0] != f[:, 1]).all() and (f[:, 1] != f[:, 2]).all() and (f[:, 0] != f[:, 2]).all()

    # counter-clockwise seen from outside: normals point away from the centre, volume positive
    v = m.verts[f] - center
    n = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
    assert (np.einsum("ij,ij->i", n, v.mean(axis=1)) > 0).all()
    volume = np.einsum("ij,ij->i", v[:, 0], np.cross(v[:, 1], v[:, 2])).sum() / 6
    assert 0 < volume < 4 / 3 * math.pi * radius**3


def test_volume_converges_to_the_ball():
    vols = []
    for polys in (100, 1900, 20_000):
        m = uv_sphere(polys, radius=1.0)
        v = m.verts[m.faces]
        vols.append(np.einsum("ij,ij->i", v[:, 0], np.cross(v[:, 1], v[:, 2])).sum() / 6)
    errors = [4 / 3 * math.pi - x for x in vols]
    assert errors[0] > errors[1] > errors[2] > 0
    assert errors[2] / (4 / 3 * math.pi) < 1e-3


@pytest.mark.parametrize("kwargs", [
    {"polys": 4}, {"polys": 7.5}, {"polys": True}, {"polys": 10**9}, {"polys": 100, "radius": 0},
    {"polys": 100, "radius": float("nan")}, {"polys": 100, "center": (0, 0)},
    {"polys": 100, "center": (0, float("inf"), 0)},
])
def test_bad_arguments(kwargs):
    with pytest.raises(InputError):
        uv_sphere(**kwargs)

"""Adaptive sizing (softfit.fit.sizing): the tolerances are relative to the object's extent in the views
(never finer than the images show), so the face count a smooth shape asks for is set by the shape, not by
how many pixels the images have."""

import numpy as np
import pytest
import torch

from softfit.cameras import turntable
from softfit.fit import sizing
from softfit.fit.views import make_targets
from softfit.mesh.sphere import uv_sphere
from softfit.mesh.types import Mesh
from softfit.metrics import render_silhouettes


@pytest.fixture(scope="module")
def ellipsoid() -> Mesh:
    m = uv_sphere(4000, 0.5)
    return Mesh(m.verts * np.array([3.0, 1.0, 1.0]), m.faces)


def _asked_faces(mesh: Mesh, size: int) -> tuple[float, dict]:
    """Faces the target field asks for (vertex area over an equilateral face of the target edge), and
    the sizing's summary, with the mesh's own silhouettes as targets (no silhouette error)."""
    cams = turntable(np.arange(0, 360, 30), elevation_deg=30.0, width=size, height=size)
    tg = make_targets(render_silhouettes(mesh, cams), cams, size, torch.float64, torch.device("cpu"))
    t, summary = sizing.target_lengths(torch.as_tensor(mesh.verts), mesh.faces, tg)
    v, f = mesh.verts, mesh.faces
    area = 0.5 * np.linalg.norm(np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]]), axis=1)
    vert_area = np.zeros(len(v))
    for k in range(3):
        np.add.at(vert_area, f[:, k], area / 3)
    return float((vert_area / (np.sqrt(3) / 4 * t**2)).sum()), summary


def test_extent_and_tolerances_follow_the_object_in_the_images(ellipsoid):
    _, s64 = _asked_faces(ellipsoid, 64)
    _, s256 = _asked_faces(ellipsoid, 256)
    # the ellipsoid is 3 units long, seen from 2.732 with SoftRas' 30-degree field: about 2/3 of the frame
    assert 0.5 * 64 < s64["extent_px"] < 0.85 * 64
    assert s256["extent_px"] == pytest.approx(4 * s64["extent_px"], rel=0.05)
    assert s256["sag_px"] == pytest.approx(sizing.SAG_REL * s256["extent_px"])
    assert s64["sag_px"] == sizing.SAG_PX  # 0.25 % of 44 px is finer than the images show
    assert s64["max_px"] == sizing.MAX_PX and s256["max_px"] >= sizing.MAX_PX


def test_larger_images_do_not_ask_for_more_faces_than_the_shape_needs(ellipsoid):
    # Measured: 611 / 2 889 / 2 889 faces at 64 / 256 / 512 px. Tolerances fixed in pixels (the rule
    # before) asked for 611 / 6 074 / 24 298: 4x per doubling once the longest edge binds, which is how
    # the 256² mug reached 40 000 faces.
    n = {size: _asked_faces(ellipsoid, size)[0] for size in (64, 256, 512)}
    assert n[512] < 1.25 * n[256]
    assert n[256] >= n[64]


def _faceted(mesh: Mesh, depth: float = 0.01) -> Mesh:
    """The mesh with a visual hull's facets: vertices pushed in and out along their radius by a seeded
    `depth` (a share of the size), the creases a voxel carving leaves on a smooth object."""
    rng = np.random.default_rng(0)
    r = np.linalg.norm(mesh.verts, axis=1, keepdims=True)
    return Mesh(mesh.verts * (1.0 + depth * rng.uniform(-1.0, 1.0, (len(r), 1))), mesh.faces)


def _asked_first(mesh: Mesh, size: int, first: bool) -> tuple[float, dict]:
    cams = turntable(np.arange(0, 360, 30), elevation_deg=30.0, width=size, height=size)
    tg = make_targets(render_silhouettes(mesh, cams), cams, size, torch.float64, torch.device("cpu"))
    t, summary = sizing.target_lengths(torch.as_tensor(mesh.verts), mesh.faces, tg, first=first)
    return float((1.0 / t**2).sum()), summary


def test_the_initial_hulls_facets_do_not_set_the_face_count(ellipsoid):
    # A large object's first sizing reads curvature after Taubin smoothing: the carving's facets are not
    # the object's detail (the 256² mug asked 15 000 faces on its hull, 9 300 with this; thin.md round 11).
    hull = _faceted(ellipsoid)
    raw, s_raw = _asked_first(hull, 256, first=False)
    smooth, s_smooth = _asked_first(hull, 256, first=True)
    assert s_raw["curvature_smoothing_passes"] == 0
    assert s_smooth["curvature_smoothing_passes"] == sizing.SMOOTH_FIRST
    assert smooth < 0.6 * raw
    # small objects (under 100 px, pixel tolerances) are sized as before: their facets are pixel-sized
    small_raw, _ = _asked_first(hull, 64, first=False)
    small_first, s64 = _asked_first(hull, 64, first=True)
    assert s64["curvature_smoothing_passes"] == 0 and small_first == small_raw


def test_taubin_smoothing_keeps_the_shapes_size(ellipsoid):
    out = sizing.taubin(_faceted(ellipsoid).verts, ellipsoid.faces, sizing.SMOOTH_FIRST)
    ext = out.max(0) - out.min(0)
    np.testing.assert_allclose(ext, [3.0, 1.0, 1.0], rtol=0.03)


def test_the_silhouette_error_is_read_at_the_render_size_in_force(ellipsoid):
    # Targets 3 % larger than the mesh: 2-3 px off at 256 px, under one pixel at 64. Read on the full-size
    # images the whole outline asks for the shortest edges; read at the 64-px renders the fit is at, it
    # does not yet (the 256² mug's first remeshings refined 54 % of its vertices that way; thin.md
    # round 13).
    cams = turntable(np.arange(0, 360, 30), elevation_deg=30.0, width=256, height=256)
    sil = render_silhouettes(Mesh(ellipsoid.verts * 1.03, ellipsoid.faces), cams)
    full = make_targets(sil, cams, 256, torch.float64, torch.device("cpu"))
    small = make_targets(sil, cams, 64, torch.float64, torch.device("cpu"))
    verts = torch.as_tensor(ellipsoid.verts)
    t_full, s_full = sizing.target_lengths(verts, ellipsoid.faces, full)
    t_small, s_small = sizing.target_lengths(verts, ellipsoid.faces, full, err_tg=small)
    assert s_full["refined_share"] > 0.2, s_full
    assert s_small["refined_share"] < 0.5 * s_full["refined_share"], (s_small, s_full)  # 0.06, 0.67
    assert (1.0 / t_small**2).sum() < 0.8 * (1.0 / t_full**2).sum()  # measured 0.68 x
    # the lengths themselves stay sized for the full-size images
    assert s_small["extent_px"] == s_full["extent_px"] and s_small["max_px"] == s_full["max_px"]

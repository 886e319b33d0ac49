"""Opening crossings where a thin part collapsed (softfit.mesh.thicken, clean.open_crossings): a real
fixed fit of `softfit bench thin`'s chair at 256² (tests/fixtures/chair_fixed_fit_r22.npz: 944 faces,
seed 2, 22 crossing pairs, all where a leg's two sides lie on each other) against real Blender renders."""

from pathlib import Path

import numpy as np
import pytest
import trimesh

from softfit.mesh.clean import open_crossings, restore, untangle
from softfit.mesh.intersect import intersecting_pairs
from softfit.mesh.neighbourhood import local_edge_length
from softfit.mesh.normals import vertex_normals
from softfit.mesh.thicken import inward_gaps, thicken
from softfit.mesh.types import Mesh


def _chair_fit() -> Mesh:
    d = np.load(Path(__file__).parent / "fixtures" / "chair_fixed_fit_r22.npz")
    return Mesh(d["verts"].astype(np.float64), d["faces"].astype(np.int64))


def test_inward_gap_is_the_thickness_and_negative_once_the_sides_cross():
    """A vertex in the middle of a thin slab's top sees the bottom at the slab's thickness; sunk below
    the bottom, it sees it outside itself (negative); a vertex with no opposite side near has none."""
    box = trimesh.creation.box(extents=(1.0, 1.0, 0.1)).subdivide().subdivide()
    slab = Mesh(np.asarray(box.vertices, dtype=np.float64), np.asarray(box.faces, dtype=np.int64))
    normals = vertex_normals(slab)
    mid = np.flatnonzero((np.abs(slab.verts[:, :2]).max(axis=1) < 0.3) & (slab.verts[:, 2] > 0))
    assert len(mid) and np.allclose(normals[mid], [0, 0, 1])
    gaps = inward_gaps(slab, mid, normals, np.full(len(mid), 0.5))
    assert np.allclose(gaps, 0.1)
    assert np.isinf(inward_gaps(slab, mid, normals, np.full(len(mid), 0.05))).all()  # out of reach
    sunk = slab.verts.copy()
    sunk[mid, 2] = -0.08  # 0.03 below the bottom side
    gaps = inward_gaps(Mesh(sunk, slab.faces), mid, normals, np.full(len(mid), 0.5))
    assert np.allclose(gaps, -0.03)


def test_collapsed_legs_are_pushed_apart_where_smoothing_leaves_them_crossed():
    """Smoothing the neighbourhood of the chair's crossings leaves 20 of its 22 pairs; pushing the legs'
    sides apart leaves none, and no vertex moves more than half an edge (measured: 0.24 x the mean edge
    length)."""
    m = _chair_fit()
    pairs = intersecting_pairs(m)
    assert len(pairs) == 22
    _, left = restore(m, untangle(m)[0])
    assert len(left) >= 15
    pushed, left = thicken(m, pairs, 0.5)
    assert len(left) < len(pairs)
    out, left, how = open_crossings(m)
    assert len(left) == 0 and len(intersecting_pairs(out)) == 0 and how.startswith("pushing sides apart")
    moved = np.linalg.norm(out.verts - m.verts, axis=1)
    assert moved.max() < 0.5 * local_edge_length(m).mean(), moved.max()
    assert np.array_equal(out.faces, m.faces)


@pytest.fixture(scope="module")
def chair_views(render_dataset_cached):
    """The chair as `softfit bench thin` renders it at 256² (its `thin_spec`)."""
    from softfit.data.load import load_dataset

    folder = render_dataset_cached("chair", views=24, cameras="turntable", size=256, scale=2.0)
    return load_dataset(folder, image_size=256)


def test_the_repaired_chair_keeps_its_fit(chair_views):
    """`softfit fit`'s repair of the chair: no crossing left and the training views' silhouette error
    within 1 % of the fit's (measured: x0.998; smoothing alone, round 21: 20 pairs left at x1.23)."""
    from softfit.fit.params import FitParams
    from softfit.fit.repair import repair_fitted, silhouette_error
    from softfit.pipeline import training_views

    m = _chair_fit()
    train, _ = training_views(chair_views, FitParams())
    error = silhouette_error(chair_views.silhouettes[train], chair_views.cameras.subset(train))
    out, report = repair_fitted(m, error)
    assert report["before"]["self_intersections"] == 22 and report["after"]["self_intersections"] == 0
    assert report["opened_by"].startswith("pushing sides apart")
    assert error(out) <= 1.01 * error(m), (error(out), error(m))
    assert "coarsening_refused" not in report and "repair_refused" not in report

"""The repair of a fitted mesh (softfit.fit.repair): coarsening folds away only while it keeps the fit,
and the mesh written is the one scored (softfit.texture.finish). Real Blender renders of the torus knot
and a real adaptive fit of it (tests/fixtures/knot_adaptive_fit_r13.npz, 233 crossing face pairs)."""

from pathlib import Path

import numpy as np
import pytest

from softfit.data.load import load_dataset
from softfit.fit.engine import FitResult
from softfit.fit.params import FitParams
from softfit.fit.repair import REPAIR_GROWTH, crossing_warning, repair_fitted, silhouette_error
from softfit.mesh.types import Mesh
from softfit.metrics import view_iou
from softfit.texture.finish import finish


def _untangle(error):
    """`simplify`'s untangle, as the fit engine hands it in."""

    def run(mesh):
        repaired, report = repair_fitted(mesh, error)
        return repaired, report["after"]["self_intersections"]

    return run


def _knot_fit() -> Mesh:
    d = np.load(Path(__file__).parent / "fixtures" / "knot_adaptive_fit_r13.npz")
    return Mesh(d["verts"].astype(np.float64), d["faces"].astype(np.int64))


@pytest.fixture(scope="module")
def knot_views(render_dataset_cached):
    """The true torus knot, framed as the fixture was fitted (`softfit bench fit`: scale 1, rings)."""
    return load_dataset(render_dataset_cached("torus_knot", views=24, size=128, scale=1.0, cameras="rings"),
                        image_size=128)


def test_coarsening_that_costs_the_fit_is_refused(knot_views):
    """Measured at 128²: the fit's silhouette error 0.040; coarsened (no crossings) 0.093; smoothed only
    0.045 with 37 crossing pairs left. The smoothed mesh is kept and the crossings are reported."""
    m = _knot_fit()
    error = silhouette_error(knot_views.silhouettes, knot_views.cameras)
    out, report = repair_fitted(m, error)
    refused = report["coarsening_refused"]
    assert refused["coarsened_error"] > refused["fit_error"] * (1 + REPAIR_GROWTH)
    assert refused["smoothed_error"] < refused["coarsened_error"] and refused["coarsened_crossings_left"] == 0
    assert error(out) == pytest.approx(refused["smoothed_error"], abs=1e-6)
    assert out.n_faces == m.n_faces and "coarsened_passes" not in report["steps"]
    left = report["after"]["self_intersections"]
    assert 0 < left < 233
    warning = crossing_warning(report)
    assert f"{left} pairs of faces" in warning and "training views' silhouette error" in warning
    # The kept repair is the coarsening repair stopped before it coarsened, not opened a second time:
    # exactly what a smoothing-only repair gives.
    from softfit.mesh.clean import repair_mesh

    alone, alone_report = repair_mesh(m, remesh=None, score=error)
    assert np.array_equal(out.verts, alone.verts) and np.array_equal(out.faces, alone.faces)
    assert {k: v for k, v in report.items() if k != "coarsening_refused"} == alone_report


def _knot_fit_r22() -> tuple[Mesh, np.ndarray]:
    """`softfit bench fit`'s torus knot fitted with --polys auto (round 22, seed 0): 3 074 faces, 18
    crossing pairs on a thin tube's tiny faces, which smoothing cannot open; and its training views."""
    d = np.load(Path(__file__).parent / "fixtures" / "knot_adaptive_fit_r22.npz")
    return Mesh(d["verts"].astype(np.float64), d["faces"].astype(np.int64)), d["train"].astype(np.int64)


def test_a_short_refit_saves_the_coarsened_repair(render_dataset_cached):
    """Coarsening opens the knot's folds but shrinks the tube (training error x2.3: refused before this
    round, 17 pairs left). Fitted again for REPAIR_POLISH_STEPS steps and reopened, the repair has no
    crossing and fits the training views better than the fit did (measured x0.903, held-out 0.9649 ->
    0.9692)."""
    from softfit.fit.polish import polisher

    m, train = _knot_fit_r22()
    views = load_dataset(render_dataset_cached("torus_knot", views=72, size=256, scale=1.0, cameras="rings"),
                         image_size=256)
    error = silhouette_error(views.silhouettes[train], views.cameras.subset(train))
    out, report = repair_fitted(m, error, polish=polisher(views, FitParams(device="cpu"), train))
    assert report["after"]["self_intersections"] == 0 and report["after"]["ok"], report["after"]
    assert "coarsening_refused" not in report and crossing_warning(report) is None
    polished = report["polished"]
    assert polished["coarsened_error"] > error(m) * (1 + REPAIR_GROWTH)  # what was refused without it
    assert error(out) == pytest.approx(polished["polished_error"], abs=1e-6)
    assert error(out) <= error(m) * (1 + REPAIR_GROWTH)
    assert "short refit" in report["opened_by"] and out.n_faces < m.n_faces
    # A polish that does not fit (the mesh back as it came) saves nothing: refused as before, and said.
    kept, kept_report = repair_fitted(m, error, polish=lambda mesh: mesh)
    refused = kept_report["coarsening_refused"]
    assert refused["polished_error"] > refused["fit_error"] * (1 + REPAIR_GROWTH)
    assert kept.n_faces == m.n_faces and kept_report["after"]["self_intersections"] > 0
    assert f"{refused['polished_error']:.4f} after a short refit" in crossing_warning(kept_report)


def test_coarsening_that_keeps_the_fit_is_kept():
    """The same fold with an error the coarsening does not change: crossing-free, as before."""
    m = _knot_fit()
    out, report = repair_fitted(m, lambda mesh: 0.05)
    assert "coarsening_refused" not in report and report["steps"]["coarsened_passes"] >= 1
    assert report["after"]["self_intersections"] == 0 and crossing_warning(report) is None
    pinned, pinned_report = repair_fitted(m, lambda mesh: 0.05, pinned=True)
    assert np.array_equal(pinned.faces, m.faces) and "coarsened_passes" not in pinned_report["steps"]


def test_a_repair_that_would_more_than_double_the_error_is_not_written():
    """When every repair costs the fit more than REPAIR_LIMIT of its error (the error callable says so
    here), the fit is written as it is, with its crossings counted and the reason in the warning."""
    from softfit.fit.repair import REPAIR_LIMIT

    m = _knot_fit()
    fit_error = 0.04
    out, report = repair_fitted(m, lambda mesh: fit_error if mesh is m else fit_error * (1.5 + REPAIR_LIMIT))
    assert np.array_equal(out.verts, m.verts) and np.array_equal(out.faces, m.faces)
    assert report["repair_refused"]["crossings"] == report["after"]["self_intersections"] == 233
    assert "the fit is written as it is" in crossing_warning(report)


def test_the_written_mesh_is_the_one_scored(knot_views):
    """finish() repairs the fit; when the repair moved it, the IoUs in the metrics are the written mesh's
    (the fit's own kept as topology.fit_scores), and the crossings left are a warning."""
    m = _knot_fit()
    train, held = np.arange(0, 24, 3), np.array([1, 10, 20])
    before = {"train_iou": float(view_iou(m, knot_views.silhouettes[train], knot_views.cameras.subset(train))
                                 .mean()),
              "heldout_iou": float(view_iou(m, knot_views.silhouettes[held], knot_views.cameras.subset(held))
                                   .mean())}
    views = {"train_views": train.tolist(), "heldout_views": held.tolist()}
    result = FitResult(m, {"mesh": {"pinned": 0}} | views | before)
    finish(result, knot_views, FitParams(device="cpu"), texture=False, train=train)
    topo = result.metrics["topology"]
    assert topo["fit_scores"]["heldout_iou"] == before["heldout_iou"]
    written = view_iou(result.mesh, knot_views.silhouettes[held], knot_views.cameras.subset(held))
    assert result.metrics["heldout_iou"] == pytest.approx(float(written.mean()))
    assert result.metrics["heldout_iou_per_view"] == pytest.approx(written.tolist())
    assert result.metrics["heldout_iou"] != before["heldout_iou"]
    # finish() tries a short refit of the coarsened repair before deciding (`softfit.fit.polish`). On these 8
    # training views the refit's outcome depends on the CPU's arithmetic: on AMD EPYC machines it fell short
    # (0.057 against the fit's 0.044: refused, the smoothed repair written and its crossings a warning), on
    # an Intel Xeon it saved the coarsened repair. Either way the report says which, with its errors.
    left = topo["after"]["self_intersections"]
    assert bool(result.metrics.get("mesh_warnings")) == (left > 0)
    refused = topo.get("coarsening_refused")
    if refused is not None:
        assert refused["polished_error"] > refused["fit_error"] * (1 + REPAIR_GROWTH) and left > 0
    else:
        assert topo["polished"]["polished_error"] < topo["polished"]["coarsened_error"]
        assert topo["after"]["faces"] < topo["before"]["faces"]  # the coarsened repair, kept


def test_the_written_mesh_is_the_one_compared_with_the_true_mesh(knot_views, render_dataset_cached, tmp_path):
    """`softfit fit --gt-mesh`: when the repair moves the fitted mesh, the Chamfer distance in metrics.json
    is the written mesh's too (a fit of no steps from the real knot fit, so the repair is all that moves).
    A run finished without a report (`finish=True`, what the benchmarks score) ends with the same mesh and
    scores, writes nothing, and keeps the fit's own mesh as `fitted`."""
    from softfit.mesh.io import load_mesh
    from softfit.metrics import chamfer_distance
    from softfit.pipeline import InitSpec, Inputs, ReportSpec, run

    folder = render_dataset_cached("torus_knot", views=24, size=128, scale=1.0, cameras="rings")
    gt = load_mesh(folder / "gt_mesh.obj")
    m = _knot_fit()
    params = FitParams(iterations=0, device="cpu")
    out = run(Inputs(str(folder), image_size=128), InitSpec(mesh=m), params, gt,
              report=ReportSpec(tmp_path / "out", texture=False))
    written = load_mesh(tmp_path / "out" / "mesh.obj")
    assert "fit_scores" in out.metrics.raw["topology"]
    reported = out.metrics.raw["chamfer"]["chamfer"]
    assert reported == pytest.approx(chamfer_distance(written, gt)["chamfer"], rel=1e-6)
    assert reported != pytest.approx(chamfer_distance(m, gt)["chamfer"], rel=1e-6)

    before = set(Path(tmp_path).rglob("*"))
    done = run(Inputs(str(folder), image_size=128), InitSpec(mesh=m), params, gt, finish=True)
    assert done.report is None and set(Path(tmp_path).rglob("*")) == before
    assert np.allclose(done.fitted.verts, m.verts) and np.array_equal(done.fitted.faces, m.faces)
    assert np.allclose(done.mesh.verts, written.verts, atol=1e-5) and np.array_equal(done.mesh.faces,
                                                                                     written.faces)
    for key in ("heldout_iou", "train_iou"):
        assert done.metrics.raw[key] == pytest.approx(out.metrics.raw[key])
    assert done.metrics.raw[key] != pytest.approx(done.metrics.raw["topology"]["fit_scores"][key])
    assert done.metrics.chamfer == pytest.approx(reported)
    assert done.metrics.raw["texture"] == {"skipped": "turned off (--no-texture)"}
    live = run(Inputs(str(folder), image_size=128), InitSpec(mesh=m), params)  # the server's: unrepaired
    assert live.mesh is live.fitted and "topology" not in live.metrics.raw


def test_a_fit_its_repair_cannot_free_of_crossings_is_still_decimated_without_adding_any(knot_views):
    """The knot's repair leaves 37 crossing pairs (above). Round 20's first rule left such a fit
    undecimated; it is now decimated from its untangled mesh, a candidate kept only while it crosses
    itself no more than that. Measured: 6 276 -> 4 392 faces, 25 crossing pairs, training error 0.0466
    (bound 0.0476)."""
    from softfit.mesh.intersect import intersecting_pairs
    from softfit.mesh.simplify import simplify

    m = _knot_fit()
    error = silhouette_error(knot_views.silhouettes, knot_views.cameras)
    out = simplify(m, error, 0.05, _untangle(error))
    assert out.crossings > 0 and out.written_error is not None
    assert out.mesh.n_faces < 0.8 * m.n_faces
    assert len(intersecting_pairs(out.mesh)) <= out.crossings
    assert error(out.mesh) <= out.max_error

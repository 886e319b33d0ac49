"""End to end at 64²: a Blender-rendered airplane (thin wings, tail plane and fin) fitted from a visual
hull decimated to ~100 triangles, where the wings are a few coarse triangles. A fixed topology cannot
grow them back; remeshing (edge lengths from the pixel footprint, refined where the silhouette misfits)
can. Real Blender renders, the real compiled rasteriser, the real pipeline."""

import pytest

from softfit.fit import FitParams
from softfit.mesh.clean import check_mesh
from softfit.pipeline import InitSpec, Inputs, run


def test_remeshing_recovers_thin_parts_a_fixed_mesh_cannot(render_dataset_cached):
    folder = render_dataset_cached("airplane", views=16, size=64, scale=2.0)
    out = {}
    for remesh in ("off", "on"):
        params = FitParams(iterations=120, remesh=remesh, device="cpu", plateau_patience=0, threads=2)
        out[remesh] = run(Inputs(str(folder), image_size=64), InitSpec("hull", 150), params)
    off, on = out["off"], out["on"]
    assert off.init.n_faces == on.init.n_faces < 150 and off.mesh.n_faces == off.init.n_faces
    # Measured (2 threads, seed 0): fixed 0.60 held-out IoU on 92 faces; remeshed 0.86 on ~1 360 faces
    # (about 3 s for both fits on an idle 2-core machine, plus the Blender render).
    assert off.metrics.heldout_iou < 0.7
    assert on.metrics.heldout_iou > 0.8
    assert on.metrics.heldout_iou > off.metrics.heldout_iou + 0.15
    steps = on.metrics.raw["remesh"]["steps"]
    assert steps and all("error" not in s for s in steps)
    assert on.mesh.n_faces > 4 * on.init.n_faces  # the images asked for more triangles
    assert check_mesh(on.mesh).watertight


def test_the_adaptive_fit_ends_with_the_faces_its_views_need(render_dataset_cached):
    """The remeshed fit is decimated at its end (softfit.mesh.simplify) while its training views allow,
    then polished (the fit's last stage again, `params.polish_params`): on the airplane, half the faces
    for about the same IoU on views it never saw. Measured (seed 0, 2 threads; a short fit, so its
    training error is large and the 5 % it may grow is too): 1 388 -> 680 faces, training views' error
    0.110 -> 0.114 (bound 0.115), polished 0.098; held-out IoU 0.869 -> 0.861 before the polish (round
    22), 0.879 after."""
    folder = render_dataset_cached("airplane", views=16, size=64, scale=2.0)
    out = {}
    for simplify in (0.0, 0.05):
        params = FitParams(iterations=120, remesh="on", simplify=simplify, device="cpu", plateau_patience=0,
                           threads=2)
        out[simplify] = run(Inputs(str(folder), image_size=64), InitSpec("hull", 150), params)
    full, slim = out[0.0], out[0.05]
    s = slim.metrics.raw["remesh"]["simplify"]
    assert s["faces_before"] == full.mesh.n_faces and slim.mesh.n_faces == s["faces_after"]
    assert slim.mesh.n_faces < 0.8 * full.mesh.n_faces
    assert 1 - slim.metrics.heldout_iou < 1.1 * (1 - full.metrics.heldout_iou)
    # The polish is kept only when it fits the training views better, and what it reached is the mesh's
    polish = s["polish"]
    assert polish["kept"] and polish["error_after"] < polish["error_before"] <= s["max_error"]
    assert slim.metrics.train_iou == pytest.approx(1 - polish["error_after"], abs=1e-6)
    assert slim.metrics.heldout_iou > full.metrics.heldout_iou  # measured 0.879 against 0.869
    assert check_mesh(slim.mesh).watertight and check_mesh(slim.mesh).manifold

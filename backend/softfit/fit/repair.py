"""The fitted mesh made clean without losing the fit.

`softfit.mesh.clean.repair_mesh` opens a fit's crossing folds by smoothing, and remeshes coarser around
the folds smoothing cannot open, until none cross. Coarsening can cost the shape: on `softfit bench fit`'s
torus knot, fitted with `--polys auto`, 233 crossing pairs where the tubes nearly touch were opened in 8
coarsening passes and the training views' IoU fell from 0.967 to 0.907 (held-out 0.966 -> 0.911), while
metrics.json still gave the unrepaired fit's. So the coarsened repair is kept only while the training
views' silhouette error grows by at most REPAIR_GROWTH of the fit's own; otherwise the smoothing-only
repair is kept when it is closer to the fit (on the knot: 0.962, 39 crossing pairs left, reported), and
the mesh written is always the one scored. A repair that would more than double the fit's error
(REPAIR_LIMIT) is not written at all: the fit stands with its crossings, reported."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from softfit.cameras import Cameras
from softfit.fit.remesh import remesh_or_keep
from softfit.mesh.clean import repair_mesh, repair_mesh_both
from softfit.mesh.types import Mesh
from softfit.metrics import view_iou

REPAIR_GROWTH = 0.05  # the same share a fit's final decimation may add (softfit.mesh.simplify)
# The most a repair may add to the training views' silhouette error, as a share of the fit's, before the
# fit is written unrepaired. Measured (round 21, demo dataset, after `restore`): the default fit +0 %, from
# the bounding-box ellipsoid +2 %, per-coordinate Adam +33 %, the adaptive knot's smoothing-only repair
# +15 %; a tangle that smoothing collapsed +1700 %.
REPAIR_LIMIT = 1.0

Error = Callable[[Mesh], float]


def silhouette_error(silhouettes: np.ndarray, cameras: Cameras, device: str = "cpu") -> Error:
    """1 - mean hard-raster IoU of a mesh against `silhouettes` (the training views')."""

    def error(mesh: Mesh) -> float:
        return 1.0 - float(view_iou(mesh, silhouettes, cameras, device).mean())

    return error


def repair_fitted(mesh: Mesh, error: Error | None, pinned: bool = False) -> tuple[Mesh, dict]:
    """`repair_mesh` as a fit's result needs it: coarsening folds only when it keeps the fit (above).
    Pinned vertices keep their indices, so only smoothing is allowed. The report says what was refused
    (`coarsening_refused`: the three errors) when the smoothing-only repair was kept."""
    (out, report), smoothed = repair_mesh_both(mesh, remesh=None if pinned else remesh_or_keep, score=error)
    if error is None or report["max_displacement"] == 0:
        return out, report
    e_fit, e_out = error(mesh), error(out)
    if smoothed is not None and e_out > e_fit * (1.0 + REPAIR_GROWTH):
        smooth, smooth_report = smoothed  # the same repair, stopped before it coarsened
        e_smooth = error(smooth)
        if e_smooth < e_out:
            smooth_report["coarsening_refused"] = {
                "fit_error": round(e_fit, 6), "coarsened_error": round(e_out, 6),
                "smoothed_error": round(e_smooth, 6),
                "coarsened_crossings_left": report["after"]["self_intersections"]}
            out, report, e_out = smooth, smooth_report, e_smooth
    if e_out <= e_fit * (1.0 + REPAIR_LIMIT):
        return out, report
    kept, kept_report = repair_mesh(mesh, remesh=None, untangle_folds=False)
    kept_report["repair_refused"] = {"fit_error": round(e_fit, 6), "repaired_error": round(e_out, 6),
                                     "crossings": report["before"]["self_intersections"]}
    return kept, kept_report


def crossing_warning(report: dict) -> str | None:
    """The warning an artist needs when the written mesh still crosses itself."""
    left = report.get("after", {}).get("self_intersections", 0)
    if not left:
        return None
    if report.get("steps", {}).get("tangled_left_as_is"):
        return (f"the mesh crosses itself at {left} pairs of faces, more than it has faces: a tangle, not "
                "folds that smoothing can open, so the fit is written as it is; the default optimiser "
                "(Large Steps) keeps the surface from tangling")
    why = ""
    refused = report.get("coarsening_refused")
    if report.get("repair_refused"):
        r = report["repair_refused"]
        why = (f" (opening them would have raised the training views' silhouette error from "
               f"{r['fit_error']:.4f} to {r['repaired_error']:.4f}, so the fit is written as it is)")
    elif refused:
        why = (f" (remeshing them away would have raised the training views' silhouette error from "
               f"{refused['fit_error']:.4f} to {refused['coarsened_error']:.4f})")
    return (f"the mesh crosses itself at {left} pairs of faces, where its surface nearly touches itself"
            f"{why}; Blender's 3D-Print Toolbox shows them; a fit of fixed size (--polys N) may have none")

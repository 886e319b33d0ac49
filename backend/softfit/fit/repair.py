"""The fitted mesh made clean without losing the fit.

`softfit.mesh.clean.repair_mesh` opens a fit's crossing folds by smoothing, and remeshes coarser around
the folds smoothing cannot open, until none cross. Coarsening can cost the shape: on `softfit bench fit`'s
torus knot, fitted with `--polys auto`, 233 crossing pairs where the tubes nearly touch were opened in 8
coarsening passes and the training views' IoU fell from 0.967 to 0.907 (held-out 0.966 -> 0.911), while
metrics.json still gave the unrepaired fit's. So the coarsened repair is kept only while the training
views' silhouette error grows by at most REPAIR_GROWTH of the fit's own; otherwise the smoothing-only
repair is kept when it is closer to the fit (on the knot: 0.962, 39 crossing pairs left, reported), and
the mesh written is always the one scored. A repair that would more than double the fit's error
(REPAIR_LIMIT) is not written at all: the fit stands with its crossings, reported.

Before the coarsened repair is refused it is fitted again, briefly (`polish`, from the caller that has
the views: `softfit.fit.polish`), and its crossings opened again: what coarsening costs is mostly thin
parts shrunk a pixel by larger faces, which a few steps of the fit put back. On the same knot's fit of
round 22 (3 074 faces, 18 crossing pairs, 17 left by smoothing; coarsening x2.31 the error): polished
and reopened, no crossing left and x0.85-0.90 the fit's error (three seeds; `softfit.fit.polish`). The
polished repair is held to the same REPAIR_GROWTH as any other."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from softfit.cameras import Cameras
from softfit.fit.remesh import remesh_or_keep
from softfit.mesh.clean import check_mesh, open_crossings, repair_mesh, repair_mesh_both, surface_distance
from softfit.mesh.types import Mesh
from softfit.metrics import view_iou

REPAIR_GROWTH = 0.05  # the same share a fit's final decimation may add (softfit.mesh.simplify)
# The most a repair may add to the training views' silhouette error, as a share of the fit's, before the
# fit is written unrepaired. Measured (round 21, demo dataset, after `restore`): the default fit +0 %, from
# the bounding-box ellipsoid +2 %, per-coordinate Adam +33 %, the adaptive knot's smoothing-only repair
# +15 %; a tangle that smoothing collapsed +1700 %.
REPAIR_LIMIT = 1.0

Error = Callable[[Mesh], float]
Polish = Callable[[Mesh], Mesh]  # a short fit of a mesh to the training views, its topology kept


def silhouette_error(silhouettes: np.ndarray, cameras: Cameras, device: str = "cpu") -> Error:
    """1 - mean hard-raster IoU of a mesh against `silhouettes` (the training views')."""

    def error(mesh: Mesh) -> float:
        return 1.0 - float(view_iou(mesh, silhouettes, cameras, device).mean())

    return error


def repair_fitted(mesh: Mesh, error: Error | None, pinned: bool = False, polish: Polish | None = None
                  ) -> tuple[Mesh, dict]:
    """`repair_mesh` as a fit's result needs it: coarsening folds only when it keeps the fit, after a
    `polish` when one is given (above). Pinned vertices keep their indices, so only smoothing is allowed.
    The report says what was refused (`coarsening_refused`: the errors) when the smoothing-only repair was
    kept, and `polished` when a polish saved the coarsened one."""
    (out, report), smoothed = repair_mesh_both(mesh, remesh=None if pinned else remesh_or_keep, score=error)
    if error is None or report["max_displacement"] == 0:
        return out, report
    e_fit, e_out = error(mesh), error(out)
    limit = e_fit * (1.0 + REPAIR_GROWTH)
    polished = None
    if smoothed is not None and e_out > limit and polish is not None:
        polished = _polished(mesh, out, report, polish, error, e_out)
        # kept within the same bound, and only with no more crossings than the coarsening left
        if polished[2] <= limit and (polished[1]["after"]["self_intersections"]
                                     <= report["after"]["self_intersections"]):
            out, report, e_out = polished
    if smoothed is not None and e_out > limit:
        smooth, smooth_report = smoothed  # the same repair, stopped before it coarsened
        e_smooth = error(smooth)
        if e_smooth < e_out:
            smooth_report["coarsening_refused"] = {
                "fit_error": round(e_fit, 6), "coarsened_error": round(e_out, 6),
                "smoothed_error": round(e_smooth, 6),
                "coarsened_crossings_left": report["after"]["self_intersections"]} | (
                    {} if polished is None else {"polished_error": round(polished[2], 6),
                                                 "polished_crossings_left":
                                                     polished[1]["after"]["self_intersections"]})
            out, report, e_out = smooth, smooth_report, e_smooth
    if e_out <= e_fit * (1.0 + REPAIR_LIMIT):
        return out, report
    kept, kept_report = repair_mesh(mesh, remesh=None, untangle_folds=False)
    kept_report["repair_refused"] = {"fit_error": round(e_fit, 6), "repaired_error": round(e_out, 6),
                                     "crossings": report["before"]["self_intersections"]}
    return kept, kept_report


def _polished(fitted: Mesh, coarse: Mesh, report: dict, polish: Polish, error: Error, e_coarse: float
              ) -> tuple[Mesh, dict, float]:
    """(mesh, report, error) of the coarsened repair `coarse` fitted again (`polish`) and its crossings
    opened again (`open_crossings`: a refit folds some faces anew)."""
    opened, left, how = open_crossings(polish(coarse), error)
    e = error(opened)
    moved = float(surface_distance(opened.verts, fitted).max())
    out = report | {"after": check_mesh(opened, len(left)).to_dict(), "max_displacement": moved,
                    "opened_by": f"{report['opened_by']}, then a short refit and {how}",
                    "polished": {"coarsened_error": round(e_coarse, 6), "polished_error": round(e, 6)}}
    span = float(np.linalg.norm(np.ptp(fitted.verts, axis=0)))
    out["max_displacement_rel"] = moved / span if span > 0 else 0.0
    return opened, out, e


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
        again = ("" if "polished_error" not in refused else
                 f", {refused['polished_error']:.4f} after a short refit")
        why = (f" (remeshing them away would have raised the training views' silhouette error from "
               f"{refused['fit_error']:.4f} to {refused['coarsened_error']:.4f}{again})")
    return (f"the mesh crosses itself at {left} pairs of faces, where its surface nearly touches itself"
            f"{why}; Blender's 3D-Print Toolbox shows them; a fit of fixed size (--polys N) may have none")

"""One fit, scored the same way in every section: held-out IoU against the exact (ground-truth) masks,
Chamfer distance to the ground-truth mesh, times, and optionally the held-out IoU along the way."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from softfit.cameras import Cameras
from softfit.data.types import MultiViewData
from softfit.fit import FitParams, Progress
from softfit.mesh.types import Mesh
from softfit.metrics import view_iou
from softfit.pipeline import InitSpec, Inputs, run, training_views


@dataclass
class Scored:
    """A fit's numbers (JSON-safe in `row`) and the fitted mesh (for figures, not saved)."""

    row: dict
    mesh: Mesh
    init: Mesh
    curve: list[tuple[int, float]] = field(default_factory=list)


def heldout(data: MultiViewData, params: FitParams) -> np.ndarray:
    """The held-out view indices the pipeline will use for these parameters."""
    return training_views(data, params)[1]


def score_fit(data: MultiViewData, init: str, params: FitParams, gt: Mesh | None,
              truth: np.ndarray | None = None, truth_cameras: Cameras | None = None,
              curve_every: int = 0, polys: int | str = "auto") -> Scored:
    """Fit `data` from the initial mesh `init` (built by the pipeline from the training views only) and
    score it.

    truth: the exact silhouettes at `data`'s size (default: data's own, when they are exact); the
    held-out IoU always compares with them, so fits from estimated silhouettes are judged on the truth.
    truth_cameras: cameras to score with (default data's: a mesh fitted with estimated cameras is judged
    by how well it explains the unseen real views through those same cameras). curve_every > 0 records
    the held-out IoU of the initial mesh and of every curve_every-th step, and, for an adaptive fit, of
    the mesh it ends with (decimated, then refitted: `engine._polish`) at the step count that took."""
    truth = data.silhouettes if truth is None else truth
    cams = data.cameras if truth_cameras is None else truth_cameras
    held = heldout(data, params)
    held_cams, held_truth = cams.subset(held), truth[held]
    snaps: list[tuple[int, np.ndarray, np.ndarray | None]] = []  # scored after the fit

    def keep(p: Progress) -> None:
        if (p.iteration + 1) % curve_every == 0:  # faces too: a remeshing fit changes them
            snaps.append((p.iteration + 1, p.verts.copy(), p.faces))

    t0 = time.perf_counter()
    out = run(Inputs(data), InitSpec(init, polys), params, gt, on_progress=keep if curve_every else None)
    seconds = time.perf_counter() - t0 - out.init_seconds

    def iou(verts: np.ndarray, faces: np.ndarray | None = None) -> float:
        mesh = Mesh(np.asarray(verts, dtype=np.float64), out.init.faces if faces is None else faces)
        return float(view_iou(mesh, held_truth, held_cams).mean())

    initial = iou(out.init.verts)
    curve = [(0, initial), *((i, iou(v, f)) for i, v, f in snaps)] if curve_every else []
    m = out.metrics.raw
    row = {
        "heldout_iou": iou(out.mesh.verts, out.mesh.faces),
        "train_iou": m["train_iou"],
        "iterations": m["iterations"],
        "stop_reason": m["stop_reason"],
        "fit_seconds": seconds,
        "init_seconds": out.init_seconds,
        "faces": int(out.init.n_faces),
        "verts": int(out.init.n_verts),
        "final_faces": int(out.mesh.n_faces),  # differs when the fit remeshes
        "heldout_views": [int(i) for i in held],
        "initial_iou": initial,
    }
    if gt is not None:
        row |= {"chamfer": out.metrics.chamfer, "chamfer_rel": out.metrics.chamfer_rel}
    simplified = m.get("remesh", {}).get("simplify")
    if curve_every and simplified:  # an adaptive fit ends decimated, then polished: the curve ends there too
        polish = simplified.get("polish") or {}
        curve.append((m["iterations"] + polish.get("steps", 0), row["heldout_iou"]))
    if curve_every:
        row["curve"] = [[int(i), float(v)] for i, v in curve]
    return Scored(row, out.mesh, out.init, curve)


def first_reaching(curve: list[tuple[int, float]], level: float) -> int | None:
    """The first recorded iteration whose held-out IoU is at least `level` (None: never)."""
    return next((i for i, v in curve if v >= level), None)

"""One fit, scored the same way in every section: held-out IoU against the exact (ground-truth) masks,
Chamfer distance to the ground-truth mesh, times, and optionally the held-out IoU along the way."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from softfit.cameras import Cameras
from softfit.data.types import MultiViewData
from softfit.fit import FitParams, Progress, fit
from softfit.fit.views import split_views
from softfit.init import make_initial_mesh
from softfit.mesh.types import Mesh
from softfit.metrics import chamfer_distance, view_iou


@dataclass
class Scored:
    """A fit's numbers (JSON-safe in `row`) and the fitted mesh (for figures, not saved)."""

    row: dict
    mesh: Mesh
    init: Mesh
    curve: list[tuple[int, float]] = field(default_factory=list)


def heldout(data: MultiViewData, params: FitParams) -> np.ndarray:
    """The held-out view indices the engine will use for these parameters."""
    return split_views(data.cameras, params.holdout, params.seed)[1]


def initial_mesh(name: str, data: MultiViewData, params: FitParams, polys: int | str = "auto", **kw
                 ) -> tuple[Mesh, float]:
    """(initial mesh, seconds) built from the TRAINING views only: a visual hull or a 3-D box carved from
    every view would already have seen the held-out silhouettes and flatter their IoU. bbox2d's one view
    is therefore the first training view."""
    train = split_views(data.cameras, params.holdout, params.seed)[0]
    t0 = time.perf_counter()
    mesh = make_initial_mesh(name, data.subset(train), polys, **kw)
    return mesh, time.perf_counter() - t0


def score_fit(data: MultiViewData, init: Mesh, params: FitParams, gt: Mesh | None,
              truth: np.ndarray | None = None, truth_cameras: Cameras | None = None,
              curve_every: int = 0, init_seconds: float = 0.0) -> Scored:
    """Fit `init` to `data` and score it.

    truth: the exact silhouettes at `data`'s size (default: data's own, when they are exact); the
    held-out IoU always compares with them, so fits from estimated silhouettes are judged on the truth.
    truth_cameras: cameras to score with (default data's: a mesh fitted with estimated cameras is judged
    by how well it explains the unseen real views through those same cameras). curve_every > 0 records
    the held-out IoU of the initial mesh and of every curve_every-th step."""
    truth = data.silhouettes if truth is None else truth
    cams = data.cameras if truth_cameras is None else truth_cameras
    held = heldout(data, params)
    held_cams, held_truth = cams.subset(held), truth[held]
    faces = init.faces

    def iou(verts: np.ndarray) -> float:
        return float(view_iou(Mesh(np.asarray(verts, dtype=np.float64), faces), held_truth, held_cams).mean())

    curve = [(0, iou(init.verts))] if curve_every else []
    initial = curve[0][1] if curve else iou(init.verts)

    def callback(p: Progress) -> None:
        if (p.iteration + 1) % curve_every == 0:
            curve.append((p.iteration + 1, iou(p.verts)))

    t0 = time.perf_counter()
    res = fit(data, init, params, callback=callback if curve_every else None)
    seconds = time.perf_counter() - t0
    m = res.metrics
    row = {
        "heldout_iou": float(view_iou(res.mesh, held_truth, held_cams).mean()),
        "train_iou": m["train_iou"],
        "iterations": m["iterations"],
        "stop_reason": m["stop_reason"],
        "fit_seconds": seconds,
        "init_seconds": init_seconds,
        "faces": int(init.n_faces),
        "verts": int(init.n_verts),
        "heldout_views": [int(i) for i in held],
        "initial_iou": initial,
    }
    if gt is not None:
        cd = chamfer_distance(res.mesh, gt)
        row |= {"chamfer": cd["chamfer"], "chamfer_rel": cd["chamfer_rel"]}
    if curve_every:
        row["curve"] = [[int(i), float(v)] for i, v in curve]
    return Scored(row, res.mesh, init, curve)


def first_reaching(curve: list[tuple[int, float]], level: float) -> int | None:
    """The first recorded iteration whose held-out IoU is at least `level` (None: never)."""
    return next((i for i, v in curve if v >= level), None)

"""A short refit of a repaired mesh: the fit's last stage again, on the mesh the repair made.

The repair (`softfit.fit.repair`) may remesh a fold coarser to open it; larger faces shrink a thin
part by a pixel or so, which the fit's own silhouettes would put back. `polisher` gives the repair a
way to ask for that without knowing about views or parameters: the training views only (the held-out
ones stay out of the loss, as in the fit), the final σ, the full image size and the final step size,
the topology kept (no remeshing, no decimation), no early stop.

POLISH_STEPS: on the adaptive torus knot of `softfit bench fit` (its coarsened repair at x2.31 the fit's
silhouette error), three seeds each: 60 steps x1.35 (one seed), 90 steps x0.99-1.05, 120 steps
x0.82-0.93, all crossing-free once reopened (round 23). A step costs a few ms on 3 000 faces at 256 px
(0.8 s for 120 on 2 CPU cores)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from softfit.data.types import MultiViewData
from softfit.fit.engine import fit
from softfit.fit.params import FitParams
from softfit.fit.repair import Polish
from softfit.mesh.types import Mesh

POLISH_STEPS = 120


def polish_params(params: FitParams) -> FitParams:
    """`params` at their last stage, held there for POLISH_STEPS steps, on a fixed topology."""
    return replace(params, iterations=POLISH_STEPS, sigma=(params.sigma[1], params.sigma[1]),
                   resolutions=((0.0, 0),), lr=params.lr * params.lr_decay, lr_decay=1.0, remesh="off",
                   simplify=0.0, plateau_patience=0)


def polisher(data: MultiViewData, params: FitParams, train: np.ndarray) -> Polish:
    """The `polish` for `softfit.fit.repair.repair_fitted`: a mesh fitted again to `data`'s `train` views."""
    held = np.setdiff1d(np.arange(len(data)), train)
    quick = polish_params(params)

    def polish(mesh: Mesh) -> Mesh:
        return fit(data, mesh, quick, views=(np.asarray(train), held)).mesh

    return polish

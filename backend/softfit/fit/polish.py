"""A short refit of a mesh the repair made, for `softfit.fit.repair.repair_fitted`.

The repair may remesh a fold coarser to open it; larger faces shrink a thin part by a pixel or so,
which the fit's own silhouettes would put back. `polisher` gives the repair a way to ask for that
without knowing about views or parameters: the fit's last stage again (`params.polish_params`), on the
training views only (the held-out ones stay out of the loss, as in the fit), the topology kept."""

from __future__ import annotations

import numpy as np

from softfit.data.types import MultiViewData
from softfit.fit.engine import fit
from softfit.fit.params import FitParams, polish_params
from softfit.fit.repair import Polish
from softfit.mesh.types import Mesh


def polisher(data: MultiViewData, params: FitParams, train: np.ndarray) -> Polish:
    """The `polish` for `repair_fitted`: a mesh fitted again to `data`'s `train` views."""
    held = np.setdiff1d(np.arange(len(data)), train)
    quick = polish_params(params)

    def polish(mesh: Mesh) -> Mesh:
        return fit(data, mesh, quick, views=(np.asarray(train), held)).mesh

    return polish

"""A short refit of a mesh the repair made, for `softfit.fit.repair.repair_fitted`.

The repair may remesh a fold coarser to open it; larger faces shrink a thin part by a pixel or so,
which the fit's own silhouettes would put back. `polisher` gives the repair a way to ask for that
without knowing about views or parameters: the fit's last stage again (`params.polish_params`), on the
training views only (the held-out ones stay out of the loss, as in the fit), the topology kept."""

from __future__ import annotations

import numpy as np

from softfit.data.types import MultiViewData
from softfit.fit.engine import fit
from softfit.fit.params import POLISH_STEPS, FitParams, polish_params
from softfit.fit.repair import Polish
from softfit.mesh.types import Mesh

# The repair's polish starts from a coarsened mesh 2-3 times the fit's training error away, where the
# decimation's starts within 5 %: it takes twice the steps. The adaptive torus knot of `softfit bench fit`
# (round 23), its coarsened repair polished and reopened, three seeds each, x the fit's training error:
# coarsened x2.31: 120 steps x0.82-0.93, 240 steps x0.85-0.90; the same knot polished after its
# decimation first, coarsened x3.08: 120 steps x1.37-1.57 (refused), 240 x0.96-1.04, 360 x1.03-1.05,
# until the loss settles (up to 480) x1.03-1.14 (the longer refit folds more faces, whose reopening
# costs). All crossing-free.
REPAIR_POLISH_STEPS = 2 * POLISH_STEPS


def polisher(data: MultiViewData, params: FitParams, train: np.ndarray) -> Polish:
    """The `polish` for `repair_fitted`: a mesh fitted again to `data`'s `train` views."""
    held = np.setdiff1d(np.arange(len(data)), train)
    quick = polish_params(params, REPAIR_POLISH_STEPS)

    def polish(mesh: Mesh) -> Mesh:
        return fit(data, mesh, quick, views=(np.asarray(train), held)).mesh

    return polish

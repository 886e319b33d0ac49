"""The initial mesh of a fit, chosen by name and built from the TRAINING views only.

A visual hull or a 3-D box carved from every view would already have seen the held-out silhouettes and
flatter their IoU, so every caller (the CLI, the server's `prepare`, batch, benchmarks, experiments)
gets its mesh through `initial_mesh`, which subsets the views with the same `split_views` as the fit."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from softfit.data.types import MultiViewData
from softfit.errors import InputError
from softfit.fit import FitParams
from softfit.fit.views import split_views
from softfit.mesh.types import Mesh

DEFAULT_POLYS = 2000  # initial-mesh triangles (benchmarks/fit.md)
DEFAULT_INITS = ("hull", "bbox", "sphere")
# Views a hull voxel may fall outside when the masks were segmented from photos (a fraction, rounded
# down). A segmented mask can have a spurious hole where the object looks like its background; a strict
# hull carves it as a tunnel through the whole object, and a fit cannot change the mesh's topology to
# close it. Held-out IoU against the TRUE masks, strict -> 0.1 (benchmarks/silhouettes.md, round 13):
# dark-cloth 0.695 -> 0.724, small-desk 0.885 -> 0.910, handheld-room 0.968 -> 0.976, turntable-floor
# 0.957 -> 0.961; benchmarks/texture.md's photos cube 0.925 -> 0.968, Suzanne 0.930 -> 0.964 (texture
# PSNR 18.1 -> 24.8 and 22.4 -> 25.4 dB: a tunnel's walls took the backdrop's colours). The price: a hole seen
# open by only that many views is filled (glossy-table's torus 0.949 -> 0.934). Validation scenes (run
# after 0.1 was set): small-torus 0.813 -> 0.847, suzanne-handheld 0.924 -> 0.931, dark-bucket 0.981 ->
# 0.985, painted-cube -0.001, torus-forest -0.002, glossy-torus -0.005, knot-city 0.833 -> 0.817 (a thin
# knot whose gaps few views see open); 0.15 (2 of 14 views) is worse than 0.1 on six of the seven (glossy
# torus 0.880 -> 0.835, knot 0.817 -> 0.795). Alpha and given masks are trusted: their hull stays strict.
SEGMENTED_MISS_FRAC = 0.1


@dataclass(frozen=True)
class InitSpec:
    """Which initial mesh: a built one (`mesh`), or `name` (sphere, bbox2d, bbox, hull, or an .obj/.ply
    path; None = the visual hull, falling back to the bbox ellipsoid, then the sphere)."""

    name: str | None = None
    polys: int | str | None = DEFAULT_POLYS
    radius: float = 0.5
    center: tuple[float, float, float] = (0.0, 0.0, 0.0)
    mesh: Mesh | None = None


def training_views(data: MultiViewData, params: FitParams) -> tuple[np.ndarray, np.ndarray]:
    """(train, held-out) view indices of a fit of `data` with `params`: the one split every step uses."""
    return split_views(data.cameras, params.holdout, params.seed)


def initial_mesh(spec: InitSpec, data: MultiViewData, params: FitParams, quiet: bool = True
                 ) -> tuple[str, Mesh]:
    """(name, mesh) built from the training views of `data` under `params`. A named mesh's errors are the
    user's to see; without a name the first default that works on these silhouettes is taken (a visual
    hull needs every view to see the whole object, for one)."""
    if spec.mesh is not None:
        return spec.name or "given", spec.mesh
    train = data.subset(training_views(data, params)[0])
    if spec.polys is not None and spec.polys != "auto":
        from softfit.init.polys import resolve_polys

        # a bad count is the user's to fix, said once, not a reason to try the next initial mesh
        resolve_polys(spec.polys, train.silhouettes)
    if spec.name is not None:
        return spec.name, make_init(spec.name, train, spec.polys, spec.radius, spec.center)
    problems = []
    for cand in DEFAULT_INITS:
        try:
            return cand, make_init(cand, train, spec.polys, spec.radius, spec.center)
        except InputError as exc:
            problems.append(f"{cand}: {exc}")
            if not quiet:
                print(f"initial mesh {cand} failed ({exc}); trying the next one", file=sys.stderr)
    raise InputError("no initial mesh could be built: " + "; ".join(problems))


def hull_misses(n_views: int, info: dict) -> int:
    """Views a visual-hull voxel may fall outside: none for trusted masks, a few for segmented ones
    (`info` is the data's: segmented views carry info["segmentation"])."""
    return int(SEGMENTED_MISS_FRAC * n_views) if "segmentation" in info else 0


def make_init(name: str, data: MultiViewData, polys: int | str | None, radius: float = 0.5,
              center: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> Mesh:
    """The mesh `name` from all of `data`'s views (callers pass the training views)."""
    from softfit.init import make_initial_mesh

    if Path(name).suffix.lower() in (".obj", ".ply") and not Path(name).is_file():
        raise InputError(f"initial mesh file not found: {name}")
    kw = {"radius": radius, "center": center} if name == "sphere" else {}
    if name == "hull":
        kw = {"max_misses": hull_misses(len(data.names), data.info)}
    return make_initial_mesh(name, data, DEFAULT_POLYS if polys is None else polys, **kw)

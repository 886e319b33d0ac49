"""Initial meshes for the fit, from the images: `make_initial_mesh(name, data, polys)`.

Names: "sphere" (fixed sphere), "bbox2d" (the original method's 2-D bounding-box rule, the baseline),
"bbox" (ellipsoid in the 3-D box all views agree on), "hull" (visual hull, remeshed), or a mesh file
(.obj/.ply) to start from. `polys="auto"` picks the triangle count from the silhouettes (`polys.py`)."""

from __future__ import annotations

import os
from pathlib import Path

from softfit.data.types import MultiViewData
from softfit.errors import InputError
from softfit.init import shapes
from softfit.init.box import fit_box
from softfit.init.hull import hull_mesh
from softfit.init.options import check_options
from softfit.init.polys import auto_polys, resolve_polys
from softfit.mesh.types import Mesh

NAMES = ("sphere", "bbox2d", "bbox", "hull")
_BUILDERS = {"sphere": shapes.sphere, "bbox2d": shapes.bbox2d, "bbox": shapes.bbox, "hull": hull_mesh}


def make_initial_mesh(name: str | os.PathLike, data: MultiViewData, polys: int | str = "auto", **kw) -> Mesh:
    """The initial mesh `name` for `data`, with about `polys` triangles ("auto": from the silhouettes).

    Options per name: sphere: radius=0.5, center=(0, 0, 0); bbox2d: view=0, radius=0.5, depth=None;
    bbox: fill=1.0, margin_px=1.0; hull: resolution=128, smooth=0.5, margin=0.05, max_misses=0,
    relax_iterations=5. A path to an .obj/.ply file loads that mesh as it is (polys is ignored), once its
size and orientation in the photos are checked against the silhouettes (`init/given.py`).
    Raises InputError for an unknown name or option, or silhouettes that cannot place a mesh."""
    if isinstance(name, os.PathLike) or (isinstance(name, str) and name not in _BUILDERS
                                        and Path(name).suffix.lower() in (".obj", ".ply")):
        from softfit.init.given import check_given_orientation, check_given_scale
        from softfit.mesh.io import load_mesh

        mesh = load_mesh(name)
        check_given_scale(mesh, data, Path(name).name)
        check_given_orientation(mesh, data, Path(name).name)
        return mesh
    if name not in _BUILDERS:
        raise InputError(f"unknown initial mesh {name!r}; choose from {', '.join(NAMES)} or a .obj/.ply file")
    n = resolve_polys(polys, data.silhouettes)
    check_options(_BUILDERS[name], kw, f"initial mesh {name!r}")
    return _BUILDERS[name](data, n, **kw)


__all__ = ["NAMES", "auto_polys", "fit_box", "make_initial_mesh", "resolve_polys"]

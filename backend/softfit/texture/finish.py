"""The step after the fit: repair the mesh's topology, then bake its texture from the training views.

One function for every front end (CLI fit, demo, benchmarks), so each writes the same clean, textured
result. The texture is baked from the fit's training views only: the held-out views stay unseen, so a
held-out comparison of the textured mesh (`softfit bench texture`) measures real generalisation."""

from __future__ import annotations

import sys
import time

import numpy as np

from softfit.data.types import MultiViewData
from softfit.errors import InputError
from softfit.fit.engine import FitResult
from softfit.fit.params import FitParams
from softfit.fit.remesh import remesh_or_keep
from softfit.fit.views import split_views
from softfit.mesh.clean import repair_mesh
from softfit.texture.bake import Texture, bake_texture
from softfit.texture.refine import refine_texture


def finish(result: FitResult, data: MultiViewData, params: FitParams, texture: bool = True,
           quiet: bool = True, train: np.ndarray | None = None, refine: bool = False,
           photos: MultiViewData | None = None) -> Texture | None:
    """Replace `result.mesh` by its repaired version and bake its texture (when `texture` and the data
    has colour images). Adds metrics["topology"] (checks before/after, how far the shape moved) and
    metrics["texture"] (size, coverage, time, the photos' size), or metrics["texture"] = {"skipped": reason}.
    train: the fit's training views (default: the split `params` makes, as the fit does).
    refine: then refine the bake against the same training photos (`softfit.texture.refine`).
    photos: the same views at a larger size to bake from (`softfit.texture.photos.bake_photos`)."""
    t0 = time.perf_counter()
    pinned = bool(result.metrics.get("mesh", {}).get("pinned"))  # their indices must survive the repair
    mesh, report = repair_mesh(result.mesh, remesh=None if pinned else remesh_or_keep)
    report["time"] = round(time.perf_counter() - t0, 3)
    result.mesh = mesh
    result.metrics["topology"] = report
    result.metrics["mesh"] = result.metrics.get("mesh", {}) | {"verts": mesh.n_verts, "faces": mesh.n_faces}
    if not texture:
        result.metrics["texture"] = {"skipped": "turned off (--no-texture)"}
        return None
    if data.images is None:
        result.metrics["texture"] = {"skipped": "the input has silhouettes only, no colour images"}
        return None
    if train is None:
        train = split_views(data.cameras, params.holdout, params.seed)[0]
    source = data if photos is None else photos
    try:
        tex = bake_texture(mesh, source.subset(train))
        if refine:
            tex = refine_texture(tex, source.subset(train))
    except InputError as exc:  # a texture is a bonus: the fitted mesh is still written
        result.metrics["texture"] = {"skipped": str(exc)}
        if not quiet:
            print(f"no texture: {exc}", file=sys.stderr)
        return None
    result.metrics["texture"] = tex.stats | {"baked_from": "training views",
                                             "photo_size": [source.cameras.width, source.cameras.height]}
    return tex

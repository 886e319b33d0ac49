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
from softfit.fit.polish import polisher
from softfit.fit.repair import crossing_warning, repair_fitted, silhouette_error
from softfit.fit.views import split_views
from softfit.mesh.types import Mesh
from softfit.metrics import view_iou
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
    error = polish = None
    if data is not None:
        if train is None:
            train = split_views(data.cameras, params.holdout, params.seed)[0]
        error = silhouette_error(data.silhouettes[train], data.cameras.subset(train))
        polish = None if pinned else polisher(data, params, train)
    mesh, report = repair_fitted(result.mesh, error, pinned, polish)
    report["time"] = round(time.perf_counter() - t0, 3)
    if data is not None and (report["max_displacement"] > 0 or mesh.n_faces != result.mesh.n_faces):
        _rescore(result, mesh, data, report)
    result.mesh = mesh
    result.metrics["topology"] = report
    result.metrics["mesh"] = result.metrics.get("mesh", {}) | {"verts": mesh.n_verts, "faces": mesh.n_faces}
    warning = crossing_warning(report)
    if warning:
        result.metrics["mesh_warnings"] = [warning]
    if not texture:
        result.metrics["texture"] = {"skipped": "turned off (--no-texture)"}
        return None
    if data.images is None:
        result.metrics["texture"] = {"skipped": "the input has silhouettes only, no colour images"}
        return None
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


def _rescore(result: FitResult, mesh: Mesh, data: MultiViewData, report: dict) -> None:
    """The IoUs of the mesh that is written, not of the fit before its repair moved it (those are kept
    in the topology report as `fit_scores`)."""
    m = result.metrics
    keys = ("train_iou", "train_iou_per_view", "heldout_iou", "heldout_iou_per_view")
    report["fit_scores"] = {k: m.get(k) for k in keys}
    for split in ("train", "heldout"):
        idx = np.asarray(m.get(f"{split}_views", []), dtype=np.int64)
        if len(idx) == 0:
            continue
        iou = view_iou(mesh, data.silhouettes[idx], data.cameras.subset(idx))
        m[f"{split}_iou"], m[f"{split}_iou_per_view"] = float(iou.mean()), iou.tolist()

"""The finishing step of a server job: what `softfit fit` does before writing its result folder.

A client such as the Blender add-on should get what the CLI writes: the mesh's topology repaired and,
from colour images, its texture baked from the training views (`softfit.texture.finish`, the one
finishing step of every front end), from the photos at the larger size the client sent when it sent them
(as `softfit fit` reads its photos again for the bake). The texture travels as plain arrays (per-corner
UVs and the sRGB image); nothing is pickled and no file is written on the server."""

from __future__ import annotations

from typing import Any

import numpy as np

from softfit.data.types import MultiViewData
from softfit.fit import FitParams, FitResult


def finish_result(res: FitResult, data: MultiViewData, params: FitParams, texture: bool,
                  photos: np.ndarray | None = None, refine: bool = False) -> dict[str, Any]:
    """Repair `res.mesh` in place and bake its texture (when asked and the views are colour images), from
    `photos` (N, H', W', 3|4) uint8 when given: the views at a larger size, alpha = their silhouettes;
    `refine`: then refine it against those photos by differentiable rendering (`softfit.texture.refine`).
    Returns the reply's extra arrays: `uv` (F, 3, 2) float32 per face corner, `texture` (H, W, 3) uint8.
    A cancelled fit is left as it is (the client restores or keeps its last frame)."""
    from softfit.texture.finish import finish
    from softfit.texture.photos import at_photo_size

    if res.cancelled:
        return {}
    train = res.metrics.get("train_views")
    big = None
    if texture and photos is not None and data.images is not None:
        alpha = photos[..., 3].astype(np.float32) / 255.0 if photos.shape[-1] == 4 else None
        big = at_photo_size(data, np.ascontiguousarray(photos[..., :3]), alpha)
    tex = finish(res, data, params, texture=texture, train=None if train is None else np.asarray(train),
                 photos=big, refine=refine)
    if tex is None:
        return {}
    uv = tex.uv.uvs[tex.uv.uv_faces].astype("<f4")
    return {"uv": np.ascontiguousarray(uv), "texture": np.ascontiguousarray(tex.image, dtype=np.uint8)}

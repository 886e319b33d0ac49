"""The photos a texture is baked from: the views read again at up to PHOTO_SIZE pixels on the long side.

The fit works on small copies of the photos (256 px on the long side by default), which is all a silhouette
needs; a texture baked from those copies holds no more detail than they do (a 2400x1800 capture gave a
162x157 texture, round 17). So the bake reads the photos again at up to PHOTO_SIZE, through the loader's own
steps (the same views in the same order, lens distortion removed alike), with the fit's cameras scaled to
that size (estimated ones included) and its silhouettes: alpha or mask files read again at that size,
segmented masks upsampled (segmenting again at that size would cost seconds per view). A server fit gets
the same photos from its client (`at_photo_size`: the Blender add-on reads them as it reads the views)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from softfit.data.size import PHOTO_SIZE
from softfit.data.types import MultiViewData


def bake_photos(source: str | Path | MultiViewData, data: MultiViewData, cameras: str | None = None,
                object_index: int | None = None, allow_outside_paths: bool = False,
                size: int = PHOTO_SIZE) -> MultiViewData | None:
    """`data` with its photos read again from `source` at up to `size` pixels (long side), or None when
    that would add no detail: views given in memory, no colour images, or photos no larger than `data`'s."""
    from softfit.data.gather import gather
    from softfit.data.load import READERS, layout_cameras, read_views
    from softfit.data.size import same_framing

    if isinstance(source, MultiViewData) or data.images is None:
        return None
    stored = data.info.get("stored_size")
    w, h = data.cameras.width, data.cameras.height
    if not stored or max(w, h) >= min(max(stored), size):
        return None
    path = Path(source).expanduser()
    method = data.info.get("silhouette")
    g = gather(read_views(path, layout_cameras(path, cameras), object_index, allow_outside_paths),
               method if method in ("alpha", "mask") else "segment", size, READERS, work_copies=False)
    index = {name: i for i, name in enumerate(g.names)}
    if not all(name in index for name in data.names):  # files changed since the fit read them: keep its own
        return None
    keep = [index[name] for name in data.names]  # the fit's views (SfM may have left some out)
    tw, th = g.working_size
    if not same_framing((tw, th), (w, h)):  # not the same framing as the fit's copies
        return None
    return at_photo_size(data, g.images[keep], None if g.silhouettes is None else g.silhouettes[keep])


def at_photo_size(data: MultiViewData, images: np.ndarray, silhouettes: np.ndarray | None = None
                  ) -> MultiViewData:
    """`data` with (N, H, W, 3) uint8 `images`, the same views at a larger size: its cameras scaled to
    them, and `silhouettes` (N, H, W) at that size, or else its own upsampled."""
    from softfit.data.resize import resize

    th, tw = images.shape[1:3]
    sil = silhouettes if silhouettes is not None else np.stack(
        [resize(s, tw, th) for s in data.silhouettes]).clip(0.0, 1.0).astype(np.float32)
    return MultiViewData(sil, data.cameras.resized(tw, th), data.names, images,
                         {**data.info, "image_size": [tw, th]}, data.view_weights)

"""The working image size: one rule for the backend's loader and the Blender add-on (which ships this
module as `core/data/size.py`), so a view becomes the same number of pixels on both sides."""

from __future__ import annotations

import math

import numpy as np

from ..errors import InputError


def target_size(width: int, height: int, image_size: int | None) -> tuple[int, int]:
    """(w, h) with the longer side = `image_size` at most and the aspect ratio kept (None keeps the size).

    Smaller images are never enlarged: upsampling adds no information, only rasterisation cost (a
    SoftRas 64² set stays 64² under the default 256)."""
    if image_size is None:
        return width, height
    if isinstance(image_size, bool) or not isinstance(image_size, int | np.integer):
        raise InputError(f"image_size must be a whole number of pixels or None, got {image_size!r}")
    if not 8 <= image_size <= 16384:
        raise InputError(f"image_size must be in [8, 16384] pixels (0 or None: as stored), got {image_size}")
    s = min(1.0, image_size / max(width, height))
    return max(1, math.floor(width * s + 0.5)), max(1, math.floor(height * s + 0.5))


def same_framing(large: tuple[int, int], small: tuple[int, int]) -> bool:
    """Whether `small` (w, h) is `large` scaled down by the working-size rule, to the pixel: the same
    picture at another size (a view's photo, mask or working copy), not another aspect ratio."""
    return target_size(*large, max(small)) == tuple(small)


# The long side a texture's photos are read at (the fit works on smaller copies, which is all a silhouette
# needs). Finer than the atlas cap (texture/unwrap.MAX_SIZE) helps only close-ups.
PHOTO_SIZE = 1024


def photo_size(width: int, height: int, n_views: int, channels: int, budget_bytes: int,
               cap: int = PHOTO_SIZE) -> tuple[int, int]:
    """(w, h) for n views stored at width x height, read again for the texture: at most `cap` on the long
    side, never enlarged, and small enough that the n views of `channels` bytes per pixel fit in
    `budget_bytes` (the add-on sends them in one message, whose size the server bounds)."""
    per_view = budget_bytes / max(1, n_views * channels)
    fit = math.floor(max(width, height) * math.sqrt(per_view / max(1, width * height)))
    return target_size(width, height, max(8, min(cap, fit)))

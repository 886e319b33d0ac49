"""What a view's pixels say about its silhouette: whether an alpha channel separates anything, and how
much of each pixel a mask image covers. numpy only: the Blender add-on ships this module
(`core/data/pixels.py`) and applies it to the pixels Blender reads, the backend to the pixels PIL reads,
so an image gives the same answer on both sides."""

from __future__ import annotations

import numpy as np

OPAQUE = 1.0 - 0.5 / 255.0  # alpha in [0, 1] from 8-bit files: anything below 255 is translucent


def is_translucent(alpha: np.ndarray) -> bool:
    """True when some pixel of `alpha` (values in [0, 1]) is not fully opaque: the alpha channel then
    carries a silhouette (a fully opaque one carries none)."""
    return bool(np.asarray(alpha).min() < OPAQUE)


def mask_coverage(pixels: np.ndarray) -> np.ndarray:
    """(H, W) float32 in [0, 1] from a mask image with values in [0, 1]: its grey level, or its brightest
    colour channel (colour-coded masks), times its alpha channel when it has one."""
    p = np.asarray(pixels, dtype=np.float32)
    if p.ndim == 2:
        return p
    cover = p[..., :3].max(axis=2) if p.shape[2] >= 3 else p[..., 0]
    if p.shape[2] in (2, 4):
        cover = cover * p[..., -1]
    return np.ascontiguousarray(cover, dtype=np.float32)

"""What a view's pixels say about its silhouette: whether an alpha channel separates anything, and how
much of each pixel a mask image covers. numpy only: the Blender add-on ships this module
(`core/data/pixels.py`) and applies it to the pixels Blender reads, the backend to the pixels PIL reads,
so an image gives the same answer on both sides."""

from __future__ import annotations

import numpy as np

OPAQUE = 1.0 - 0.5 / 255.0  # alpha in [0, 1] from 8-bit files: anything below 255 is translucent
LABEL_STEP = 1.5 / 255.0  # a mask whose largest value is one 8- or 16-bit step holds labels, not coverage


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
    return labels_as_coverage(np.ascontiguousarray(cover, dtype=np.float32))


def labels_as_coverage(cover: np.ndarray) -> np.ndarray:
    """A mask whose only values are 0 and one smallest step of its file (a 0/1 label image, as
    `mask.astype(np.uint8)` saves one from numpy or OpenCV) marks the object with 1, not with 0.4 %
    coverage: read it as 0/1. No grey-level mask is meant that way, and it would otherwise be empty."""
    top = float(cover.max()) if cover.size else 0.0
    if 0.0 < top <= LABEL_STEP and bool(np.all((cover == 0.0) | (cover == top))):
        return (cover > 0.0).astype(np.float32)
    return cover

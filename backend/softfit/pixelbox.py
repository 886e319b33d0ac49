"""Boxes around a view's pixels.

Most of a photo is background, so per-pixel work (edge refinement, the plane sweep's comparisons, the
overlay plots) runs in a crop around the pixels it is about; one helper keeps the crops the same."""

from __future__ import annotations

import numpy as np

Box = tuple[slice, slice]  # rows and columns of a view's pixels


def around(sel: np.ndarray, pad: int = 0, grow: float = 0.0) -> Box | None:
    """The box around the (H, W) pixels `sel`, wider on every side by `pad` px plus `grow` x its longer
    side (first to last pixel), within the image; None when there are none."""
    rows, cols = np.flatnonzero(sel.any(1)), np.flatnonzero(sel.any(0))
    if not len(rows):
        return None
    pad = pad + int(grow * max(rows[-1] - rows[0], cols[-1] - cols[0]))
    h, w = sel.shape
    return (slice(max(rows[0] - pad, 0), min(rows[-1] + 1 + pad, h)),
            slice(max(cols[0] - pad, 0), min(cols[-1] + 1 + pad, w)))

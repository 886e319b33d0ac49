"""Cross-view consistency: a view whose mask area jumps far from its neighbours' is suspect.

Turntable views change slowly, so a mask several times larger or smaller than the median of the views
around it usually means the segmentation failed there (a shadow swallowed, the object half lost)."""

from __future__ import annotations

import numpy as np

from softfit.errors import InputError
from softfit.silhouettes.common import check_masks


def area_ratios(masks: np.ndarray, window: int = 2, cyclic: bool = True) -> np.ndarray:
    """(N,) each view's mask area over the median area of the `window` views on either side of it."""
    m = check_masks(masks)
    areas = m.reshape(len(m), -1).sum(axis=1).astype(np.float64)
    n = len(areas)
    if n < 3:
        return np.ones(n)
    w = max(1, min(window, (n - 1) // 2 if cyclic else n - 1))
    ratios = np.empty(n)
    for i in range(n):
        if cyclic:
            nb = [(i + d) % n for d in range(-w, w + 1) if d != 0]
        else:
            nb = [j for j in range(i - w, i + w + 1) if j != i and 0 <= j < n]
        ref = float(np.median(areas[nb]))
        ratios[i] = (areas[i] + 1.0) / (ref + 1.0)
    return ratios


def check_consistency(masks: np.ndarray, max_ratio: float = 1.5, window: int = 2, cyclic: bool = True
                      ) -> list[int]:
    """Indices of views whose mask area differs from their neighbours' median by more than `max_ratio`
    (either way). `cyclic`: the last view neighbours the first (a full turntable)."""
    if max_ratio <= 1.0:
        raise InputError(f"max_ratio must be > 1, got {max_ratio}")
    r = area_ratios(masks, window, cyclic)
    return [int(i) for i in np.flatnonzero((r > max_ratio) | (r < 1.0 / max_ratio))]

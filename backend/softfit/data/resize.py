"""Resampling views to the working size (`data/size.py` says which): area averaging when shrinking,
so a binary mask becomes a silhouette whose edge pixels hold the covered fraction; bilinear when enlarging."""

from __future__ import annotations

import cv2
import numpy as np


def resize(array: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resample (H, W) or (H, W, C) to (height, width); dtype kept (uint8 or float32)."""
    h, w = array.shape[:2]
    if (w, h) == (width, height):
        return array
    interp = cv2.INTER_AREA if width <= w and height <= h else cv2.INTER_LINEAR
    out = cv2.resize(np.ascontiguousarray(array), (width, height), interpolation=interp)
    if array.ndim == 3 and out.ndim == 2:  # cv2 drops a single channel axis
        out = out[..., None]
    return out

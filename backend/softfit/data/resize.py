"""Resampling views to the working size: area averaging when shrinking, so a binary mask becomes a
silhouette whose edge pixels hold the covered fraction; bilinear when enlarging."""

from __future__ import annotations

import math

import cv2
import numpy as np

from softfit.errors import InputError


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

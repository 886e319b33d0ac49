"""Resampling views to the working size (`data/size.py` says which), numpy only: the add-on ships this
module, so Blender and the backend resample alike.

Each axis is resampled on its own: area averaging when it shrinks (exact for any factor, so a binary mask
becomes a silhouette whose edge pixels hold the covered fraction), linear interpolation between pixel
centres when it grows (clamped at the border, like OpenCV's INTER_LINEAR)."""

from __future__ import annotations

import numpy as np


def _area(a: np.ndarray, n_out: int, axis: int) -> np.ndarray:
    """Mean of `a` over n_out equal spans of `axis`: each span covers at most ceil(n_in / n_out) + 1 input
    pixels, so it is that many weighted gathers (fast along any axis, unlike a running sum)."""
    n_in = a.shape[axis]
    lo = np.arange(n_out) * (n_in / n_out)
    hi = np.arange(1, n_out + 1) * (n_in / n_out)
    first = np.floor(lo).astype(np.int64)
    shape = [1] * a.ndim
    shape[axis] = n_out
    out = np.zeros(a.shape[:axis] + (n_out,) + a.shape[axis + 1:], np.float32)
    for k in range(int(np.ceil(n_in / n_out)) + 1):
        idx = first + k
        cover = np.clip(np.minimum(hi, idx + 1) - np.maximum(lo, idx), 0.0, None)
        if not cover.any():
            break
        out += np.take(a, np.minimum(idx, n_in - 1), axis=axis) * cover.reshape(shape).astype(np.float32)
    return out * np.float32(n_out / n_in)


def _linear(a: np.ndarray, n_out: int, axis: int) -> np.ndarray:
    n_in = a.shape[axis]
    src = np.clip((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0.0, n_in - 1)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, n_in - 1)
    shape = [1] * a.ndim
    shape[axis] = n_out
    t = (src - lo).reshape(shape).astype(np.float32)
    return np.take(a, lo, axis=axis) * (1 - t) + np.take(a, hi, axis=axis) * t


def resize(array: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resample (H, W) or (H, W, C) to (height, width); dtype kept (uint8 is rounded, floats float32)."""
    h, w = array.shape[:2]
    if (w, h) == (width, height):
        return array
    out = np.asarray(array, dtype=np.float32)
    for axis, n_in, n_out in ((0, h, height), (1, w, width)):
        if n_out != n_in:
            out = _area(out, n_out, axis) if n_out < n_in else _linear(out, n_out, axis)
    if array.dtype == np.uint8:
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(out, dtype=np.float32)

"""Silhouettes in the original method's RGBA convention: object pixels grey 124, background 0,
alpha = mask x 255 (what its data loader read back as the target silhouette)."""

from __future__ import annotations

import numpy as np

from softfit.errors import InputError
from softfit.silhouettes.common import check_masks

OBJECT_GREY = 124


def to_rgba(images: np.ndarray | None, masks: np.ndarray) -> np.ndarray:
    """(N, H, W, 4) uint8: RGB = 124 on the object and 0 elsewhere, alpha = 255 on the object.

    `images` is accepted for symmetry with loaders that keep them, and only checked for shape: the
    original convention discards the photo's colours."""
    m = check_masks(masks)
    if images is not None:
        shape = np.shape(images)
        if len(shape) == 3:
            shape = (1, *shape)
        if tuple(shape[:3]) != m.shape:
            raise InputError(f"images {tuple(shape)} do not match masks {m.shape}")
    out = np.zeros((*m.shape, 4), dtype=np.uint8)
    out[m, :3] = OBJECT_GREY
    out[m, 3] = 255
    return out


def from_rgba(rgba: np.ndarray) -> np.ndarray:
    """(N, H, W) bool masks from RGBA silhouettes (alpha > 127)."""
    a = np.asarray(rgba)
    if a.ndim != 4 or a.shape[-1] != 4:
        raise InputError(f"RGBA silhouettes must be (N, H, W, 4), got {a.shape}")
    return a[..., 3] > 127

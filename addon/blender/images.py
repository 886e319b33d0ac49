"""Image files <-> numpy through Blender's own image loader (no PIL in Blender's Python)."""

from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np

from ..core.data.files import PHONE_EXTS
from ..core.data.gather import Readers
from ..core.data.pixels import mask_coverage
from ..logic.errors import InputError


def _load(path: Path) -> bpy.types.Image:
    if not path.is_file():
        raise InputError(f"image not found: {path}")
    if path.suffix.lower() in PHONE_EXTS:
        raise InputError(f"{path.name}: Blender cannot read {path.suffix.upper()[1:]} photos: press Read "
                         "with Backend (Input panel), and the backend writes them for the add-on")
    try:
        img = bpy.data.images.load(str(path), check_existing=False)
    except RuntimeError as exc:
        raise InputError(f"cannot read image {path.name}: {exc}") from exc
    if img.size[0] == 0 or img.size[1] == 0:
        bpy.data.images.remove(img)
        raise InputError(f"cannot read image {path.name}")
    return img


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) of an image file."""
    img = _load(path)
    try:
        return int(img.size[0]), int(img.size[1])
    finally:
        bpy.data.images.remove(img)


def read_image(path: Path) -> np.ndarray:
    """(H, W, 4) float32 RGBA in [0, 1], top row first; the temporary datablock is removed again."""
    img = _load(path)
    try:
        w, h = img.size
        buf = np.empty(w * h * 4, dtype=np.float32)
        img.pixels.foreach_get(buf)  # type: ignore[attr-defined]  # the stubs type `pixels` as a float
    finally:
        bpy.data.images.remove(img)
    return np.ascontiguousarray(buf.reshape(h, w, 4)[::-1])


def read_image_u8(path: Path, exif: bool = False) -> np.ndarray:
    """(H, W, 4) uint8 RGBA for the shared loading steps (Blender's loader applies no EXIF rotation)."""
    return np.clip(np.rint(read_image(path) * 255.0), 0, 255).astype(np.uint8)


def read_mask(path: Path) -> np.ndarray:
    """(H, W) float32 coverage: grey level, or the brightest colour channel, times alpha (the backend's rule,
    `core/data/pixels.py`)."""
    return mask_coverage(read_image(path))


READERS = Readers(read_image_u8, read_mask)


def load_for_display(path: Path) -> bpy.types.Image:
    """An image datablock for a camera background (reused when already loaded)."""
    try:
        return bpy.data.images.load(str(path), check_existing=True)
    except RuntimeError as exc:
        raise InputError(f"cannot read image {path.name}: {exc}") from exc


def image_from_array(name: str, rgba: np.ndarray) -> bpy.types.Image:
    """A packed image datablock holding (H, W, 4) float RGBA in [0, 1] (top row first)."""
    h, w = rgba.shape[:2]
    img = bpy.data.images.new(name, w, h, alpha=True)
    flat = np.ascontiguousarray(rgba[::-1], dtype=np.float32).reshape(-1)
    img.pixels.foreach_set(flat)  # type: ignore[attr-defined]  # the stubs type `pixels` as a float
    img.pack()
    return img

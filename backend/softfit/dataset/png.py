"""A minimal 8-bit PNG writer (numpy + zlib): Blender's own Python has no PIL, and the worker must write
masks, mirrored SoftRas views and RGB/RGBA images from arrays exactly as they are."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

_COLOR_TYPE = {1: 0, 3: 2, 4: 6}  # channels -> PNG colour type: grey, RGB, RGBA


def encode_png(pixels: np.ndarray, level: int = 6) -> bytes:
    """PNG bytes of a uint8 (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) array (row 0 at the top)."""
    a = np.asarray(pixels)
    if a.dtype != np.uint8:
        raise ValueError(f"PNG pixels must be uint8, got {a.dtype}")
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[2] not in _COLOR_TYPE or a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"PNG pixels must be (H, W[, 1|3|4]), got {pixels.shape}")
    h, w, c = a.shape
    rows = np.empty((h, 1 + w * c), dtype=np.uint8)
    rows[:, 0] = 1  # filter "Sub": each byte minus the one a pixel to its left (compresses flat areas)
    flat = a.reshape(h, w * c).astype(np.int16)
    rows[:, 1:] = (flat - np.concatenate([np.zeros((h, c), np.int16), flat[:, :-c]], axis=1)).astype(np.uint8)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", w, h, 8, _COLOR_TYPE[c], 0, 0, 0)
    data = zlib.compress(rows.tobytes(), level)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def write_png(path: str | Path, pixels: np.ndarray) -> None:
    Path(path).write_bytes(encode_png(pixels))

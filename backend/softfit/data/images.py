"""Reading image and mask files into plain arrays (finding them: `data/files.py`).

Images become (H, W, 3) RGB or (H, W, 4) RGBA uint8 (RGBA only when the file carries transparency);
masks become (H, W) float32 in [0, 1]. Every failure is an InputError that names the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from softfit.data.pixels import labels_as_coverage, mask_coverage
from softfit.errors import InputError


def _formats(path: Path) -> None:
    """PIL reads HEIC/HEIF (iPhones' default) once pillow-heif registers it (55 ms, so on first need)."""
    if Path(path).suffix.lower() in (".heic", ".heif"):
        from pillow_heif import register_heif_opener

        register_heif_opener()


def _open(path: Path) -> Image.Image:
    _formats(path)
    try:
        im = Image.open(path)
        im.load()
        return im
    except FileNotFoundError:
        raise InputError(f"image not found: {path}") from None
    except UnidentifiedImageError:
        hint = (" (a TIFF of floating-point or multi-channel samples, say a float render: save it as 8- or "
                "16-bit PNG or TIFF)" if Path(path).suffix.lower() in (".tif", ".tiff") else "")
        raise InputError(f"not a readable image: {path}{hint}") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise InputError(f"cannot read image {path}: {exc}") from None


def _has_alpha(im: Image.Image) -> bool:
    return im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info


def _high_depth_to_u8(im: Image.Image) -> np.ndarray:
    """16-bit integer or float single-channel images to uint8."""
    a = np.asarray(im)
    if im.mode == "F":
        return (np.clip(np.nan_to_num(a), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return (np.clip(a.astype(np.float64) / 65535.0, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


_EXIF_ORIENTATION = 0x0112


def displayed_size(path: Path) -> tuple[int, int]:
    """(W, H) after the EXIF orientation is applied, read from the header without decoding the pixels."""
    _formats(path)
    try:
        with Image.open(path) as im:
            w, h = im.size
            rotated = im.getexif().get(_EXIF_ORIENTATION, 1) in (5, 6, 7, 8)
    except Exception as exc:
        raise InputError(f"cannot read image {path}: {exc}") from None
    return (h, w) if rotated else (w, h)


def read_image(path: Path, exif: bool = False) -> np.ndarray:
    """(H, W, 3) or (H, W, 4) uint8. `exif` applies the EXIF orientation (phone photos)."""
    im = _open(path)
    if exif:
        im = ImageOps.exif_transpose(im)
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        g = _high_depth_to_u8(im)
        out = np.repeat(g[..., None], 3, axis=2)
    else:
        out = np.asarray(im.convert("RGBA" if _has_alpha(im) else "RGB"))
    if out.shape[0] == 0 or out.shape[1] == 0:
        raise InputError(f"image {path} is empty (0 pixels)")
    return np.ascontiguousarray(out)


def read_mask(path: Path) -> np.ndarray:
    """(H, W) float32 in [0, 1]: grey level, or the brightest colour channel (colour-coded masks),
    times the alpha channel when there is one. Palette masks: any index but 0 is object; 0/1 label
    images: 1 is object (`pixels.labels_as_coverage`)."""
    im = _open(path)
    if im.mode == "1":
        m = np.asarray(im, dtype=np.float32)
    elif im.mode == "F":
        m = np.clip(np.nan_to_num(np.asarray(im, dtype=np.float32)), 0.0, 1.0)
    elif im.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):
        m = labels_as_coverage(np.clip(np.asarray(im, dtype=np.float32) / 65535.0, 0.0, 1.0))
    elif im.mode == "P" and "transparency" not in im.info:
        m = (np.asarray(im) != 0).astype(np.float32)
    elif im.mode == "L":
        m = labels_as_coverage(np.asarray(im, dtype=np.float32) / 255.0)
    else:
        m = mask_coverage(np.asarray(im.convert("RGBA"), dtype=np.float32) / 255.0)
    if m.size == 0:
        raise InputError(f"mask {path} is empty (0 pixels)")
    return np.ascontiguousarray(m, dtype=np.float32)

"""What a fit request carries, built without bpy: views -> silhouettes (or images) at the working size.

Silhouettes come from alpha or masks here; plain photos are sent as images for the backend's
segmentation (`silhouette` method), since segmentation needs the backend's libraries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .core.cameras import Cameras, transforms_dict
from .core.data.pixels import is_translucent, mask_coverage
from .core.data.size import target_size
from .errors import InputError
from .views import ViewSet

LOCAL_METHODS = ("ALPHA", "MASK")
BACKEND_METHODS = ("THRESHOLD", "GRABCUT", "BACKDROP", "DEEPLAB")
METHODS = ("AUTO", *LOCAL_METHODS, *BACKEND_METHODS)

ReadImage = Callable[[Path], np.ndarray]  # (H, W, C) float32 in [0, 1], top row first, C in 1..4


@dataclass(frozen=True)
class FitInputs:
    """N views at the working size: silhouettes (N, H, W) float32 or images (N, H, W, 3) uint8."""

    names: list[str]
    cameras: Cameras
    silhouettes: np.ndarray | None
    images: np.ndarray | None
    method: str  # where the silhouettes come from: ALPHA, MASK, or a backend method (AUTO included)

    def transforms(self) -> dict:
        return transforms_dict(self.cameras, self.names)

    @property
    def backend_method(self) -> str | None:
        """The `silhouette_method` to send with images (the backend segments them), else None."""
        return None if self.silhouettes is not None else self.method.lower()


def working_size(width: int, height: int, image_size: int) -> tuple[int, int]:
    """(w, h) with the longer side at most `image_size` (0: keep the source size): the backend's own rule
    (`core/data/size.py`), so both sides work at the same size."""
    if image_size < 0:
        raise InputError(f"image size must be positive (or 0 for the source size), got {image_size}")
    return target_size(width, height, image_size or None)


def _area_weights(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) box-filter weights: output pixel k averages the input span it covers."""
    edges = np.linspace(0.0, n_in, n_out + 1)
    lo, hi = edges[:-1, None], edges[1:, None]
    i = np.arange(n_in)[None, :]
    overlap = np.clip(np.minimum(hi, i + 1) - np.maximum(lo, i), 0.0, None)
    return overlap / overlap.sum(axis=1, keepdims=True)


def resize_area(arr: np.ndarray, height: int, width: int) -> np.ndarray:
    """Area-averaging resize of (H, W) or (H, W, C) float arrays (exact for integer factors)."""
    a = np.asarray(arr, dtype=np.float32)
    if a.shape[:2] == (height, width):
        return a
    wy = _area_weights(a.shape[0], height).astype(np.float32)
    wx = _area_weights(a.shape[1], width).astype(np.float32)
    out = np.tensordot(wy, a, axes=(1, 0))  # (h, W, ...)
    out = np.tensordot(wx, out, axes=(1, 1))  # (w, h, ...)
    return np.ascontiguousarray(np.swapaxes(out, 0, 1))


def has_alpha(pixels: np.ndarray) -> bool:
    """True when the image has an alpha channel that separates something (`core/data/pixels.py`)."""
    return pixels.ndim == 3 and pixels.shape[2] == 4 and is_translucent(pixels[..., 3])


def check_silhouette(s: np.ndarray, name: str) -> None:
    covered = s > 0.5
    if not covered.any():
        raise InputError(f"view {name}: the silhouette is empty (no object found)")
    if covered.all():
        raise InputError(f"view {name}: the silhouette covers the whole image (no background)")


def _rgb_u8(pixels: np.ndarray) -> np.ndarray:
    rgb = pixels[..., :3] if pixels.ndim == 3 and pixels.shape[2] >= 3 else np.repeat(
        pixels.reshape(pixels.shape[0], pixels.shape[1], 1)[..., :1], 3, axis=2)
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)


def choose_method(views: ViewSet, first_pixels: np.ndarray, method: str) -> str:
    """The concrete silhouette source for `method` (AUTO: alpha, else masks, else the backend's auto)."""
    if method not in METHODS:
        raise InputError(f"unknown silhouette method {method!r}; choose one of {', '.join(METHODS)}")
    all_masks = bool(views.masks) and all(m is not None for m in views.masks)
    if method == "AUTO":
        if has_alpha(first_pixels):
            return "ALPHA"
        return "MASK" if all_masks else "AUTO"
    if method == "MASK" and not all_masks:
        missing = sum(m is None for m in views.masks) if views.masks else len(views)
        raise InputError(f"silhouette method Mask: {missing} view(s) have no mask file")
    if method == "ALPHA" and not has_alpha(first_pixels):
        raise InputError(f"silhouette method Alpha: view {views.names[0]} has no transparent pixels")
    return method


def rgba_views(views: ViewSet, read_image: ReadImage, inputs: FitInputs) -> np.ndarray:
    """(N, H, W, 4) uint8 colour views at the working size for SfM; alpha = the silhouette where it is
    known here (features then come from the object only), else 255."""
    h, w = inputs.cameras.height, inputs.cameras.width
    out = np.full((len(views), h, w, 4), 255, np.uint8)
    for i in range(len(views)):
        if inputs.images is not None:
            out[i, ..., :3] = inputs.images[i]
            continue
        p = (views.pixels[i].astype(np.float32) / 255.0 if views.pixels is not None
             else read_image(views.images[i]) if views.images is not None else None)
        assert p is not None
        out[i, ..., :3] = _rgb_u8(resize_area(p, h, w))
    if inputs.silhouettes is not None:
        out[..., 3] = np.round(inputs.silhouettes * 255).astype(np.uint8)
    return out


def stored_size(cameras: Cameras, width: int, height: int, name: str) -> Cameras:
    """The cameras for images stored at width x height: the same size, or a proportional one (a dataset
    downscaled after its cameras were written; within a pixel of rounding), else InputError."""
    if (width, height) == (cameras.width, cameras.height):
        return cameras
    if abs(width * cameras.height - height * cameras.width) > max(cameras.width, cameras.height):
        raise InputError(f"view {name} is {width}x{height} but its camera is {cameras.width}x"
                         f"{cameras.height} (a different aspect ratio)")
    return cameras.resized(width, height)


def assemble(views: ViewSet, read_image: ReadImage, image_size: int, method: str = "AUTO") -> FitInputs:
    """Read every view once, resize to the working size, and derive the silhouettes (or keep images)."""
    n = len(views)
    if n == 0:
        raise InputError("the input has no views")

    def pixels(i: int) -> np.ndarray:
        if views.pixels is not None:
            return views.pixels[i].astype(np.float32) / 255.0
        assert views.images is not None
        return read_image(views.images[i])

    first = pixels(0)
    cameras = stored_size(views.cameras, first.shape[1], first.shape[0], views.names[0])
    w, h = working_size(cameras.width, cameras.height, image_size)
    chosen = choose_method(views, first, method)
    sil = np.zeros((n, h, w), np.float32) if chosen in LOCAL_METHODS else None
    img = None if sil is not None else np.zeros((n, h, w, 3), np.uint8)
    for i in range(n):
        p = first if i == 0 else pixels(i)
        if p.shape[:2] != first.shape[:2]:
            raise InputError(f"view {views.names[i]} is {p.shape[1]}x{p.shape[0]}, the first view "
                             f"{first.shape[1]}x{first.shape[0]}: all views must share one size")
        if chosen == "ALPHA":
            if p.ndim != 3 or p.shape[2] != 4:
                raise InputError(f"view {views.names[i]} has no alpha channel")
            s = p[..., 3]
        elif chosen == "MASK":
            mask_path = views.masks[i]
            assert mask_path is not None
            m = read_image(mask_path)
            if m.shape[:2] != p.shape[:2]:
                raise InputError(f"mask {mask_path.name} is {m.shape[1]}x{m.shape[0]}, its image "
                                 f"{p.shape[1]}x{p.shape[0]}")
            s = mask_coverage(m)
        else:
            assert img is not None
            img[i] = _rgb_u8(resize_area(p, h, w))
            continue
        assert sil is not None
        sil[i] = np.clip(resize_area(s, h, w), 0.0, 1.0)
        check_silhouette(sil[i], views.names[i])
    return FitInputs(list(views.names), cameras.resized(w, h), sil, img, chosen)

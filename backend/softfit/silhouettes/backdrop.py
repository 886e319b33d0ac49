"""`backdrop`: difference against a photo of the empty scene taken with the same camera and lighting.

A pixel is object where it differs from the backdrop photo by more than the noise, unless the difference
looks like a shadow the object casts on the backdrop or floor: same chromaticity, uniformly darker. The
threshold adapts to the difference image's own noise (median + k robust sigmas of the whole image, which
is mostly background)."""

from __future__ import annotations

import cv2
import numpy as np

from softfit.errors import InputError
from softfit.silhouettes.common import check_images, clean_mask, refine_edges

MIN_THRESHOLD = 8.0  # RGB distance (0-255 units)


def prepare_backdrop(backdrop: np.ndarray | str, shape: tuple[int, int, int, int]) -> np.ndarray:
    """The backdrop as (N, H, W, 3) float32 matching `shape` (one photo for all views, or one per view).

    A file path is read with PIL; a photo of another size but the same aspect ratio is resized."""
    if isinstance(backdrop, str) or hasattr(backdrop, "__fspath__"):
        from PIL import Image

        try:
            with Image.open(backdrop) as im:
                backdrop = np.asarray(im.convert("RGB"))
        except OSError as exc:
            raise InputError(f"cannot read backdrop image {backdrop}: {exc}") from exc
    b = np.asarray(backdrop)
    if b.ndim == 3:
        b = b[None]
    if b.ndim != 4 or b.shape[-1] not in (3, 4) or b.shape[0] not in (1, shape[0]):
        raise InputError(f"backdrop must be one (H, W, 3) image or one per view, got shape {b.shape}")
    b = b[..., :3]
    n, h, w = shape[:3]
    if b.shape[1:3] != (h, w):
        if abs(b.shape[2] / b.shape[1] - w / h) > 0.01 * w / h:
            raise InputError(f"backdrop is {b.shape[2]}x{b.shape[1]} but the images are {w}x{h}")
        b = np.stack([cv2.resize(x, (w, h), interpolation=cv2.INTER_AREA) for x in b])
    return np.broadcast_to(b.astype(np.float32), (n, h, w, 3))


def shadow_like(image: np.ndarray, back: np.ndarray, darkest: float, chroma_tol: float) -> np.ndarray:
    """Pixels that are the backdrop darkened by a factor in [darkest, 1) with its chromaticity kept."""
    bi = back.sum(-1) + 1.0
    ii = image.sum(-1) + 1.0
    ratio = ii / bi
    chroma = np.abs(image / ii[..., None] - back / bi[..., None]).sum(-1)
    return (ratio >= darkest) & (ratio < 1.0) & (chroma < chroma_tol)


def segment(images: np.ndarray, backdrop: np.ndarray | str | None = None, threshold: float | None = None,
            k: float = 6.0, shadows: bool = True, darkest: float = 0.15, chroma_tol: float = 0.1,
            open_radius: int = 1, close_radius: int = 2, holes: bool | float = True) -> np.ndarray:
    """(N, H, W) bool masks. `backdrop`: empty-scene photo (array or file); `threshold`: fixed RGB
    distance instead of the noise-adaptive one; `shadows`: treat shadow-like darkening as background
    (`darkest`: the darkest shadow, as a brightness ratio; `chroma_tol`: chromaticity change allowed)."""
    imgs = check_images(images)
    if backdrop is None:
        raise InputError("silhouette method 'backdrop' needs an empty-scene photo (backdrop=FILE)")
    backs = prepare_backdrop(backdrop, imgs.shape)
    out = np.empty(imgs.shape[:3], dtype=bool)
    for i, (im, back) in enumerate(zip(imgs.astype(np.float32), backs, strict=True)):
        im_s = cv2.GaussianBlur(im, (3, 3), 0)  # sensor noise and JPEG blocks
        back_s = cv2.GaussianBlur(np.ascontiguousarray(back), (3, 3), 0)
        diff = np.sqrt(((im_s - back_s) ** 2).sum(-1))
        if threshold is None:
            med = float(np.median(diff))
            mad = float(np.median(np.abs(diff - med)))
            thr = max(MIN_THRESHOLD, med + k * 1.4826 * mad)
        else:
            thr = float(threshold)
        raw = diff > thr
        if shadows:
            raw &= ~shadow_like(im_s, back_s, darkest, chroma_tol)
        mask = clean_mask(raw, open_radius=open_radius, close_radius=close_radius, keep="largest",
                          holes=holes)
        out[i] = clean_mask(refine_edges(imgs[i], mask), open_radius=0, keep="largest", holes=holes)
    return out

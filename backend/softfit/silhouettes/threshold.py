"""`threshold`: the object is whatever differs from the background colour seen along the image border.

Made for turntable photos on a plain backdrop (ALOI's black cloth): estimate the background colour as the
median of a thin frame around each image, threshold the colour distance at a level set by the frame's own
noise, keep the largest component, fill its holes (dark parts of the object), and re-decide the edge
pixels by their coverage (`common.refine_edges`)."""

from __future__ import annotations

import numpy as np

from softfit.silhouettes.common import (
    border_pixels,
    border_width,
    check_images,
    clean_mask,
    color_distance,
    refine_edges,
)

MIN_THRESHOLD = 8.0  # RGB distance (0-255 units) below which a pixel is never called object


def background_color(image: np.ndarray, border: float = 0.03) -> tuple[np.ndarray, np.ndarray]:
    """(median border colour (3,), distances of the border pixels from it (K,))."""
    px = border_pixels(image, border_width(*image.shape[:2], border)).astype(np.float32)
    color = np.median(px, axis=0)
    return color, np.sqrt(((px - color) ** 2).sum(axis=1))


def noise_threshold(border_dist: np.ndarray, k: float = 4.0) -> float:
    """Threshold above the border's noise: median + k robust sigmas (MAD), at least MIN_THRESHOLD.

    The median and MAD ignore the few border pixels an object touching the frame contributes."""
    med = float(np.median(border_dist))
    mad = float(np.median(np.abs(border_dist - med)))
    return max(MIN_THRESHOLD, med + k * 1.4826 * mad)


def segment_one(image: np.ndarray, threshold: float | None = None, border: float = 0.03, k: float = 4.0,
                open_radius: int = 1, holes: bool | float = True) -> np.ndarray:
    color, bdist = background_color(image, border)
    thr = noise_threshold(bdist, k) if threshold is None else float(threshold)
    raw = color_distance(image, color) > thr
    mask = clean_mask(raw, open_radius=open_radius, keep="largest", holes=holes)
    return clean_mask(refine_edges(image, mask), open_radius=0, keep="largest", holes=holes)


def segment(images: np.ndarray, threshold: float | None = None, border: float = 0.03, k: float = 4.0,
            open_radius: int = 1, holes: bool | float = True) -> np.ndarray:
    """(N, H, W) bool masks. `threshold`: fixed RGB distance instead of the noise-adaptive one; `border`:
    frame width as a fraction of the shorter side; `k`: noise sigmas; `holes`: see `clean_mask`."""
    imgs = check_images(images)
    return np.stack([segment_one(im, threshold, border, k, open_radius, holes) for im in imgs])

"""A fixed camera's background: the per-pixel median over the views of a turntable capture.

When the camera stands still and only the object turns, everything but the object (floor, wall, the
turntable's rim, shadows cast by the fixed lights) looks the same in every photo, so the median over
the views is a photo of the background almost everywhere. It is trusted only where it is proven: the
capture counts as fixed-camera when the image borders (object-free) match that median in nearly every
view. Borders without features (a plain or finely grained floor filling the frame) match it however the
camera moved: they still match when shifted (`plain`), and then only the cameras can tell whether it is
a fixed camera (`on_one_circle`: a fixed camera seen from the turning object moves on one circle about
the axis; a hand-held orbit varies in elevation and distance); the median of such plain views still
describes their background. A rotation-symmetric object (a mug's body) also looks the same in every
view, so a pixel matching the median is only *probably* background: the caller combines it with the
other cues."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from softfit.silhouettes.common import border_pixels, border_width

MIN_NOISE = 6.0  # RGB units: compression and sensor noise never count as a change
SHIFT = 0.05  # x the image's smaller side: a shift of the borders that features in them would reveal
CIRCLE = 0.02  # x the viewing distance: how far the cameras of a fixed camera may stray from one circle
# (measured: 0.0000 on the rendered turntables; hand-held orbits 0.06-0.07 in distance, 0.06-0.13 off
# a plane)


@dataclass(frozen=True)
class StaticBackground:
    """median (H, W, 3) float32 image; threshold: RGB distance above which a pixel differs from it;
    plain: the borders match the median shifted by `SHIFT` too, so they could not show a moving camera."""

    median: np.ndarray
    threshold: float
    plain: bool = False

    def differs(self, image: np.ndarray) -> np.ndarray:
        """(H, W) bool: pixels of `image` (same size as the median) unlike the background."""
        d = cv2.GaussianBlur(image.astype(np.float32), (3, 3), 0) - self.median
        return np.sqrt((d * d).sum(-1)) > self.threshold


def detect(images: np.ndarray, border: float = 0.03, min_views: int = 6, agree: float = 0.9
           ) -> StaticBackground | None:
    """The static background of a fixed-camera capture, or None when the views' borders differ (the
    camera moved) or there are too few views for a median to ignore the object."""
    n, h, w = images.shape[:3]
    if n < min_views:
        return None
    blurred = np.stack([cv2.GaussianBlur(im.astype(np.float32), (3, 3), 0) for im in images])
    median = np.median(blurred, axis=0)
    bw = border_width(h, w, border)
    ref = border_pixels(median, bw)
    dists = np.stack([np.sqrt(((border_pixels(b, bw) - ref) ** 2).sum(-1)) for b in blurred])
    # Sensor noise from each photo itself (pixel minus its blurred self), never from the differences
    # between views, which a moving camera would inflate into a threshold that accepts anything.
    fine = np.concatenate([border_pixels(im.astype(np.float32) - b, bw).ravel()
                           for im, b in zip(images, blurred, strict=True)])
    sigma = 1.4826 * float(np.median(np.abs(fine - np.median(fine))))
    threshold = max(MIN_NOISE, 4.0 * np.sqrt(3.0) * sigma)
    still = (dists <= threshold).mean(1)  # per view: the fraction of its border matching the median
    if float(np.median(still)) < agree:
        return None
    s = max(1, round(SHIFT * min(h, w)))
    shifted = [float((np.sqrt(((border_pixels(np.roll(b, (s, s), axis=(0, 1)), bw) - ref) ** 2).sum(-1))
                      <= threshold).mean()) for b in blurred]
    return StaticBackground(median.astype(np.float32), threshold, plain=float(np.median(shifted)) >= agree)


def on_one_circle(centers: np.ndarray, target: np.ndarray, tol: float = CIRCLE) -> bool:
    """Whether camera `centers` (N, 3) could be one fixed camera seen from an object turning about an axis
    through `target` (the point the cameras look at): all equally far from it and in one plane, within
    `tol` x their mean distance."""
    dist = np.linalg.norm(centers - target, axis=1)
    scale = max(float(dist.mean()), 1e-12)
    spread = np.linalg.svd(centers - centers.mean(0), compute_uv=False)[-1] / np.sqrt(len(centers))
    return float(dist.std()) <= tol * scale and float(spread) <= tol * scale

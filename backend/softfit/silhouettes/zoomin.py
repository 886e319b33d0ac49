"""`zoomin`: a small object segmented again in a window around it, closer to the photos' own pixels.

The camera-aware segmentation works on a copy of the photos at most 200 px long (`multiview`). An
object that fills a few percent of the frame is a few dozen pixels across there, and its holes and the
shadow at its base a few pixels: drawn-6-10's torus is 27 px wide, and no step opened its hole. Working
on the whole frame at the photos' size does not mend this (round 34: kernels and windows sized for the
working copy took the support in on five scenes, at four times the time). So the first segmentation
runs as before; when its masks are small, every photo is cropped to a window `MARGIN` x their largest
extent (at most `ZOOM` x closer than the first pass: the photos' own pixels for 400 x 300 photos), the
cameras' principal points move with the crop, and a second segmentation runs there, beginning from the
first one's masks rather than from where the cameras aim (from the aim point, the object was lost
on drawn-7-6: off-centre, it was not in the seed at all). The second pass must refine the first, not
redraw it: it is kept only when the median view's masks agree with the first's to `AGREE`.
Off by default (`multiview:zoom=2` turns it on). Measured in round 51 on the 89 scenes of `softfit bench
masks` (benchmarks/masks_zoom.md): mask IoU against the true masks +0.006 on average (drawn-6-10 +0.124,
drawn-5-3 -0.040), but the second pass costs about as much as the first, up to 1.46 s per view at
400 x 300 on 2 cores, over the issue's 1 s on 14 scenes (benchmarks/silhouettes.md)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from softfit.cameras import Cameras

ZOOM = 2.0  # at most this much closer than the first pass
MARGIN = 2.5  # window side, x the largest side of a mask's bounding box (in the frame's aspect)
MAX_SHARE = 0.8  # a window wider than this share of the frame gains too little to run again
AGREE = 0.8  # median IoU the second pass's masks need with the first's to be kept


@dataclass(frozen=True)
class Window:
    """Per-view top-left corners (x0, y0) of a window `width` x `height` px in frames of `frame` (w, h)."""

    x0: np.ndarray
    y0: np.ndarray
    width: int
    height: int
    frame: tuple[int, int]

    def crop(self, images: np.ndarray) -> np.ndarray:
        """(N, height, width, ...) the window of every view of `images` (N, H, W, ...)."""
        return np.stack([im[y:y + self.height, x:x + self.width] for im, x, y in zip(images, self.x0, self.y0,
                                                                                   strict=True)])

    def cameras(self, cameras: Cameras) -> Cameras:
        """`cameras` (at the frame's size) for the cropped images: the principal points move with the crop."""
        return Cameras(cameras.c2w, cameras.fx, cameras.fy, cameras.cx - self.x0, cameras.cy - self.y0,
                       self.width, self.height)

    def paste(self, masks: np.ndarray) -> np.ndarray:
        """(N, H, W) bool frame masks holding the window masks `masks` (N, height, width), empty elsewhere."""
        w, h = self.frame
        out = np.zeros((len(masks), h, w), bool)
        for o, m, x, y in zip(out, masks, self.x0, self.y0, strict=True):
            o[y:y + self.height, x:x + self.width] = m
        return out


def around(masks: np.ndarray, cameras: Cameras, max_side: int, zoom: float = ZOOM, margin: float = MARGIN,
           max_share: float = MAX_SHARE) -> Window | None:
    """The window around the objects of `masks` (N, H, W) bool, or None when it would span more than
    `max_share` of the frame's width (or no mask holds anything). It is never narrower than `max_side`,
    the working size: a window the working copy would not shrink shows no more of the object than the
    first pass saw, only less of its surroundings (photos narrower than 250 px get none). One window for all
    views, where their union fits it well inside (a fixed camera's crops then keep its per-pixel median
    background); else each view's window is centred on its own mask. Each window holds its camera's
    principal point (of `cameras`, at the frame's size), 1 px clear of its edges, as `Cameras` asks: it
    moves as little as that needs (at `ZOOM` 2 a half-frame window holding the frame's centre reaches
    any corner)."""
    masks = np.asarray(masks, bool)
    n, h, w = masks.shape
    boxes = [_box(m) for m in masks]
    if all(b is None for b in boxes):
        return None
    side = max(max((b[2] - b[0]) * 1.0, (b[3] - b[1]) * w / h) for b in boxes if b is not None)
    width = int(round(min(w, max(w / zoom, margin * side, max_side))))
    height = int(round(width * h / w))
    if width > max_share * w:
        return None
    union = _box(masks.any(0))
    if union[2] - union[0] <= 0.9 * width and union[3] - union[1] <= 0.9 * height:
        centres = [_centre(union)] * n
    else:
        fallback = _centre(union)
        centres = [fallback if b is None else _centre(b) for b in boxes]
    x0 = _corners([c[0] for c in centres], cameras.cx, width, w)
    y0 = _corners([c[1] for c in centres], cameras.cy, height, h)
    return None if x0 is None or y0 is None else Window(x0, y0, width, height, (w, h))


def _corners(centres: list[float], principal: np.ndarray, size: int, frame: int) -> np.ndarray | None:
    """Window corners along one axis: centred on `centres`, inside the frame and holding the principal
    points 1 px clear of the window's edges; None where no corner can."""
    lo = np.maximum(0, np.ceil(np.asarray(principal) - size + 1))
    hi = np.minimum(frame - size, np.floor(np.asarray(principal) - 1))
    if (lo > hi).any():
        return None
    return np.array([int(np.clip(round(c - size / 2), a, b))
                     for c, a, b in zip(centres, lo, hi, strict=True)])


def agreement(first: np.ndarray, second: np.ndarray) -> float:
    """Median over the views of the IoU of two sets of (N, H, W) bool masks (an empty pair agrees)."""
    a, b = np.asarray(first, bool), np.asarray(second, bool)
    inter = (a & b).reshape(len(a), -1).sum(1)
    union = (a | b).reshape(len(a), -1).sum(1)
    return float(np.median(np.where(union > 0, inter / np.maximum(union, 1), 1.0)))


def _box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1), exclusive ends, of `mask`'s pixels; None when it has none."""
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def _centre(box: tuple[int, int, int, int]) -> tuple[float, float]:
    """The middle of `box`'s first and last pixels."""
    return (box[0] + box[2] - 1) / 2, (box[1] + box[3] - 1) / 2

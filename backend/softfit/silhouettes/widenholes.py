"""Holes the working copy half opened, widened at the photos' own size (`widen`).

`multiview` looks for filled holes (`colourmodel.background_regions`, judged by `seenthrough`) on its
200 px working copy. A small object's hole is a few dozen pixels there, and its rim pixels mix the object
with the floor seen through it. The search finds part of the hole, and the rest stays filled in the
upsampled mask. On drawn-6-10, a dark torus on a beige floor, view 0 covers 334 px at 200 px with a hole
of about 40, and 20 of them are found. At 400 px the same search finds more of each hole.

Only regions that touch a hole the mask already has are opened, and `seenthrough` asks the other views
about each of them, as it does at the working size. Opening every region found at 400 px also opened the
highlights and shading of glossy dark objects, which break up there into patches of the floor's colour:
a crescent around a dark teardrop's highlight (drawn-4-1, -0.025 mask IoU against the true masks) and the
floor mirrored on a dark torus's front (drawn-2-2, -0.033). `seenthrough` had no evidence to keep them,
because a glossy surface looks different from each view. Over all 77 photoreal scenes, with `seenthrough`
but without the touching rule, that variant lost 0.031 on the held-out seeds 4, 7 and 8
(benchmarks/silhouettes.md, round 46). A fixed camera's median background, which `seenthrough` uses at
the working size, is not used here."""

from __future__ import annotations

import cv2
import numpy as np

from softfit.cameras import Cameras
from softfit.silhouettes import seenthrough
from softfit.silhouettes.colourmodel import background_regions
from softfit.silhouettes.common import fill_holes, per_view


def touching_regions(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(H, W) int32 labels 1..K of the background-coloured regions of `mask` (RGB `image`, the mask's
    size) that touch one of its holes; all 0 when it has no hole."""
    holes = fill_holes(mask) & ~mask
    if not holes.any():
        return np.zeros(mask.shape, np.int32)
    regions = background_regions(np.ascontiguousarray(image[..., ::-1]), mask)
    near = cv2.dilate(holes.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    touch = np.unique(regions[near])
    touch = touch[touch > 0]
    out = np.zeros(mask.shape, np.int32)
    for k, label in enumerate(touch, start=1):
        out[regions == label] = k
    return out


def widen(images: np.ndarray, cameras: Cameras, masks: np.ndarray) -> tuple[np.ndarray, int]:
    """(`masks` with the regions of `touching_regions` opened, except those `seenthrough` shows to be the
    object's surface; the number of views widened). `images`: (N, H, W, 3) uint8 RGB at the masks'
    size, seen by `cameras`."""
    regions = per_view(lambda i: touching_regions(images[i], masks[i]), len(masks))
    if not any(r.any() for r in regions):
        return masks, 0
    out, _, _ = seenthrough.open_regions(images, cameras, masks, regions)
    return out, int((out != masks).reshape(len(masks), -1).any(1).sum())

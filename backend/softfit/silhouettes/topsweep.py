"""A table's top under an object, found where the plane sweep found the floor: a sweep near the object.

`supportsweep` takes the support to be the height at which the most textured pixels around the object
agree between views. When the object stands on a table, the floor around the table is most of those
pixels and wins: on drawn-5-0 a wooden top's fine grain under render noise agreed at 0.015-0.019, the
tiled floor at 0.25. The standing rule (`standing`) then rightly refuses to fill the gap down to the
floor, and a part that every view lost stays lost.

Near the object, the cameras see the top. So heights between the floor and the hull's bottom are swept
again, counting only the pixels outside the masks whose point on the swept plane lies within `REACH`
times the hull's footprint radius of the footprint's centre. There the agreement peaks at the top's
height, from its grain or, on a plain top, from its edge. The floor's own peak has a flank (it still
agrees a little just above the floor), so the lowest `CLEAR` of the gap is left out, and the top must
stand clearly above the other heights (`PEAK` times their median).

Measured on the two painted objects on hand-held tables whose lower part every view lost and whose masks
sat above the aim point (the only two of the 26 cached hand-held drawn scenes that reach this step; the
true top at height 0):

| scene | height found | share | median | mask IoU before | after |
|---|---:|---:|---:|---:|---:|
| drawn-5-0 | 0.011 | 0.030 | 0.006 | 0.711 | 0.868 |
| drawn-7-2 | 0.003 | 0.087 | 0.006 | 0.781 | 0.910 |

The lost part itself also agrees along its cut with a plane through it; where nothing else near the
object matches, that can make a "top" at the hull's bottom, and the standing rule fills nothing there."""

from __future__ import annotations

import cv2
import numpy as np

from softfit.cameras import Cameras
from softfit.silhouettes.supportsweep import (
    SupportHeight,
    WindowedViews,
    best_height,
    plane_points,
    sweep_views,
)
from softfit.silhouettes.voxelvotes import VoxelVotes

REACH = 2.0  # x the hull's footprint radius: the part of the plane counted (a table is wider than its load)
CLEAR = 0.25  # the lowest share of the gap between the floor and the hull, left to the floor's flank
STEP = 2.0  # voxels between the heights swept (refined by half a step either side of the best)
MIN_SHARE = 0.02  # the top's agreeing share of textured pixels near the object ...
PEAK = 3.0  # ... and its ratio to the median over the heights swept


def find_top(images: np.ndarray, cams: Cameras, up: np.ndarray, floor: float, votes: VoxelVotes,
             occ: np.ndarray, masks: np.ndarray, views: WindowedViews | None = None) -> SupportHeight | None:
    """The height of a top between the plane up . x = `floor` and the bottom of the hull `occ`, where the
    pixels near the object outside `masks` agree between views clearly more than at the other heights
    there (module docstring), or None. `views`: the photos' `WindowedViews`, when the caller has them."""
    if not occ.any():
        return None
    up = np.asarray(up, float) / np.linalg.norm(up)
    along = votes.centers[occ] @ up
    bottom = float(along.min())
    lowest = floor + CLEAR * (bottom - floor)
    step = STEP * votes.h
    heights = np.arange(lowest, bottom + 0.5 * step, step)
    if len(heights) < 3:
        return None
    centre = votes.centers[occ].mean(0)
    flat = votes.centers[occ] - centre
    flat -= np.outer(flat @ up, up)
    reach = REACH * float(np.linalg.norm(flat, axis=1).max() + votes.h)
    chosen = sweep_views(len(images))
    outside = {int(i): cv2.dilate(masks[i].astype(np.uint8), np.ones((5, 5), np.uint8)) == 0 for i in chosen}

    def near(i: int, t: float) -> np.ndarray:  # outside the masks, the plane point within reach
        pts, ok = plane_points(cams, i, up, t)
        off = pts - centre
        off -= (off @ up)[..., None] * up
        return ok & outside[i] & (np.einsum("hwk,hwk->hw", off, off) < reach**2)

    views = WindowedViews(images) if views is None else views
    best, t, median = best_height(views, cams, up, heights, step / 2, chosen, near)
    if best < MIN_SHARE or best < PEAK * median:
        return None
    return SupportHeight(up, min(t, bottom), best, median)

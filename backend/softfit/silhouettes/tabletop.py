"""A table's top taken in with the object: found in the hull's shape, cut off by its colour.

A small table seen whole (its edges inside the frame, a mug on a side table shot from a few steps
away) is what every camera looks at as much as the object is: its top does not reach the image border,
every view takes it in alike, the hull keeps it, and the prior it reprojects makes it sure object in
the next round. The fit then becomes a slab with a bump.

Finding it (`find`): seen from above, a flat top's visual hull is a wide layer that narrows linearly
above and below its plane (each camera's cone of the top, shifted by the height over the tangent of its
elevation), and the object standing on it rises from that layer as a narrower column. So the hull's
cross-section along up peaks in its lower part, at the top's height, at `WIDE` times or more the
median section above it, and the hull goes on `RISE` x its height below the peak or more above it
(something stands on it: a plate alone is left as it is). A cone on the floor has its widest section at
its base too; its colour decides (below). A flat object on a table (a torus lying on it) rises too
little for `RISE`, and the top stays in its masks; relaxing the profile (RISE 0, WIDE 2, LOW 0.6; round
34) cut such a top (drawn-2-2, a dark torus on a side table: mask IoU 0.213 -> 0.852) but also a flat
object's own upper face (dev-small-torus, a painted torus on a table: 0.865 -> 0.075), and neither the
share of the masks the cut keeps (0.34 against 0.22) nor of their old outlines (0.14 against 0.09) told
the two apart, so the profile stays strict.

Its colour (`_seen_alike`): where a mask's pixel sees the top, the point where its ray meets the top's
plane looks the same from cameras far round the table (optical axes `FAR_ANGLE` apart or more); where
the pixel sees the object standing on the table, that point lies behind the object, and the far camera
sees the top there, or the object's other side, in another colour. Their colours, pooled over the
views (and each view's own, where it has enough), make the top's model. Unless the agreeing pixels of
that colour make up `PRESENT` of the masks, the top was not taken in (a flat object's own wide layer:
an airplane's wings) and nothing is done; else `supportcut` cuts: the agreeing pixels with that colour
are sure background, the rest of that colour reaching the mask's outline probable background (a pale
base can have the top's colour), and the top is left when the object above it has its colour (a cone's
base is the cone's).
`multiview` then runs the hull-prior rounds again with the object standing on the top (`standing`): a
part lost with the top in some views is lost from the hull, and is filled down to the top's height.
Measured on the development scenes: benchmarks/silhouettes.md, round 29.

A flat object on a table seen whole (a torus lying on it) rises too little for the profile, but the
top has a grain: through the plane at the top's height, neighbouring views agree on the textured pixels
inside the masks, and at the hull's other heights they do not (`find_by_grain`: `supportsweep`'s sweep
and rule, counting the masks' own pixels). A top found so must also be about the hull's widest part
(`SECTION`), and something must stand on it (`CARRIED` of the masks not in the top's colour: a board
lying alone has a grain too) and lie above it rather than below (`RESTS`: a painted object's own
grained face, found halfway up, has the rest of the object below it as well; where that hull is too
thin to say, `_rests_by_sweep`); the cut and its `PRESENT` guard are the same. Once the top is cut off,
its plane is the support: what sees it beside the object (a shadow cast on the top) is background in
the rounds that follow (`multiview`). Round 41: drawn-2-2 (a dark torus on a side table) mask IoU
0.213 -> 0.861 against the true masks; benchmarks/silhouettes.md.

What lies on the top can be a hole in masks that took the top in: its colours were learnt as the
background's. The cut therefore decides the masks with their holes filled (round 48: drawn-9-9, a dark
airplane on a beige table top, a hole in half the views)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from softfit.cameras import Cameras
from softfit.silhouettes import supportcut
from softfit.silhouettes.common import fill_holes
from softfit.silhouettes.supportcut import Cut
from softfit.silhouettes.supportsweep import (
    MIN_SHARE,
    PEAK,
    WindowedViews,
    best_height,
    footprint,
    plane_cells,
    plane_points,
    remap_coords,
    sweep_views,
)
from softfit.silhouettes.voxelvotes import VoxelVotes

WIDE = 3.0  # the top's section is at least this many times the median section of the hull above it
LOW = 0.5  # ... and lies in this lower share of the hull's height
RISE = 1.0  # the hull rises this x its height below the top or more above it (the top carries something)
MIN_LAYERS = 6  # voxel layers a hull needs for its profile to say anything
FAR_ANGLE = 60.0  # degrees between optical axes for two views to check each other's view of the top
AGREE = 15.0  # largest difference of two views' mean colours (3 x 3, per channel, of 255) on the top
MIN_FAR = 2  # a pixel is the top's when at least this many far views see the point in their masks ...
AGREE_SHARE = 0.5  # ... and this share of them agree with it
# The top must make up this share of the masks (median over views) to have been taken in: a table seen
# whole under the object 0.33-0.40 on the development scenes, objects without one 0.00-0.15 (a painted
# cylinder's pale base, seen alike near the table it stands on).
PRESENT = 0.25
VIEW_SAMPLES = 200  # samples a view needs for a colour model of its own besides the pooled one
# A top found by its grain (every voxel layer of the hull swept: every other one found drawn-2-2's top
# 0.02 too high, and its cut went wrong) meets the sweep's own rule (`supportsweep.MIN_SHARE` of the
# textured pixels inside the masks agree, `supportsweep.PEAK` x the median over the hull's heights) ...
SECTION = 0.8  # ... where the hull's section is at least this share of its widest (a top is the widest part)
# ... and something must stand on it: this share of the masks (median over views) not in its colour (a
# bare grained board found by its grain: 0.00; a flat object on a grained top 0.16, drawn-2-2 0.49)
CARRIED = 0.05
# ... and it must lie at the bottom of what stands on it: of the hull carved from the masks less the top's
# colour, at least as much lies above the top as below it (RESTS, in voxel layers either side). A painted
# torus's own face, found by its grain halfway up (dev-small-torus, smaller-seed retry): 0.24 above, 0.59
# below; drawn-2-2's side-table top under a dark torus: 0.47 above, 0.37 below (its legs in the masks).
RESTS = 0.5
# ... or, where that hull is too thin to say (a flat object: its hull is symmetric about its own middle, a
# layer or two above the top, and the masks at this stage hold it in some views only), the plane at which
# those pixels agree best between neighbouring views (`supportsweep.best_height`, `SPAN` layers either
# side of the top) lies no more than `BELOW` layers under the top: a dark airplane on a beige table
# (drawn-9-9) peaks at the top's own plane (its shadow and what lies on the top), a painted torus's own
# face found halfway up (dev-small-torus) 4 layers below (the table seen through its hole).
SPAN = 6
BELOW = 1.0


@dataclass(frozen=True)
class Top:
    """The table's top: the plane up . x = height, and its section of the hull (in-plane axes a, b and
    the occupied (K, 2) cells of side `size`: `supportsweep.plane_cells`)."""

    up: np.ndarray
    height: float
    cells: tuple[np.ndarray, np.ndarray, np.ndarray]
    size: float
    wide: float  # its section over the median section above it
    grain: float | None = None  # found by its grain (`find_by_grain`): the agreeing share there
    # a top found by its grain: the hull it was found in (the grid, its voxels, the views it may miss) ...
    hull: tuple[VoxelVotes, np.ndarray, int] | None = None
    views: WindowedViews | None = None  # ... and the photos' windows, which `_rests_by_sweep` reads again


def _layers(votes: VoxelVotes, occ: np.ndarray, up: np.ndarray
            ) -> tuple[np.ndarray, float, np.ndarray, np.ndarray] | None:
    """(unit up, the hull's bottom along it, every voxel's layer above the bottom, the hull's section per
    layer), or None when the hull has fewer than `MIN_LAYERS` layers: too few for its profile to say
    anything."""
    if not occ.any():
        return None
    up = np.asarray(up, float) / np.linalg.norm(up)
    t = votes.centers @ up
    bottom = float(t[occ].min())
    layer = np.floor((t - bottom) / votes.h + 1e-6).astype(np.int64)
    area = np.bincount(layer[occ])
    return None if len(area) < MIN_LAYERS else (up, bottom, layer, area)


def find(votes: VoxelVotes, occ: np.ndarray, up: np.ndarray) -> Top | None:
    """The top the hull `occ` stands on (module docstring), or None."""
    layers = _layers(votes, occ, up)
    if layers is None:
        return None
    up, bottom, layer, area = layers
    n = len(area)
    k = int(np.argmax(area))
    if k >= LOW * n or n - 1 - k < RISE * k or n - 1 - k < 3:
        return None
    wide = float(area[k] / max(np.median(area[k + 1:]), 1.0))
    if wide < WIDE:
        return None
    height = bottom + (k + 0.5) * votes.h
    cells = plane_cells(votes.centers[occ & (layer == k)], up, votes.h)
    return Top(up, height, cells, votes.h, wide)


def find_by_grain(images: np.ndarray, cams: Cameras, votes: VoxelVotes, occ: np.ndarray, misses: int,
                  up: np.ndarray, masks: np.ndarray, views: WindowedViews | None = None) -> Top | None:
    """A top under a flat object (module docstring): the height in the hull `occ` at which the textured
    pixels well inside the `masks` agree between neighbouring views clearly more than at its other
    heights, where the hull is about as wide as it gets; or None. `views`: the photos' `WindowedViews`,
    when the caller has them already."""
    layers = _layers(votes, occ, up)
    if layers is None:
        return None
    up, bottom, layer, area = layers
    heights = bottom + (np.arange(len(area)) + 0.5) * votes.h
    # the outline's pixels see what lies behind the object too
    views = WindowedViews(images) if views is None else views
    best, height, clear = _agree_inside(views, cams, up, heights, 0.5 * votes.h, masks, 5)
    k = int(np.clip(np.floor((height - bottom) / votes.h), 0, len(area) - 1))
    if not clear or area[k] < SECTION * area.max():
        return None
    wide = float(area[k] / max(np.median(area[k + 1:]), 1.0)) if k + 1 < len(area) else 1.0
    # the height found is within a layer or so: the top's section is the widest of the layers about it
    cells = plane_cells(votes.centers[occ & (np.abs(layer - k) <= 1)], up, votes.h)
    return Top(up, height, cells, votes.h, wide, best, (votes, occ, misses), views)


def _seen_alike(top: Top, cams: Cameras, masks: np.ndarray, images: np.ndarray, region: np.ndarray
                ) -> np.ndarray:
    """(N, H, W) mask pixels in the top's image whose plane point the far views see alike."""
    n = len(masks)
    fwd = -cams.c2w[:, :3, 2]
    fwd = fwd / np.linalg.norm(fwd, axis=1, keepdims=True)
    far = np.degrees(np.arccos(np.clip(fwd @ fwd.T, -1, 1))) >= FAR_ANGLE
    blur = np.stack([cv2.blur(im.astype(np.float32), (3, 3)) for im in images])
    mask_f = masks.astype(np.float32)
    out = np.zeros(masks.shape, bool)
    for i in range(n):
        cand = masks[i] & region[i]
        if not cand.any() or not far[i].any():
            continue
        pts, ok = plane_points(cams, i, top.up, top.height)
        valid = np.zeros(cand.shape, np.int32)
        good = np.zeros(cand.shape, np.int32)
        for j in np.flatnonzero(far[i]):
            x, y, ok_j = remap_coords(cams, int(j), pts, ok & cand)
            seen = ok_j & (cv2.remap(mask_f[j], x, y, cv2.INTER_NEAREST) > 0.5)
            col = cv2.remap(blur[j], x, y, cv2.INTER_LINEAR)
            valid += seen
            good += seen & (np.abs(col - blur[i]).max(-1) < AGREE)
        out[i] = cand & (valid >= MIN_FAR) & (good >= AGREE_SHARE * valid)
    return out


def _like(masks: np.ndarray, images: np.ndarray, model: supportcut.Model) -> np.ndarray:
    """(N, H, W) pixels in the top's colour (`model`), in the views whose mask holds anything."""
    like = np.zeros(masks.shape, bool)
    for i, (m, im) in enumerate(zip(masks, images, strict=True)):
        if m.any():
            like[i] = supportcut.distance(im.astype(np.float64), *model) < supportcut.COLOUR_SIGMAS
    return like


def _share(sure: np.ndarray, masks: np.ndarray, like: np.ndarray) -> float:
    """Median over the views of the share of the mask that surely sees the top: seen alike by the far
    views and in its colour (`like`)."""
    shares = [float((s & m & k).sum() / m.sum())
              for s, m, k in zip(sure, masks, like, strict=True) if m.any()]
    return float(np.median(shares)) if shares else 0.0


def _stands_on(top: Top, cams: Cameras, masks: np.ndarray, images: np.ndarray, like: np.ndarray) -> bool:
    """Something not in the top's colour (`like`) stands on it (`CARRIED`), and lies above it rather than
    below (`RESTS`, or `_rests_by_sweep`: a face of the object found by its grain has the object's other
    parts below it too)."""
    other = masks & ~like
    shares = [float(o[m].mean()) for o, m in zip(other, masks, strict=True) if m.any()]
    if not shares or float(np.median(shares)) < CARRIED or top.hull is None:
        return False
    votes, occ, misses = top.hull
    held = occ & votes.hull(votes.inside(other), misses)
    if held.any():
        rel = (votes.centers[held] @ top.up - top.height) / votes.h
        if float(np.mean(rel > RESTS)) >= float(np.mean(rel < -RESTS)):
            return True
    return _rests_by_sweep(top, cams, images, other)


def _rests_by_sweep(top: Top, cams: Cameras, images: np.ndarray, other: np.ndarray) -> bool:
    """The textured pixels of `other` (well inside it) agree between neighbouring views best on a plane
    near the top's or above it (`BELOW`), and clearly (`supportsweep`'s `MIN_SHARE` and `PEAK`)."""
    heights = top.height + top.size * np.arange(-SPAN, SPAN + 1)
    views = WindowedViews(images) if top.views is None else top.views
    _, height, clear = _agree_inside(views, cams, top.up, heights, 0.5 * top.size, other, 3)
    return clear and height >= top.height - BELOW * top.size


def _agree_inside(views: WindowedViews, cams: Cameras, up: np.ndarray, heights: np.ndarray, band: float,
                  pixels: np.ndarray, erode: int) -> tuple[float, float, bool]:
    """(the best share, the height of the plane among `heights` at which the textured pixels well inside
    `pixels` (eroded by `erode` px) agree best between neighbouring views, whether that peak is clear:
    `supportsweep`'s `MIN_SHARE` and `PEAK` x the median over the heights)."""
    chosen = sweep_views(len(pixels))
    kernel = np.ones((erode, erode), np.uint8)
    inside = {int(i): cv2.erode(pixels[i].astype(np.uint8), kernel) > 0 for i in chosen}
    best, height, median = best_height(views, cams, up, heights, band, chosen,
                                       lambda i, _t: inside[i])
    return best, height, best >= MIN_SHARE and best >= PEAK * median


def cut(top: Top, cams: Cameras, masks: np.ndarray, images: np.ndarray,
        grabcut: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Cut:
    """The masks less the table's top (module docstring). `grabcut(image, labels)` -> object mask."""
    region = footprint(top.cells, cams, top.up, top.height, top.size)
    sure = _seen_alike(top, cams, masks, images, region)
    samples = [im[s].astype(np.float64) for im, s in zip(images, sure, strict=True)]
    pooled = supportcut.robust_gaussian(np.concatenate(samples))
    if pooled is None:
        return Cut(masks, 0)
    like = _like(masks, images, pooled)
    if _share(sure, masks, like) < PRESENT:
        return Cut(masks, 0)
    if top.grain is not None and not _stands_on(top, cams, masks, images, like):
        return Cut(masks, 0)  # a flat object with a grain of its own (a book), or a face of the object
    own = [supportcut.robust_gaussian(x) if len(x) >= VIEW_SAMPLES else None for x in samples]
    models = [[pooled] if m is None else [pooled, m] for m in own]
    # What lies on the top inside its image was a hole in the masks that took the top in (a dark airplane on
    # a beige table, drawn-9-9: the colour models learnt it as background). The cut decides it with the
    # masks' holes filled; a view the cut leaves alone keeps its mask as it was.
    filled = np.stack([fill_holes(m) for m in masks])
    done = supportcut.cut(models, region, filled, images, grabcut, sure=sure)
    same = (done.masks == filled).reshape(len(masks), -1).all(1)
    out = done.masks.copy()
    out[same] = masks[same]
    return Cut(out, done.views, done.ambiguous)

"""The support plane from the photos alone, and the pixels that see it: a plane sweep.

A point on the plane the object stands on looks the same from every camera that sees it, at the place the
plane maps it to; a point above the plane does not (parallax). So, for heights along the cameras' up
direction, each view is warped onto its neighbours through the plane at that height and compared in
small windows (normalised cross-correlation of grey levels, which a shadow's darkening leaves alone
where the light is fixed in the world, and the windows' mean colours); the support is the height at
which the most pixels around the object agree. A pixel then sees the support when it agrees at that
height and at neither a little above nor below it (a smooth shading gradient agrees at every height and
proves nothing), and only textured pixels take part (a flat region agrees with anything).

The segmentation uses it in two ways (`multiview`): the height is the plane the hull's skirt is cut at
when the capture brought no 3-D points (`voxelvotes.cut_support`), and support pixels whose plane point
lies outside the object's footprint (the cut hull's cells on the plane, carved from the masks less the
support pixels, so that a cast shadow the masks took in does not widen it) are sure background: that is
the floor seen through a torus's hole, a patch of table beside the object, a cast shadow. Inside the
footprint they are left alone: the object's base touches the plane and agrees there too. A support pixel
also says that nothing stands between its camera and the plane, so the voxels that two views see the plane
through (`seen_through`) are no part of that hull: a shadow under an overhang, scattered with them.
Hand-held captures and rings of cameras around a static scene are what it is for; on a fixed-camera
turntable the light turns with the camera, shadows move over the disc, and the sweep finds no plane (none
on the photoreal turntables) or a weak, wrong one (an 8-view ALOI-style capture), so `multiview` does not
sweep a capture it found to be fixed-camera.
On by default (`multiview:sweep=no` turns it off). Round 11 made it opt-in: its masks were closer to the
true ones, but two benchmark fits lost 0.008-0.012. Measured again in round 35 with every later step in
place, on the 76 photoreal scenes (fits over three held-out splits, against the true masks): it changed
the masks of 16 scenes, and their fits gained 0.015 on average (9 better, 4 worse), the benchmark's five
within 0.003 of before; see `multiview.segment_views`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from softfit.cameras import Cameras
from softfit.pixelbox import Box, around
from softfit.silhouettes.common import per_view
from softfit.silhouettes.convergence import ObjectRegion
from softfit.silhouettes.supportplane import in_plane_axes

NEIGHBOURS = 4  # views each view is compared with (the nearest camera directions)
WINDOW = 5  # comparison window (working-size pixels)
MIN_STD = 2.0  # grey-level spread a window needs to take part (flat regions agree with anything)
AGREE_MIN = 1  # a pixel sees the plane when at least this many neighbours agree ...
AGREE_SHARE = 0.5  # ... and at least this share of those that see the place textured
NCC_MIN = 0.6  # correlation for two windows to agree ...
COLOUR_MAX = 15.0  # ... and the largest difference of their mean colours (per channel, of 255)
HEIGHTS = 22  # heights swept, every 0.1 region radius ...
LOWEST, HIGHEST = -2.0, 0.1  # ... from 2 radii below the point the cameras aim at to just above it: the
# support is under the object they aim at (a sweep up to half a radius above it found a cream torus's top
# at 320x240 instead of its table, and the cut there emptied the hull)
SWEEP_VIEWS = 8  # views the height is chosen on (spread over the capture)
OFF_PLANE = 0.3  # x the region radius: "a little above or below the plane" for the per-pixel test
MIN_SHARE = 0.1  # the best height must make at least this share of textured pixels agree ...
PEAK = 1.5  # ... and this many times the median share over all heights (else: no plane found)
SEEN_THROUGH = 2  # views that see the plane through a voxel (on a support pixel) for it to be empty


@dataclass
class SupportHeight:
    """The plane up . x = height, and the agreeing share of textured pixels around the object there and
    its median over the heights swept."""

    up: np.ndarray
    height: float
    share: float
    median_share: float


@dataclass
class SupportSweep(SupportHeight):
    """The support height, and pixels (N, H, W): the pixels that see the plane."""

    pixels: np.ndarray


def plane_points(cams: Cameras, i: int, up: np.ndarray, height: float, box: Box | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """((H, W, 3) where each pixel's ray meets the plane, (H, W) whether it meets it in front); within
    `box` only, when given."""
    rows, cols = box or (slice(0, cams.height), slice(0, cams.width))
    yy, xx = np.mgrid[rows, cols].astype(np.float64) + 0.5
    d = np.stack([(xx - cams.cx[i]) / cams.fx[i], -(yy - cams.cy[i]) / cams.fy[i], -np.ones_like(xx)], -1)
    d = d @ cams.c2w[i, :3, :3].T
    o = cams.c2w[i, :3, 3]
    du = d @ up
    s = (height - o @ up) / np.where(np.abs(du) > 1e-12, du, 1e-12)
    return o + s[..., None] * d, s > 0


def remap_coords(cams: Cameras, j: int, pts: np.ndarray, ok: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, y, ok): where the world points `pts` (..., 3) fall in view `j`, as `cv2.remap` coordinates
    (pixel centres at integers), and which of them (`ok` and) lie in front of it and inside the image."""
    w2c = cams.w2c[j]
    pc = pts @ w2c[:3, :3].T + w2c[:3, 3]
    depth = -pc[..., 2]
    safe = np.where(depth > 1e-9, depth, 1.0)
    x = cams.cx[j] + cams.fx[j] * pc[..., 0] / safe - 0.5
    y = cams.cy[j] - cams.fy[j] * pc[..., 1] / safe - 0.5
    ok = ok & (depth > 1e-9) & (x >= 0) & (x <= cams.width - 1) & (y >= 0) & (y <= cams.height - 1)
    return x.astype(np.float32), y.astype(np.float32), ok


def neighbours(cams: Cameras, k: int = NEIGHBOURS) -> np.ndarray:
    """(N, k) the views whose camera directions (from the cameras' mean position) are nearest each view's."""
    p = cams.centers - cams.centers.mean(0)
    p = p / np.maximum(np.linalg.norm(p, axis=1, keepdims=True), 1e-12)
    cos = p @ p.T
    np.fill_diagonal(cos, -np.inf)
    return np.argsort(-cos, axis=1)[:, : min(k, len(cams) - 1)]


class WindowedViews:
    """The images' grey levels and colours with the per-view window statistics computed once."""

    def __init__(self, images: np.ndarray):
        k = (WINDOW, WINDOW)
        self.rgb = images.astype(np.float32)
        self.grey = np.stack([cv2.cvtColor(im, cv2.COLOR_RGB2GRAY) for im in images]).astype(np.float32)
        self.mean = np.stack([cv2.blur(g, k) for g in self.grey])
        self.std = np.sqrt(np.maximum(np.stack([cv2.blur(g * g, k) for g in self.grey]) - self.mean**2, 0))
        self.colour = np.stack([cv2.blur(c, k) for c in self.rgb])

    def agree(self, cams: Cameras, i: int, j: int, pts: tuple[np.ndarray, np.ndarray], box: Box | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
        """((H, W) textured pixels of view i that view j also sees through the plane (`pts`: view i's
        `plane_points`), (H, W) those of them whose windows agree); within `box` (that of `pts`), when
        given: a pixel's windows lie in the box when it is at least WINDOW // 2 inside it."""
        k = (WINDOW, WINDOW)
        box = box or (slice(None), slice(None))
        grey, mean, std, colour = self.grey[i][box], self.mean[i][box], self.std[i][box], self.colour[i][box]
        x, y, ok = remap_coords(cams, j, *pts)
        g = cv2.remap(self.grey[j], x, y, cv2.INTER_LINEAR)
        m = cv2.blur(g, k)
        sd = np.sqrt(np.maximum(cv2.blur(g * g, k) - m * m, 0))
        ncc = (cv2.blur(g * grey, k) - m * mean) / np.maximum(sd * std, 1e-6)
        col = cv2.blur(cv2.remap(self.rgb[j], x, y, cv2.INTER_LINEAR), k)
        valid = ok & (std > MIN_STD) & (sd > MIN_STD)
        good = valid & (ncc > NCC_MIN) & (np.abs(col - colour).max(-1) < COLOUR_MAX)
        return valid, good

    def votes(self, cams: Cameras, i: int, nb: np.ndarray, up: np.ndarray, height: float,
              box: Box | None = None) -> tuple[np.ndarray, np.ndarray]:
        """((H, W) how many neighbours see each pixel's plane point textured, how many of them agree);
        within `box` only, when given."""
        pts = plane_points(cams, i, up, height, box)
        valid = np.zeros(pts[1].shape, np.int32)
        good = np.zeros_like(valid)
        for j in nb[i]:
            v, g = self.agree(cams, i, int(j), pts, box)
            valid += v
            good += g
        return valid, good


def _on_plane(valid: np.ndarray, good: np.ndarray) -> np.ndarray:
    return (valid >= 2) & (good >= AGREE_MIN) & (good >= AGREE_SHARE * valid)


def find_height(images: np.ndarray, cams: Cameras, up: np.ndarray, region: ObjectRegion,
                views: WindowedViews | None = None, min_share: float = MIN_SHARE) -> SupportHeight | None:
    """The support's height (module docstring), or None when no height makes clearly more of the textured
    pixels around the object (within three radii of `region`, where the cameras aim) agree than the
    others do. Cheaper than `sweep`: only `SWEEP_VIEWS` views take part and no pixel is labelled (what
    `multiview`'s standing rule needs). `min_share`: the share the best height needs (`MIN_SHARE` where
    pixels are then labelled background; the standing rule asks for less, having guards of its own)."""
    n = len(images)
    if n < 3:
        return None
    up = np.asarray(up, float) / np.linalg.norm(up)
    views = WindowedViews(images) if views is None else views
    aim, radius = float(region.center @ up), region.radius
    heights = aim + np.linspace(LOWEST, HIGHEST, HEIGHTS) * radius
    chosen = sweep_views(n)
    centres, radii = region.projected(cams)
    yy, xx = np.mgrid[: cams.height, : cams.width] + 0.5
    near = {int(i): (xx - centres[i, 0]) ** 2 + (yy - centres[i, 1]) ** 2 <= (3 * radii[i]) ** 2
            for i in chosen}
    best, t, median = best_height(views, cams, up, heights, 0.5 * (heights[1] - heights[0]), chosen,
                                  lambda i, _t: near[i])
    if best < min_share or best < PEAK * median:
        return None
    return SupportHeight(up, t, best, median)


def sweep_views(n: int) -> np.ndarray:
    """The (at most `SWEEP_VIEWS`) views a height is chosen on, spread over the capture's `n`."""
    return np.unique(np.linspace(0, n - 1, min(n, SWEEP_VIEWS)).round().astype(int))


def best_height(views: WindowedViews, cams: Cameras, up: np.ndarray, heights: np.ndarray, half: float,
                chosen: np.ndarray, counted: Callable[[int, float], np.ndarray]
                ) -> tuple[float, float, float]:
    """(best share, its height, median share over `heights`): the share of the textured pixels
    `counted(i, height)` of each `chosen` view that agree with its neighbours through the plane at each
    height (heights in parallel); the agreement peaks sharply at a plane, so the best height is tried
    `half` a step either side as well. Only a box around the counted pixels is compared (`around`): the
    same votes for them, and 1.26x faster segmentation on the slowest hand-held scenes (round 42)."""
    nb = neighbours(cams)

    def share(t: float) -> float:
        v = g = 0
        for i in chosen:
            sel = counted(int(i), t)
            box = around(sel, WINDOW)  # only the counted pixels' windows are compared
            if box is None:
                continue
            valid, good = views.votes(cams, int(i), nb, up, t, box)
            v += int(valid[sel[box]].sum())
            g += int(good[sel[box]].sum())
        return g / max(v, 1)

    shares = np.array(per_view(lambda k: share(float(heights[k])), len(heights)))
    peak = float(heights[int(np.argmax(shares))])
    best, t = max((float(shares.max()), peak), *((share(peak + d), peak + d) for d in (-half, half)))
    return best, t, float(np.median(shares))


def sweep(images: np.ndarray, cams: Cameras, up: np.ndarray, region: ObjectRegion,
          views: WindowedViews | None = None) -> SupportSweep | None:
    """The support plane (`find_height`) and the pixels that see it (module docstring), or None. `views`:
    the photos' `WindowedViews`, when the caller has them already."""
    views = WindowedViews(images) if views is None else views
    found = find_height(images, cams, up, region, views)
    if found is None:
        return None
    pixels = plane_pixels(images, cams, found.up, found.height, region.radius, views)
    return SupportSweep(found.up, found.height, found.share, found.median_share, pixels)


def plane_pixels(images: np.ndarray, cams: Cameras, up: np.ndarray, height: float, radius: float,
                 views: WindowedViews | None = None) -> np.ndarray:
    """(N, H, W) bool: the pixels that see the plane up . x = `height`: textured, agreeing with their
    neighbours through it, and with neither `OFF_PLANE` x `radius` above nor below it (module docstring)."""
    views = WindowedViews(images) if views is None else views
    nb = neighbours(cams)
    up = np.asarray(up, float) / np.linalg.norm(up)

    def sees(i: int) -> np.ndarray:
        on = _on_plane(*views.votes(cams, i, nb, up, height))
        for dt in (OFF_PLANE * radius, -OFF_PLANE * radius):
            on &= ~_on_plane(*views.votes(cams, i, nb, up, height + dt))
        return on

    return np.stack(per_view(sees, len(images))).reshape(images.shape[:3])


def seen_through(inside: np.ndarray, views: int = SEEN_THROUGH) -> np.ndarray:
    """(V,) bool: the voxels above the plane that at least `views` views see the plane through. `inside`
    (N, V): whether each voxel's centre projects onto a support pixel of each view (`VoxelVotes.inside`
    of the pixels): that view's ray passes the voxel and reaches the plane, so nothing is there. One
    view is not enough: a part of the object close to the plane (its base) now and then agrees there
    as the plane does."""
    return np.asarray(inside, bool).sum(0) >= views


def footprint(cells: tuple[np.ndarray, np.ndarray, np.ndarray], cams: Cameras, up: np.ndarray, height: float,
              size: float, dilate: int = 1) -> np.ndarray:
    """(N, H, W) pixels whose plane point falls in the footprint `cells` (in-plane axes a, b and the (K, 2)
    occupied cells of side `size`, from `plane_cells`), grown by `dilate` cells."""
    a, b, occ = cells
    out = np.zeros((len(cams), cams.height, cams.width), bool)
    if not len(occ):
        return out
    lo = occ.min(0) - dilate - 1
    grid = np.zeros(tuple(occ.max(0) - lo + dilate + 2), np.uint8)
    grid[occ[:, 0] - lo[0], occ[:, 1] - lo[1]] = 1
    if dilate:
        grid = cv2.dilate(grid, np.ones((2 * dilate + 1, 2 * dilate + 1), np.uint8))
    for i in range(len(cams)):
        pts, ok = plane_points(cams, i, up, height)
        u = np.floor(pts @ a / size).astype(np.int64) - lo[0]
        v = np.floor(pts @ b / size).astype(np.int64) - lo[1]
        inside = ok & (u >= 0) & (u < grid.shape[0]) & (v >= 0) & (v < grid.shape[1])
        out[i][inside] = grid[u[inside], v[inside]] > 0
    return out


def plane_cells(centres: np.ndarray, up: np.ndarray, size: float
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(a, b, (K, 2) cells): the in-plane cells of side `size` that the points `centres` fall in."""
    up = np.asarray(up, float) / np.linalg.norm(up)
    a, b = in_plane_axes(up)
    cells = np.stack([np.floor(centres @ a / size), np.floor(centres @ b / size)], 1).astype(np.int64)
    return a, b, np.unique(cells, axis=0) if len(cells) else cells.reshape(0, 2)

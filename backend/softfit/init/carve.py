"""Visual hull by octree voxel carving: every voxel whose centre projects inside all silhouettes.

Coarse-to-fine: a cell is classified against each view by its centre's signed distance to the
silhouette outline (a distance transform per view) against a conservative bound on the cell's projected
radius: farther outside than that = the whole cell is outside that view; farther inside = inside. Cells
inside every view are filled wholesale, cells outside any view are dropped, and only the mixed ones
(near the hull's surface) are split into 8 and looked at again, so the work grows with the hull's surface,
not its volume. At the finest level the mixed cells are decided by their centre. Pixels outside the image
count as background; `max_misses` > 0 keeps voxels that fall outside the silhouette in up to that many
views (robustness against a few bad masks)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from softfit.cameras import Cameras
from softfit.errors import InputError

_CHILDREN = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)], dtype=np.int64)


@dataclass(frozen=True)
class VoxelGrid:
    """occupied (X, Y, Z) bool voxels; maybe: voxels not excluded by any conservative test (⊇ the true
    hull); voxel (i, j, k) spans origin + h * [i, i+1) x [j, j+1) x [k, k+1)."""

    occupied: np.ndarray
    maybe: np.ndarray
    origin: np.ndarray
    h: float

    def centers(self, index: np.ndarray) -> np.ndarray:
        return self.origin + (np.asarray(index, dtype=np.float64) + 0.5) * self.h


class _Views:
    """Per-view signed distance maps (px, > 0 inside the silhouette) and projections."""

    def __init__(self, cameras: Cameras, masks: np.ndarray, near: float):
        n, self.hgt, self.wid = masks.shape
        self.sdf = np.empty(masks.shape, dtype=np.float32)
        for i, m in enumerate(masks):
            u8 = m.astype(np.uint8)
            inside = cv2.distanceTransform(u8, cv2.DIST_L2, 5)
            outside = cv2.distanceTransform(1 - u8, cv2.DIST_L2, 5)
            self.sdf[i] = np.where(m, inside, -outside)
        w2c = cameras.w2c.astype(np.float32)
        self.rot, self.trans = w2c[:, :3, :3], w2c[:, :3, 3]
        self.intr = cameras.intrinsics.astype(np.float32)
        self.near = near

    def __len__(self) -> int:
        return len(self.sdf)

    def distance(self, i: int, pts: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
        """(signed distance at each point's pixel, conservative pixel radius of a ball of `radius`).

        A ball of radius ρ at depth d projects within ρ (f + |x - c|) / (d - ρ) pixels of its centre's
        projection x along each image axis; pixel quantisation adds one pixel. Points off the image get
        the distance of the nearest image pixel minus how far off they are (background beyond)."""
        pc = pts @ self.rot[i].T + self.trans[i]
        d = -pc[:, 2]
        ok = d > max(self.near, radius)
        safe = np.where(ok, d, 1.0)
        fx, fy, cx, cy = self.intr[i]
        x = cx + fx * pc[:, 0] / safe
        y = cy - fy * pc[:, 1] / safe
        xi = np.clip(np.floor(x), 0, self.wid - 1).astype(np.int64)
        yi = np.clip(np.floor(y), 0, self.hgt - 1).astype(np.int64)
        sd = self.sdf[i][yi, xi]
        off = np.maximum(np.abs(x - (xi + 0.5)), np.abs(y - (yi + 0.5))) - 0.5
        sd = np.where(off > 0, np.minimum(sd, 0.0) - off, sd)
        den = np.maximum(safe - radius, 1e-6)
        r = radius * np.maximum(abs(fx) + np.abs(x - cx), abs(fy) + np.abs(y - cy)) / den + 1.0
        sd = np.where(ok, sd, np.nan)  # at or behind the camera: undecided
        return sd, r


def carve(cameras: Cameras, silhouettes: np.ndarray, lo: np.ndarray, hi: np.ndarray, resolution: int = 128,
          max_misses: int = 0, near: float = 1e-3) -> VoxelGrid:
    """Carve the box [lo, hi] at `resolution` voxels along its longest side (cubic voxels)."""
    masks = np.asarray(silhouettes) > 0.5
    if masks.ndim != 3 or len(masks) != len(cameras):
        raise InputError(f"need one (H, W) silhouette per camera, got {masks.shape} for {len(cameras)}")
    if not 4 <= resolution <= 1024:
        raise InputError(f"carving resolution must be in [4, 1024], got {resolution}")
    lo, hi = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    if not (hi > lo).all():
        raise InputError(f"carving box is empty: lo {lo}, hi {hi}")
    views = _Views(cameras, masks, near)
    h = float((hi - lo).max()) / resolution
    dims = np.maximum(1, np.ceil((hi - lo) / h - 1e-9).astype(np.int64))
    levels = max(0, int(math.floor(math.log2(resolution / 8))))
    occ = np.zeros(tuple(dims), dtype=bool)
    maybe = np.zeros(tuple(dims), dtype=bool)
    cdims = -(-dims // 2**levels)
    cells = np.stack(np.meshgrid(*[np.arange(n) for n in cdims], indexing="ij"), -1).reshape(-1, 3)
    lo32 = lo.astype(np.float32)
    for level in range(levels + 1):
        step = 2 ** (levels - level)  # fine voxels per cell side
        size = h * step
        last = level == levels
        centers = lo32 + (cells.astype(np.float32) + 0.5) * np.float32(size)
        radius = 0.0 if last else size * math.sqrt(3.0) / 2.0
        n_out = np.zeros(len(cells), dtype=np.int32)
        n_notin = np.zeros(len(cells), dtype=np.int32)
        alive = np.arange(len(cells))
        for i in range(len(views)):
            sd, r = views.distance(i, centers[alive], radius)
            if last:  # the voxel's centre decides
                n_out[alive] += ~(sd > 0)
            else:
                n_out[alive] += sd < -r
                n_notin[alive] += ~(sd > r)
            alive = alive[n_out[alive] <= max_misses]
            if len(alive) == 0:
                break
        keep = n_out <= max_misses
        if last:
            _paint(occ, cells[keep], 1)
            break
        inside = keep & (n_notin <= max_misses)
        mixed = keep & ~inside
        _paint(occ, cells[inside], step)
        _paint(maybe, cells[keep], step)
        cells = (cells[mixed][:, None, :] * 2 + _CHILDREN).reshape(-1, 3)
        cells = cells[(cells < -(-dims // (step // 2))).all(axis=1)]  # children inside the next level's grid
        if len(cells) == 0:
            break
    return VoxelGrid(occ, maybe, lo, h)


def _paint(grid: np.ndarray, cells: np.ndarray, step: int) -> None:
    """Set the step³ blocks of fine voxels covered by `cells` (clipped to the grid)."""
    if len(cells) == 0:
        return
    if step == 1:
        grid[cells[:, 0], cells[:, 1], cells[:, 2]] = True
        return
    coarse = np.zeros(tuple(-(-np.array(grid.shape) // step)), dtype=bool)
    coarse[cells[:, 0], cells[:, 1], cells[:, 2]] = True
    fine = coarse.repeat(step, 0).repeat(step, 1).repeat(step, 2)
    grid |= fine[: grid.shape[0], : grid.shape[1], : grid.shape[2]]

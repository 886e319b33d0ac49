"""Visual-hull votes on a dense voxel grid: which views see each voxel inside their mask.

`softfit.init.carve` answers "inside every silhouette?" fast with an octree; segmentation needs more: how
many views vote against each voxel (a hull that tolerates a few wrong masks), and the hull carved from
all views *but one* (to judge that one view's mask without its own vote). Keeping the per-view votes on
a dense grid answers both from one projection pass. Grids stay small (<= 64³): the hull is a prior for
the next segmentation round and a judge of agreement, not the final shape."""

from __future__ import annotations

import cv2
import numpy as np

from softfit.cameras import Cameras
from softfit.silhouettes.common import disk, per_view
from softfit.silhouettes.supportplane import Plane, in_plane_axes


class VoxelVotes:
    """A cubic-voxel grid over the box [lo, hi] and each voxel centre's pixel in every view."""

    def __init__(self, cameras: Cameras, lo: np.ndarray, hi: np.ndarray, resolution: int = 56):
        lo, hi = np.asarray(lo, float), np.asarray(hi, float)
        self.h = float((hi - lo).max()) / resolution
        self.dims = np.maximum(1, np.ceil((hi - lo) / self.h - 1e-9).astype(int))
        axes = [lo[k] + (np.arange(self.dims[k]) + 0.5) * self.h for k in range(3)]
        self.centers = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
        self.cameras = cameras
        w, hgt = cameras.width, cameras.height
        n = len(cameras)
        w2c = cameras.w2c.astype(np.float32)
        pts = self.centers.astype(np.float32)

        def project(i: int) -> tuple[np.ndarray, float]:  # a (V, 3) matmul per view: no (N, V, 3) temporaries
            pc = pts @ w2c[i, :3, :3].T + w2c[i, :3, 3]
            depth = -pc[:, 2]
            safe = np.where(depth > 1e-6, depth, 1.0)
            x = cameras.cx[i] + cameras.fx[i] * pc[:, 0] / safe
            y = cameras.cy[i] - cameras.fy[i] * pc[:, 1] / safe
            ok = (depth > 1e-6) & (x >= 0) & (x < w) & (y >= 0) & (y < hgt)
            return (np.where(ok, y.astype(np.int32) * w + x.astype(np.int32), -1).astype(np.int32),
                    float(np.median(depth[ok])) if ok.any() else np.nan)

        done = per_view(project, n)
        self.pixel = np.stack([d[0] for d in done]) if n else np.empty((0, len(self.centers)), np.int32)
        depth_med = np.array([d[1] for d in done], float)
        f = np.maximum(np.abs(cameras.fx), np.abs(cameras.fy))
        self.voxel_px = np.nan_to_num(self.h * f / depth_med, nan=1.0)  # (N,) a voxel's size in pixels

    def inside(self, masks: np.ndarray) -> np.ndarray:
        """(N, V) bool: the voxel centre projects onto the view's mask (off the image = outside)."""
        flat = np.asarray(masks, bool).reshape(len(masks), -1)
        rows = np.arange(len(flat))[:, None]
        return np.where(self.pixel >= 0, flat[rows, np.maximum(self.pixel, 0)], False)

    def hull(self, inside: np.ndarray, max_misses: int, leave_out: int | None = None) -> np.ndarray:
        """(V,) voxels inside all views' masks but at most `max_misses`; `leave_out`: ignore that view."""
        misses = (~inside).sum(0)
        if leave_out is not None:
            misses = misses - (~inside[leave_out])
        return misses <= max_misses

    def others(self, inside: np.ndarray, max_misses: int, view: int) -> np.ndarray:
        """(H, W) bool: the hull of the other views' masks (`hull` leaving `view` out) as `view` sees it:
        what the rest of the capture says that view's mask should be."""
        return self.project(self.hull(inside, max_misses, leave_out=view), view)

    def grid(self, occ: np.ndarray) -> np.ndarray:
        return occ.reshape(tuple(self.dims))

    def project(self, occ: np.ndarray, view: int) -> np.ndarray:
        """(H, W) bool: the occupied voxels as seen by `view`: the pixels their centres fall on, with the
        gaps between neighbouring centres closed (no net growth: a voxel counts by its centre, as in
        `softfit.init.carve`, and a prior fattened by half a voxel measured worse)."""
        w, hgt = self.cameras.width, self.cameras.height
        out = np.zeros(hgt * w, np.uint8)
        px = self.pixel[view][occ]
        out[px[px >= 0]] = 1
        out = out.reshape(hgt, w)
        r = int(np.ceil(0.71 * self.voxel_px[view]))  # half a voxel's diagonal bridges neighbours
        if r > 0 and out.any():
            pad = r + 1
            out = cv2.copyMakeBorder(out, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
            out = cv2.morphologyEx(out, cv2.MORPH_CLOSE, disk(r))[pad:-pad, pad:-pad]
        return out.astype(bool)

    def bounds(self, occ: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """(lo, hi) of the occupied voxels' cells, or None when none is occupied."""
        if not occ.any():
            return None
        c = self.centers[occ]
        return c.min(0) - 0.5 * self.h, c.max(0) + 0.5 * self.h


def cut_support(votes: VoxelVotes, occ: np.ndarray, up: np.ndarray, slab: float = 0.1, wider: float = 1.5,
                min_layers: int = 15, plane: Plane | None = None) -> np.ndarray:
    """Remove a support plane's footprint from the hull (the object rests on it; cameras look down).

    A shadow, a reflection or a patch of floor that the masks took in is flat on the support, and the
    hull of a flat patch seen from above is a double tent: widest in the plane, thinning above and below
    it. Without a known `plane`, the support is the highest hull layer (along `up`) whose cross-section
    is `wider` times larger than every layer more than `slab` of the hull's height (at least 3 voxels)
    above it; without such a layer nothing is cut (a cone's base is not much wider than the cone just
    above it). A known `plane` (`supportplane.find_support`, from the capture's 3-D points) gives the
    layer and the up direction directly, whatever the skirt's width. Everything below the layer goes
    (nothing of the object is under its support), and so does whatever within `slab` above it sticks
    out sideways from the object above."""
    if not occ.any():
        return occ
    up = np.asarray(up if plane is None else plane.normal, float)
    up = up / np.linalg.norm(up)
    c = votes.centers
    t = c @ up
    base = t[occ].min() if plane is None else min(t[occ].min(), plane.offset)
    layer = np.floor((t - base) / votes.h + 0.5).astype(int)
    top = int(layer[occ].max())
    if plane is None and top + 1 < min_layers:
        return occ
    s = max(2, int(round(slab * (top + 1))))
    area = np.bincount(layer[occ], minlength=top + 1).astype(float)
    if plane is None:
        above = np.zeros(top + 2)
        for k in range(top, -1, -1):  # above[k]: the widest layer from k up
            above[k] = max(above[k + 1], area[k])
        support = int(np.argmax(area))
        if support + s > top or area[support] <= wider * above[support + s]:
            return occ
    else:
        support = int(np.floor((plane.offset - base) / votes.h + 0.5))
        if support >= top:
            return occ  # the whole hull lies under the plane: no object above it to keep
    # In-plane cell of every voxel: two axes orthogonal to up, binned at the voxel size.
    a, b = in_plane_axes(up)
    u = np.floor(c @ a / votes.h).astype(np.int64)
    v = np.floor(c @ b / votes.h).astype(np.int64)
    u, v = u - u.min(), v - v.min()
    upper = occ & (layer >= support + s)
    covered = np.zeros((int(u.max()) + 1, int(v.max()) + 1), np.uint8)
    covered[u[upper], v[upper]] = 1
    covered = cv2.dilate(covered, np.ones((3, 3), np.uint8)).astype(bool)  # binning slack
    skirt = occ & (layer < support + s) & ~covered[u, v]
    return occ & ~skirt & (layer >= support)

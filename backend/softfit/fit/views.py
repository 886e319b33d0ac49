"""Which views train and which are held out, and the training targets at each render size."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from softfit.cameras import Cameras
from softfit.projection import camera_tensors


def holdout_count(n_views: int, fraction: float) -> int:
    """round(fraction·N), at least 1 when N >= 5 and fraction > 0, always leaving a training view."""
    if fraction <= 0 or n_views < 2:
        return 0
    k = int(round(fraction * n_views))
    if n_views >= 5:
        k = max(k, 1)
    return min(k, n_views - 1)


# Fewer training views leave the shape between them loosely held: their silhouettes fit many shapes.
# Measured (fits from k evenly spaced views, scored on all views; the fitted views matched at 0.99 every
# time): a 24-view turntable mug 0.709 / 0.943 / 0.969 / 0.982 / 0.991 from 2 / 4 / 6 / 8 / 12 views, a
# 72-view three-ring Suzanne 0.570 / 0.917 / 0.925 / 0.967 / 0.974.
FEW_VIEWS = 8
MAX_GAP_DEG = 120.0  # an arc around the object this wide with no training camera: its side is a guess


def azimuth_gap(cameras: Cameras) -> float | None:
    """The widest arc (degrees) around the object, about the cameras' common up, with no camera in it;
    None when the cameras do not agree on an up direction or fewer than two stand off the up axis.

    Up is what the cameras' image rows are level with (a camera held without roll has its x axis
    horizontal), nearest their mean up: the mean alone tilts towards the cameras of a part orbit."""
    mean = cameras.c2w[:, :3, 1].mean(0)
    if np.linalg.norm(mean) < 0.5:
        return None
    right = cameras.c2w[:, :3, 0]
    lam = 0.01 * len(right)
    up = np.linalg.solve(right.T @ right + lam * np.eye(3), lam * mean / np.linalg.norm(mean))
    up = up / np.linalg.norm(up)
    d = cameras.centers - look_center(cameras)
    flat = d - (d @ up)[:, None] * up
    keep = np.linalg.norm(flat, axis=1) > 0.1 * np.linalg.norm(d, axis=1)  # not straight above or below
    if keep.sum() < 2:
        return None
    a = np.cross(up, [1.0, 0.0, 0.0] if abs(up[0]) < 0.9 else [0.0, 1.0, 0.0])
    a /= np.linalg.norm(a)
    b = np.cross(up, a)
    az = np.sort(np.degrees(np.arctan2(flat[keep] @ b, flat[keep] @ a)))
    return float(np.diff(np.concatenate([az, az[:1] + 360.0])).max())


def coverage_warnings(cameras: Cameras, train: np.ndarray, held: np.ndarray) -> list[str]:
    """What the views cannot vouch for, for the user: a fit to the silhouettes of very few views, or of
    views on one side of the object, matches them (a high IoU) whatever the shape is elsewhere."""
    out = []
    n = len(train)
    if n < FEW_VIEWS:
        checked = (f" ({len(held)} more held out to check it)" if len(held) else
                   "; no view could be held out to check it")
        out.append(f"only {n} view(s) constrain the shape{checked}: between them it is loosely held (the "
                   f"silhouettes of so few views fit many shapes, so their IoU flatters); photograph the "
                   f"object from {FEW_VIEWS + 4} or more directions around it")
    gap = azimuth_gap(cameras.subset(train)) if n >= 2 else None
    if gap is not None and gap > MAX_GAP_DEG:
        out.append(f"no view sees {gap:.0f} degrees of the way around the object: that side of the mesh is a "
                   "guess; add photos from there")
    return out


def look_center(cameras: Cameras) -> np.ndarray:
    """The point closest (least squares) to all optical axes: what the cameras look at."""
    c = cameras.centers
    d = -cameras.c2w[:, :3, 2]
    d = d / np.linalg.norm(d, axis=1, keepdims=True)
    proj = np.eye(3)[None] - d[:, :, None] * d[:, None, :]
    a, b = proj.sum(0), np.einsum("nij,nj->i", proj, c)
    if np.linalg.cond(a) > 1e8:  # parallel axes: no unique point, use a point ahead of the cameras
        return (c + d).mean(0)
    return np.linalg.solve(a, b)


def split_views(cameras: Cameras, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, held-out) view indices. Held-out views are spread around the object by farthest-point
    sampling of the viewing directions from a seeded start, so they never cluster on one side (a
    clustered holdout would score the least-constrained region only)."""
    n = len(cameras)
    k = holdout_count(n, fraction)
    if k == 0:
        return np.arange(n), np.zeros(0, dtype=np.int64)
    dirs = cameras.centers - look_center(cameras)
    dirs = dirs / np.maximum(np.linalg.norm(dirs, axis=1, keepdims=True), 1e-12)
    rng = np.random.default_rng(seed)
    chosen = [int(rng.integers(n))]
    dist = np.arccos(np.clip(dirs @ dirs[chosen[0]], -1, 1))
    while len(chosen) < k:
        dist[chosen] = -1.0
        nxt = int(np.argmax(dist))
        chosen.append(nxt)
        dist = np.minimum(dist, np.arccos(np.clip(dirs @ dirs[nxt], -1, 1)))
    held = np.sort(np.asarray(chosen, dtype=np.int64))
    return np.setdiff1d(np.arange(n), held), held


def render_size(width: int, height: int, long_side: int) -> tuple[int, int]:
    """(w, h) with the longer side = long_side (0 or larger than the data = unchanged), aspect kept."""
    long = max(width, height)
    if long_side <= 0 or long_side >= long:
        return width, height
    s = long_side / long
    return max(1, int(round(width * s))), max(1, int(round(height * s)))


@dataclass
class Targets:
    """Silhouettes and camera tensors of some views at one render size."""

    silhouettes: torch.Tensor  # (N, h, w)
    w2c: torch.Tensor  # (N, 4, 4)
    intrinsics: torch.Tensor  # (N, 4)
    width: int
    height: int


def make_targets(silhouettes: np.ndarray, cameras: Cameras, long_side: int, dtype: torch.dtype,
                 device: torch.device) -> Targets:
    """Area-downsample the silhouettes (soft targets at the edges) and scale the intrinsics to match."""
    w, h = render_size(cameras.width, cameras.height, long_side)
    sil = torch.as_tensor(silhouettes, dtype=dtype, device=device)
    if (w, h) != (cameras.width, cameras.height):
        sil = F.interpolate(sil[:, None], size=(h, w), mode="area")[:, 0]
        cameras = cameras.resized(w, h)
    like = torch.empty(0, dtype=dtype, device=device)
    w2c, intr = camera_tensors(cameras, like)
    return Targets(sil.contiguous(), w2c, intr, w, h)

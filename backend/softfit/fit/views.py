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

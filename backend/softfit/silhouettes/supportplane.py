"""The plane the object stands on, found among a capture's 3-D points (a COLMAP model's `points3D`).

Structure from motion reconstructs the textured floor or table around an object far better than the
object itself, so its points hold a large plane under the object: the support. Knowing it, segmentation
can cut away whatever the masks took from it (the floor, shadows, reflections) at its true height,
where the hull-only rule (`voxelvotes.cut_support` without a plane) has to guess the height from the
hull's widest layer and cuts nothing when the skirt is not much wider than the object.

RANSAC over the points near the object (within `reach` object radii of the point the cameras converge
on, and below it), keeping only planes within `max_tilt` of the cameras' up; the winner is refitted to
its inliers by least squares. Too few inliers, no plane."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Plane:
    """normal (3,) unit, pointing up (towards the cameras); offset: the plane is normal . x = offset;
    inliers: the points that support it."""

    normal: np.ndarray
    offset: float
    inliers: int


def in_plane_axes(up: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a, b): two unit axes orthogonal to the unit `up` and to each other, spanning planes normal to it."""
    a = np.cross(up, [1.0, 0.0, 0.0] if abs(up[0]) < 0.9 else [0.0, 1.0, 0.0])
    a /= np.linalg.norm(a)
    return a, np.cross(up, a)


def _plane_through(p: np.ndarray) -> tuple[np.ndarray, float] | None:
    n = np.cross(p[1] - p[0], p[2] - p[0])
    norm = float(np.linalg.norm(n))
    if norm < 1e-12:
        return None
    n = n / norm
    return n, float(n @ p[0])


def find_support(points: np.ndarray, up: np.ndarray, center: np.ndarray, radius: float,
                 reach: float = 3.0, tol: float = 0.02, max_tilt: float = 25.0, min_inliers: int = 30,
                 min_share: float = 0.3, iterations: int = 400, seed: int = 0) -> Plane | None:
    """The support plane among `points` (P, 3), or None (see the module docstring). `up`: the cameras'
    up; `center`, `radius`: the object region (`convergence.ObjectRegion`); `tol`: inlier distance as a
    fraction of `radius`; a plane needs `min_inliers` points and `min_share` of the points considered."""
    pts = np.asarray(points, float).reshape(-1, 3)
    pts = pts[np.isfinite(pts).all(1)]
    up = np.asarray(up, float) / np.linalg.norm(up)
    rel = pts - center
    below = (rel @ up < 0) & (np.linalg.norm(rel, axis=1) < reach * radius)
    near = pts[below]
    if len(near) < max(min_inliers, 3):
        return None
    eps = tol * radius
    cos_tilt = np.cos(np.radians(max_tilt))
    rng = np.random.default_rng(seed)
    best: tuple[int, np.ndarray] | None = None
    for _ in range(iterations):
        cand = _plane_through(near[rng.choice(len(near), 3, replace=False)])
        if cand is None or abs(float(cand[0] @ up)) < cos_tilt:
            continue
        inl = np.abs(near @ cand[0] - cand[1]) < eps
        if best is None or inl.sum() > best[0]:
            best = (int(inl.sum()), inl)
    if best is None or best[0] < max(min_inliers, min_share * len(near)):
        return None
    sel = near[best[1]]
    mean = sel.mean(0)
    normal = np.linalg.svd(sel - mean, full_matrices=False)[2][-1]  # least-squares refit
    if normal @ up < 0:
        normal = -normal
    if normal @ up < cos_tilt:
        return None
    return Plane(normal, float(normal @ mean), int(best[0]))

"""Where the object is in 3-D before any mask exists: the point every camera looks at.

A capture is aimed at its object, so the point closest (least squares) to all optical axes is inside or
near it (on a turntable it lies on the turntable's axis). The region around it that every view shows
whole bounds the object: a sphere that projects inside every image. Both come from the cameras alone,
so segmentation can start from them; cameras whose axes do not meet ahead of them have no common object,
and that is reported as bad input instead of being guessed around."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from softfit.cameras import Cameras
from softfit.errors import InputError


@dataclass(frozen=True)
class ObjectRegion:
    """center (3,) world point the axes converge on; radius: the largest sphere around it that projects
    inside every image (world units); depth (N,) its distance along each view's axis; spread: RMS
    distance of the axes from the centre over the mean depth (0 = all axes meet exactly)."""

    center: np.ndarray
    radius: float
    depth: np.ndarray
    spread: float

    def projected(self, cameras: Cameras) -> tuple[np.ndarray, np.ndarray]:
        """((N, 2) pixel position of the centre, (N,) pixel radius of the sphere) in every view."""
        p = cameras.project_points(self.center[None])[:, 0]
        f = np.minimum(np.abs(cameras.fx), np.abs(cameras.fy))
        return p[:, :2], self.radius * f / np.maximum(p[:, 2], 1e-9)


def axes_convergence(cameras: Cameras) -> tuple[np.ndarray, float]:
    """(point closest to all optical axes, RMS axis distance over mean camera distance)."""
    c = cameras.centers
    d = -cameras.c2w[:, :3, 2]
    d = d / np.linalg.norm(d, axis=1, keepdims=True)
    proj = np.eye(3)[None] - d[:, :, None] * d[:, None, :]  # removes the along-axis part of an offset
    a, b = proj.sum(0), np.einsum("nij,nj->i", proj, c)
    if len(cameras) < 2 or np.linalg.cond(a) > 1e8:
        raise InputError("the cameras' optical axes are parallel: they do not converge on one object "
                         "(segmentation needs views aimed at the object from different directions)")
    x = np.linalg.solve(a, b)
    off = np.einsum("nij,nj->ni", proj, x[None] - c)
    dist = np.linalg.norm(x[None] - c, axis=1)
    return x, float(np.sqrt((off**2).sum(1).mean()) / max(dist.mean(), 1e-12))


def object_region(cameras: Cameras, names: list[str] | None = None, max_spread: float = 0.5) -> ObjectRegion:
    """The convergence point and the sphere around it that every view shows whole.

    InputError when the axes miss each other by more than `max_spread` of the viewing distance, or the
    point is behind or outside some view (those views cannot see the common object)."""
    center, spread = axes_convergence(cameras)
    if spread > max_spread:
        raise InputError(f"the cameras do not converge on one object (their optical axes pass on average "
                         f"{spread:.2f} x the viewing distance from their closest common point)")
    p = cameras.project_points(center[None])[:, 0]
    x, y, depth = p[:, 0], p[:, 1], p[:, 2]
    w, h = cameras.width, cameras.height
    edge = np.minimum.reduce([x, w - x, y, h - y])
    bad = np.flatnonzero((depth <= 0) | (edge <= 0))
    if len(bad):
        which = ", ".join(names[i] if names else str(i) for i in bad[:8])
        raise InputError(f"the point the cameras converge on is behind or outside view(s) {which}: "
                         "these views do not show the common object")
    f = np.maximum(np.abs(cameras.fx), np.abs(cameras.fy))
    radius = float(np.min(edge * depth / f))
    return ObjectRegion(center, radius, depth, spread)

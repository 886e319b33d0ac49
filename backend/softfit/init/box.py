"""The 3-D axis-aligned box consistent with every view's silhouette bounding box.

Each view's 2-D bounding box, seen through its camera, is a pyramid with four planes through the camera
centre; the object lies in the intersection of all these pyramids, a convex polytope. Its axis-aligned
bounding box comes exactly from six small linear programs (min/max of x, y, z subject to 4 half-spaces per
view), which is tighter than any single view and needs no voxel grid. A box side whose silhouette touches
the image border gives no constraint (the object may go on beyond the image)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog

from softfit.cameras import Cameras
from softfit.data.framing import leaves_frame
from softfit.errors import InputError
from softfit.pixelbox import around


def mask_bboxes(silhouettes: np.ndarray) -> np.ndarray:
    """(N, 4) pixel-edge boxes x0, y0, x1, y1 (x1, y1 exclusive) of the object in each view.

    InputError when a view's silhouette is empty."""
    m = np.asarray(silhouettes) > 0.5
    out = np.empty((len(m), 4))
    for i, v in enumerate(m):
        box = around(v)
        if box is None:
            raise InputError(f"silhouette of view {i} is empty: cannot place an initial mesh")
        out[i] = box[1].start, box[0].start, box[1].stop, box[0].stop
    return out


def half_spaces(cameras: Cameras, boxes: np.ndarray, margin_px: float = 1.0, near: float = 1e-3
                ) -> tuple[np.ndarray, np.ndarray]:
    """(A, b) with A @ X <= b for every world point X that projects inside every (widened) 2-D box.

    With camera coordinates p = R X + t and depth d = -p_z > 0, x_px = cx + fx p_x / d >= x0 is
    fx p_x + (x0 - cx) p_z >= 0; the other sides likewise (y_px = cy - fy p_y / d)."""
    w2c = cameras.w2c
    rows, rhs = [], []
    for i in range(len(cameras)):
        r, t = w2c[i, :3, :3], w2c[i, :3, 3]
        fx, fy, cx, cy = cameras.fx[i], cameras.fy[i], cameras.cx[i], cameras.cy[i]
        x0, y0, x1, y1 = boxes[i]
        sx, sy = np.sign(fx), np.sign(fy)
        # Each constraint as g(p) = c · p >= 0, with p linear in X.
        cons = []
        if x0 > 0:
            cons.append(sx * np.array([fx, 0.0, x0 - margin_px - cx]))
        if x1 < cameras.width:
            cons.append(-sx * np.array([fx, 0.0, x1 + margin_px - cx]))
        if y0 > 0:
            cons.append(sy * np.array([0.0, -fy, y0 - margin_px - cy]))
        if y1 < cameras.height:
            cons.append(-sy * np.array([0.0, -fy, y1 + margin_px - cy]))
        cons.append(np.array([0.0, 0.0, -1.0]) * 1.0)  # depth -p_z >= near, handled via rhs below
        for k, c in enumerate(cons):
            # c · (R X + t) >= off  <=>  -(c R) X <= c · t - off
            off = near if k == len(cons) - 1 else 0.0
            rows.append(-(c @ r))
            rhs.append(c @ t - off)
    return np.asarray(rows), np.asarray(rhs)


def fit_box(cameras: Cameras, silhouettes: np.ndarray, margin_px: float = 1.0
            ) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) world corners of the tightest axis-aligned box around every point that projects inside
    all views' silhouette bounding boxes (widened by `margin_px` for pixel quantisation).

    InputError when the boxes are inconsistent (no common point: wrong cameras or a failed mask) or when
    the views do not bound the object (e.g. a single view)."""
    boxes = mask_bboxes(silhouettes)
    a, b = half_spaces(cameras, boxes, margin_px)
    scale = np.linalg.norm(a, axis=1, keepdims=True)
    a, b = a / scale, b / scale[:, 0]
    reach = 1e3 * max(1.0, float(np.abs(cameras.centers).max()))
    bounds = [(-reach, reach)] * 3
    lo, hi = np.empty(3), np.empty(3)
    for k in range(3):
        for sign, out in ((1.0, lo), (-1.0, hi)):
            c = np.zeros(3)
            c[k] = sign
            res = linprog(c, A_ub=a, b_ub=b, bounds=bounds, method="highs")
            if res.status == 2:
                raise InputError("the silhouettes' bounding boxes have no common point through these cameras "
                                 "(wrong cameras, or a failed silhouette)")
            if res.status != 0:
                raise InputError(f"could not bound the object from the silhouettes: {res.message}")
            out[k] = res.x[k]
    if np.any(np.isclose(np.abs(np.concatenate([lo, hi])), reach, rtol=1e-6)):
        why = leaves_frame(silhouettes) or "too few or too similar viewpoints"  # a border side binds nothing
        raise InputError(f"the views do not bound the object in 3-D ({why})")
    return lo, hi

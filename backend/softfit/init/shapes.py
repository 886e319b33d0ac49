"""The sphere-based initial meshes: `sphere` (fixed), `bbox2d` (the original method's rule) and `bbox`
(an ellipsoid filling the 3-D box that all views agree on)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from softfit.data.types import MultiViewData
from softfit.errors import InputError
from softfit.init.box import fit_box, mask_bboxes
from softfit.mesh.sphere import uv_sphere
from softfit.mesh.types import Mesh


def sphere(data: MultiViewData, polys: int, radius: float = 0.5,
           center: Sequence[float] = (0.0, 0.0, 0.0)) -> Mesh:
    """A fixed UV sphere, whatever the images show (SoftRas' start: radius 0.5 at the origin)."""
    return uv_sphere(polys, radius, center)


def bbox2d(data: MultiViewData, polys: int, view: int = 0, radius: float = 0.5, depth: float | None = None
           ) -> Mesh:
    """The original method's baseline: the UV sphere scaled in x/y and shifted by the object's 2-D bounding
    box in ONE image (`view`), back-projected at the object's depth.

    The image's x/y are the camera's right/up axes; along them the sphere's radius becomes the bounding
    box's half width/height and its centre the back-projection of the box centre, both at `depth` (by
    default the depth of the world origin in that camera, i.e. the turntable centre, which is all a single
    view knows). The sphere is not scaled along the viewing direction: the original scaled only x/y and kept
    the template's `radius` there. An object away from the turntable centre in depth, or thinner or deeper
    than `radius`, is therefore misplaced in the other views, which is the failure this baseline shows."""
    n = len(data)
    if not -n <= view < n:
        raise InputError(f"bbox2d view {view} out of range for {n} views")
    cams = data.cameras
    x0, y0, x1, y1 = mask_bboxes(data.silhouettes[view][None])[0]
    c2w = cams.c2w[view]
    right, up, back = c2w[:3, 0], c2w[:3, 1], c2w[:3, 2]
    eye = c2w[:3, 3]
    if depth is None:
        depth = float(-(cams.w2c[view, :3, :3] @ np.zeros(3) + cams.w2c[view, :3, 3])[2])
    if not depth > 0:
        raise InputError(f"bbox2d depth must be positive (object in front of view {view}), got {depth}")
    fx, fy, cx, cy = cams.fx[view], cams.fy[view], cams.cx[view], cams.cy[view]
    rx = 0.5 * (x1 - x0) * depth / abs(fx)
    ry = 0.5 * (y1 - y0) * depth / abs(fy)
    u, v = 0.5 * (x0 + x1), 0.5 * (y0 + y1)
    center = eye + depth * ((u - cx) / fx * right - (v - cy) / fy * up - back)
    unit = uv_sphere(polys, 1.0)
    p = unit.verts
    # Scale along right/up only; the component along the viewing axis keeps the template radius.
    verts = center + (p @ right)[:, None] * rx * right + (p @ up)[:, None] * ry * up \
        + (p @ back)[:, None] * radius * back
    return Mesh(verts, unit.faces)


def bbox(data: MultiViewData, polys: int, fill: float = 1.0, margin_px: float = 1.0) -> Mesh:
    """An ellipsoid inscribed in the 3-D box consistent with every view's silhouette bounding box
    (`box.fit_box`), its semi-axes `fill` times the box's half extents."""
    if not fill > 0:
        raise InputError(f"bbox fill must be positive, got {fill}")
    lo, hi = fit_box(data.cameras, data.silhouettes, margin_px)
    unit = uv_sphere(polys, 1.0)
    return Mesh(0.5 * (lo + hi) + unit.verts * (0.5 * fill * (hi - lo)), unit.faces)

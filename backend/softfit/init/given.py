"""A mesh the user gives as the start (`--init mesh.obj`) must sit in the cameras' world: Blender's frame
and the cameras' units. A mesh in centimetres where the cameras are in metres (100 times too large: the
cameras stand inside it) fitted to IoU 0.05 with only "mesh NOT clean" to show for it; one far off to the
side is caught by the fit's own check (no camera sees it). Here its size in the photos is compared with
the silhouettes' before anything is fitted."""

from __future__ import annotations

import numpy as np

from softfit.data.types import MultiViewData
from softfit.errors import InputError
from softfit.mesh.types import Mesh, check_initial_mesh

MAX_RATIO = 4.0  # times the object's size in the photos (either way) that no deliberate start is


def check_given_scale(mesh: Mesh, data: MultiViewData, label: str) -> None:
    """InputError when the mesh's projection is over MAX_RATIO times larger or smaller than the
    silhouettes (median over the views that see both), or when most cameras stand inside its bounding
    box; the message gives the factor and the likely cause."""
    check_initial_mesh(mesh)  # a degenerate mesh is said as such first
    lo, hi = mesh.verts.min(0), mesh.verts.max(0)
    centers = data.cameras.centers
    inside = int(np.all((centers >= lo) & (centers <= hi), axis=1).sum())
    pts = data.cameras.project_points(mesh.verts)  # (N, V, 3): x_px, y_px, depth
    ratios = []
    for i, sil in enumerate(data.silhouettes >= 0.5):
        front = pts[i, :, 2] > 0
        if not sil.any() or front.sum() < 3:
            continue
        ys, xs = np.nonzero(sil)
        object_px = max(np.ptp(xs), np.ptp(ys)) + 1.0
        mesh_px = max(np.ptp(pts[i, front, 0]), np.ptp(pts[i, front, 1]))
        ratios.append(mesh_px / object_px)
    ratio = float(np.median(ratios)) if ratios else 1.0
    if inside <= len(centers) // 2 and 1.0 / MAX_RATIO <= ratio <= MAX_RATIO:
        return
    enclosing = inside > len(centers) // 2  # its projection then says little: points near the cameras
    size = ("much larger than the object" if enclosing else
            f"about {ratio:.2g} times the object's size in the photos" if ratios else "not in the photos")
    where = f"; {inside} of {len(centers)} cameras stand inside its bounding box" if inside else ""
    larger = enclosing or ratio > 1
    hint = ("is it in other units (centimetres where the cameras are in metres: scale by 0.01)" if larger
            else "is it in other units (metres where the cameras are in centimetres)")
    raise InputError(f"initial mesh {label} is {size}{where}: {hint}, or in another frame (SoftFit's is "
                     "Blender's: Z up)? Scale or move it to the cameras' world, or let SoftFit place one "
                     "from the silhouettes (--init hull or bbox)")

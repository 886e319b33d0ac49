"""A mesh the user gives as the start (`--init mesh.obj`) must sit in the cameras' world: Blender's frame
and the cameras' units. A mesh in centimetres where the cameras are in metres (100 times too large: the
cameras stand inside it) fitted to IoU 0.05 with only "mesh NOT clean" to show for it; one far off to the
side is caught by the fit's own check (no camera sees it). Here its size in the photos is compared with
the silhouettes' before anything is fitted, and so is its orientation: most OBJ exporters write Y up,
SoftFit's world is Blender's, Z up, and a Suzanne saved Y-up fitted to 0.85 with self-intersections."""

from __future__ import annotations

import numpy as np

from softfit.data.types import MultiViewData
from softfit.errors import InputError
from softfit.mesh.types import Mesh, check_initial_mesh

MAX_RATIO = 4.0  # times the object's size in the photos (either way) that no deliberate start is
BETTER_BY = 0.2  # a start that covers the silhouettes this much better turned from Y up to Z up ...
GOOD_IOU = 0.8  # ... and then at least this well was saved Y-up (Suzanne: 0.57 as given, 0.997 turned)


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


def y_up_to_z_up(verts: np.ndarray) -> np.ndarray:
    """A Y-up file's coordinates in a Z-up world (what Blender's OBJ importer does by default)."""
    return np.column_stack([verts[:, 0], -verts[:, 2], verts[:, 1]])


def check_given_orientation(mesh: Mesh, data: MultiViewData, label: str) -> None:
    """InputError when the mesh covers the silhouettes well turned from Y up to Z up and much worse as
    given (mean IoU of its hard silhouettes over the views)."""
    from softfit.metrics import render_silhouettes

    target = data.silhouettes >= 0.5

    def iou(verts: np.ndarray) -> float:
        r = render_silhouettes(Mesh(verts, mesh.faces), data.cameras) >= 0.5
        return float(np.mean((r & target).sum((1, 2)) / np.maximum((r | target).sum((1, 2)), 1)))

    given, turned = iou(mesh.verts), iou(y_up_to_z_up(mesh.verts))
    if turned >= GOOD_IOU and turned >= given + BETTER_BY:
        raise InputError(f"initial mesh {label} covers the silhouettes poorly as given (IoU {given:.2f}) but "
                         f"well turned from Y up to Z up (IoU {turned:.2f}): it was saved Y-up, most OBJ "
                         "exporters' default, and SoftFit's world is Blender's, Z up. Export it with Z up "
                         "(Blender: Up Axis Z), or let SoftFit place one (--init hull or bbox)")

"""An object stands on its support: the part of a hull that floats above the plane it rests on.

A part of the object that every view loses alike (a bucket's lower half with the colour of the floor
tiles behind it) is lost from the visual hull as well, and no agreement between views can bring it
back: they all agree. Two facts can. The cameras aim at the object, so masks that all sit above the
point they aim at (`confidence.aim_side`) miss something below; and an object rests on its support, so
a hull that ends above the support plane is missing what lies between. That gap, under the hull's
footprint, is taken as object (`under`), and `multiview` makes its projection's core sure object in
every view, which lets GrabCut learn the lost part's colours, except the pixels that see the support
plane itself (`supportsweep.plane_pixels`): an object that touches its support with a small part (a
Suzanne on its chin) has a footprint far wider than its base, and the column under all of it is mostly
floor, which looks like the floor from every camera, as a lost side wall does not (measured on a
two-tone Suzanne on a tiled floor: mask IoU 0.81 without the rule, 0.76 with the whole column forced,
0.86 without its floor pixels).

Guards against a wrong plane (the floor under a table found instead of the table top): the gap must be
at least `MIN_GAP` voxels (less is the plane's or the hull's own error) and at most `MAX_GAP` times the
hull's height, and filling it must bring the hull's centre closer to the point the cameras aim at.
When they reject the floor, `multiview` looks for the table's top near the object (`topsweep`)."""

from __future__ import annotations

import numpy as np

from softfit.silhouettes.supportplane import in_plane_axes
from softfit.silhouettes.voxelvotes import VoxelVotes

MIN_GAP = 2.0  # voxels
# The support's height found in the photos (`supportsweep.find_height`) needs this share of agreeing
# textured pixels: on the development scenes the true support gave 0.06-0.34 where one was visible
# (a wooden table mostly hidden by a large cube: 0.09), and fixed-camera turntables whose light turns
# with the camera 0.01-0.03.
MIN_SHARE = 0.05
MAX_GAP = 1.5  # x the hull's height along up: a lost half (the bucket) and more, not a floor far down


def under(votes: VoxelVotes, occ: np.ndarray, up: np.ndarray, height: float, aim: np.ndarray
          ) -> np.ndarray | None:
    """(V,) bool: the voxels between the hull `occ` and the plane up . x = `height`, under the hull's
    footprint (its cells on the plane), when the whole hull floats above the plane (module docstring);
    None when it does not, or when filling the gap would not bring the hull's centre closer to `aim`."""
    if not occ.any():
        return None
    up = np.asarray(up, float) / np.linalg.norm(up)
    t = votes.centers @ up
    bottom, top = float(t[occ].min()), float(t[occ].max())
    gap = bottom - height
    if gap < MIN_GAP * votes.h or gap > MAX_GAP * max(top - bottom, votes.h):
        return None
    a, b = in_plane_axes(up)
    u = np.floor(votes.centers @ a / votes.h).astype(np.int64)
    v = np.floor(votes.centers @ b / votes.h).astype(np.int64)
    span = int(v.max() - v.min()) + 1
    cell = (u - u.min()) * span + (v - v.min())
    add = np.isin(cell, np.unique(cell[occ])) & (t >= height) & (t < bottom) & ~occ
    if not add.any():
        return None
    a_t = float(np.asarray(aim, float) @ up)
    if abs(float(t[occ | add].mean()) - a_t) >= abs(float(t[occ].mean()) - a_t):
        return None
    return add

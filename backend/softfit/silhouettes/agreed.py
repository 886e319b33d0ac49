"""Parts of the object a few views lost, given back from the hull of all the masks.

A view's GrabCut loses a part of the object whose colours its own background also has: a mug's pale rim
against pale tiles, a bucket's cream half against the table behind it. The hull-prior rounds cannot
bring it back: inside the prior it is only probable object (the prior is looser than the object, so it
never forces a pixel in on its own), and the view's colour models call it background again. After the
last round, the hull carved from every mask, each voxel allowed to fall outside a few of them (`misses`),
is what the other views agree on: what it shows deeper than the band inside its outline, outside the
view's mask and not enclosed by it, is given back to the view. A hole the mask opened (enclosed by it)
stays open; the outline itself stays the view's (the band), and so does a view whose mask is empty
(its failure is reported, not papered over with the others' hull).

Not from the hull's lowest `LOW` share along up: a cast shadow or the support's skirt that several
masks took in lies there, and would spread to the views that rightly left it out (measured, the
texture benchmark's torus, whose masks take in its shadow: 0.770 mask IoU with nothing held back,
0.773 with the lowest tenth, 0.784 with the lowest 0.3; every other photo set within 0.003 across
those). Mask IoU against the true masks, before -> after (benchmarks/silhouettes.md, round 15):
small-desk 0.869 -> 0.891, handheld-room 0.947 -> 0.962, dev small torus 0.812 -> 0.855, dev painted
cube 0.956 -> 0.972, dev dark bucket 0.974 -> 0.982; the other 12 photo sets within 0.006 (the satin
torus, whose masks take in its shadow, 0.745 -> 0.739). Forcing the same pixels inside the rounds
instead spread shadows and holes that the early rounds' masks held (glossy-table 0.934 -> 0.876)."""

from __future__ import annotations

import cv2
import numpy as np

from softfit.silhouettes.common import band_pixels, fill_holes
from softfit.silhouettes.voxelvotes import VoxelVotes

LOW = 0.3  # share of the hull's height, from its base along up, never given back (shadows, the skirt)


def restore(votes: VoxelVotes, occ: np.ndarray, masks: np.ndarray, band: float, up: np.ndarray | None
            ) -> tuple[np.ndarray, np.ndarray]:
    """(masks with what the hull `occ` shows deeper than `band` x its equivalent radius inside its
    outline, outside the view's mask and its enclosed holes, (N,) pixels given back per view). `up`:
    the world's up (the hull's lowest `LOW` share along it is left out); None: nothing is left out."""
    out = np.asarray(masks, bool).copy()
    added = np.zeros(len(out), int)
    if not occ.any():
        return out, added
    if up is not None:
        t = votes.centers @ (np.asarray(up, float) / np.linalg.norm(up))
        lo, hi = float(t[occ].min()), float(t[occ].max())
        occ = occ & (t >= lo + LOW * (hi - lo))
    for i in range(len(out)):
        if not out[i].any():
            continue
        prior = votes.project(occ, i)
        if not prior.any():
            continue
        deep = cv2.distanceTransform(prior.astype(np.uint8), cv2.DIST_L2, 5) > band_pixels(prior, band)
        lost = deep & ~fill_holes(out[i])
        added[i] = int(lost.sum())
        out[i] |= lost
    return out, added

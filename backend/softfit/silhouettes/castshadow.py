"""`castshadow`: a shadow the object casts on its support, taken in with the object, is cut off the masks.

A cast shadow keeps the colour of the surface it falls on and only darkens it: its chromaticity is the
background's next to the mask, its brightness a fraction of it. So, in a view whose object differs in
chromaticity from its surroundings, the mask pixels whose chromaticity is nearer the background's just
outside the mask than the object core's, and which are darker than that background, are shadow
candidates where they form regions reaching the outline (a shadow hangs off the object's base).

Colour alone also flags parts of the object that look like the floor in shade (the cream half of a
two-tone bucket on pale tiles, a beige mug on a wooden table). The cameras tell most of them apart: a
shadow lies on the support, so a candidate region must lie where the view sees the lowest part of the
hull (`base_voxels`), and once every view's candidates are cleared no other view keeps that place, while a
part of the object stays in the views that did not flag it: a candidate region that the hull of the other
views' cleared masks covers for the most part is given back.

Measured on `multiview`'s masks (mask IoU against the true masks, 256 px, 44 photoreal scenes: the five
benchmark scenes, the nine development scenes and 30 drawn ones), against the same segmentation without
this step: a glossy cylinder on a wooden floor under the sun 0.789 -> 0.906, a clay knot on a turntable
in the sun 0.836 -> 0.906, a glossy airplane on a table 0.833 -> 0.870 and on a turntable 0.816 -> 0.839,
a painted torus on a table 0.855 -> 0.865; mean +0.006; losses: a glossy chair (-0.011), a two-tone
Suzanne whose cream half faces the floor (-0.008: flagged near the base in the views that see it in
shade, and too few others keep it). With the other views' hull as the only check that Suzanne lost
0.119, and a dark bucket turning on a turntable 0.111 (its inside flagged alike in every view); without
the darkness rule (`DARK`) a dark glossy sphere lost 0.068, its lower rim mirroring the table.
The lit support joined the shadow in round 30 (upper brightness bound 1.3, which took the turntable
seen under a clay Suzanne's overhanging head: drawn-6-6 0.772 -> 0.953) and left it in round 31: on
twelve scenes nobody had looked at (seed 7) it cut the cream lower half of two-tone objects, lit like a
pale support (a cylinder on a wood floor 0.773 -> 0.684, a bucket on a turntable 0.704 -> 0.632, a
Suzanne on a table 0.776 -> 0.762; mask IoU against the true masks, 256 px), mean -0.015 over the
twelve: one scene's gain is not a default's."""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage

from softfit.silhouettes.common import largest_component, nearest_window_mean, per_view, to_linear
from softfit.silhouettes.voxelvotes import VoxelVotes

SEPARATE = 0.08  # the object core's chromaticity must differ from the background's by this much (r+g+b=1)
NEARER = 0.5  # a candidate's chromaticity is this much nearer the background's than the object's
BRIGHTNESS = (0.1, 0.85)  # a candidate's brightness as a fraction of the background's next to it: a
# shadow, deep or faint; not the support in light, which a two-tone object's pale half looks like
DARK = 0.2  # an object's core darker than this x its surroundings has no colour of its own to tell by:
# its lower rim mirrors the support, in the support's colour and darker, as a shadow would be
RING = (2.0, 8.0)  # px outside the mask: where the background next to it is read
WINDOW = 15  # px: the window the background's colour is averaged over
BASE = 0.25  # the hull's lowest part, as a share of its height, where a shadow on the support is seen
COVERED = 0.5  # share of a candidate region the other views' hull must cover to give it back


def _chroma(c: np.ndarray) -> np.ndarray:
    return c / np.maximum(c.sum(-1, keepdims=True), 1e-3)


def _core_and_ring(image: np.ndarray, mask: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """(linear image, distance inside the mask, its core, the ring of background next to it), or None
    when `mask` is empty or whole or has no core or ring."""
    if not mask.any() or mask.all():
        return None
    lin = cv2.GaussianBlur(to_linear(image), (5, 5), 1.0)  # the render's or the sensor's grain
    u8 = mask.astype(np.uint8)
    d_in = cv2.distanceTransform(u8, cv2.DIST_L2, 5)
    d_out = cv2.distanceTransform(1 - u8, cv2.DIST_L2, 5)
    ring = (d_out > RING[0]) & (d_out <= RING[1])
    core = mask & (d_in > 0.3 * d_in.max())
    if not ring.any() or not core.any():
        return None
    return lin, d_in, core, ring


def _dark(lin: np.ndarray, core: np.ndarray, ring: np.ndarray) -> bool:
    return bool(np.median(lin[core].sum(-1)) < DARK * np.median(lin[ring].sum(-1)))


def dark_share(images: np.ndarray, masks: np.ndarray) -> float:
    """Share of the views with a mask whose object is too dark for the colour test (`DARK`): there a
    shadow the object casts is never looked for, and the views agree on one they all took in."""
    parts = [_core_and_ring(im, m) for im, m in zip(images, masks, strict=True)]
    judged = [_dark(p[0], p[2], p[3]) for p in parts if p is not None]
    return float(np.mean(judged)) if judged else 0.0


def candidates(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(H, W) bool: the regions of `mask` that look like the background around it in shadow (module
    docstring); `image` RGB uint8."""
    parts = _core_and_ring(image, mask)
    if parts is None:
        return np.zeros(mask.shape, bool)
    lin, d_in, core, ring = parts
    if _dark(lin, core, ring):
        return np.zeros(mask.shape, bool)  # a dark object's colour is mostly what it mirrors
    back = nearest_window_mean(lin, ring, WINDOW)  # the background next to every pixel
    c, cb = _chroma(lin), _chroma(back)
    cf = np.median(_chroma(lin[core]), 0)
    separate = np.linalg.norm(cf - cb, axis=-1) > SEPARATE
    nearer = np.linalg.norm(c - cb, axis=-1) < NEARER * np.linalg.norm(c - cf, axis=-1)
    ratio = lin.sum(-1) / np.maximum(back.sum(-1), 1e-6)
    flagged = mask & separate & nearer & (ratio > BRIGHTNESS[0]) & (ratio < BRIGHTNESS[1])
    labels, n = ndimage.label(flagged)
    if n == 0:
        return flagged
    touching = np.unique(labels[mask & (d_in <= 1.5)])
    return np.isin(labels, touching[touching > 0])


def clear(images: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """(N, H, W) `masks` less their candidates, opened by a pixel and kept to their largest part (a mask
    the candidates would empty is kept whole)."""

    def one(i: int) -> np.ndarray:
        cut = masks[i] & ~candidates(images[i], masks[i])
        cut = cv2.morphologyEx(cut.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)) > 0
        return largest_component(cut) if cut.any() else masks[i]

    return np.stack(per_view(one, len(masks))) if len(masks) else masks.copy()


def base_voxels(votes: VoxelVotes, occ: np.ndarray, up: np.ndarray, slab: float = BASE) -> np.ndarray:
    """(V,) bool: the lowest `slab` of the hull `occ` (along `up`), where a shadow on the support lies (the
    hull of a flat patch is a double tent about its plane, so its plane is not the hull's lowest layer:
    measured on the development scenes, the lowest 10 % kept few shadows, a slab from the widest layer
    up cut parts of objects that stand on their base)."""
    t = votes.centers @ (np.asarray(up, float) / np.linalg.norm(up))
    lo, hi = t[occ].min(), t[occ].max()
    return occ & (t <= lo + slab * (hi - lo))


def restore(votes: VoxelVotes, masks: np.ndarray, cleared: np.ndarray, misses: int, base: np.ndarray
            ) -> tuple[np.ndarray, int]:
    """(`cleared` with what is not a shadow given back, how many views lost one): each region `clear`
    took from a view is given back when it lies mostly where the view does not see `base` (the voxels
    at the support's height, `base_voxels`), or when the hull of the other views' cleared masks (each
    voxel outside at most `misses` of them) covers most of it."""
    inside = votes.inside(cleared)
    out = cleared.copy()
    for i in np.flatnonzero((cleared != masks).reshape(len(masks), -1).any(1)):
        i = int(i)
        labels, n = ndimage.label(masks[i] & ~cleared[i])
        others = votes.others(inside, misses, i)
        total = np.bincount(labels.ravel(), minlength=n + 1)
        held = np.bincount(labels[others].ravel(), minlength=n + 1)
        low = np.bincount(labels[votes.project(base, i)].ravel(), minlength=n + 1)
        back = (held > COVERED * total) | (low <= COVERED * total)
        back[0] = False
        out[i] |= back[labels]
    return out, int((out != masks).reshape(len(masks), -1).any(1).sum())

"""Where a method's masks go wrong against the true masks, and what putting one kind of error right would
be worth to the fit: the silhouette benchmark's diagnosis, so that the next change aims at the error that
costs the fit most rather than at the one that looks worst.

Every wrong pixel falls in one of three places, for both kinds of error:
- *edge*: within `EDGE_PX` of the other mask's outline (an outline one or two pixels off: a pale rim
  against pale tiles, a glossy edge that reflects its surroundings);
- *hole*: missed object pixels inside a hole the mask opened (a container's inside taken for a hole), or
  extra pixels inside a true hole (the floor seen through a torus or a knot's loops);
- *far*: the rest (a lost part, a swallowed shadow or patch of floor).
The *inward offset* is the edge errors' balance per pixel of the true outline, in pixels: positive when
the masks sit inside the true outline (missed edge pixels outnumber extra ones). Measured on the 14
photoreal scenes (round 24): +0.19 to +0.35 px on seven of them. It is GrabCut's own cut: it stays at
working sizes from 150 to 400 px, and GrabCut handed the true outline +-3 px as its uncertain band
still cuts +0.16 to +0.51 px inside on seven; the fit from the true masks sits within 0.11 px of them.

`corrected` builds the oracle masks: one kind of error put right from the true masks. A fit from them
says what that kind costs; it needs the truth, so it is a diagnosis for the benchmark, never a result."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

from softfit.silhouettes.common import fill_holes

EDGE_PX = 2.0  # px: how close to the other outline a wrong pixel counts as an edge error
_PLACE = {"edges": "edge", "holes": "hole", "far": "far"}  # kind of error -> the place its pixels lie in
KINDS = tuple(_PLACE)


@dataclass
class MaskErrors:
    """Shares of the masks' union with the truth (summed over the views): missed and extra pixels by
    place, and the inward offset (px) of the edge errors."""

    missed_edge: float
    missed_hole: float
    missed_far: float
    extra_edge: float
    extra_hole: float
    extra_far: float
    inward_px: float

    def info(self) -> dict:
        return {k: round(v, 4) for k, v in asdict(self).items()}


def _places(mask: np.ndarray, truth: np.ndarray, edge_px: float) -> dict[str, np.ndarray]:
    """The wrong pixels of one view by kind and place (module docstring)."""
    m, t = np.asarray(mask, bool), np.asarray(truth, bool)
    near_m = cv2.distanceTransform((~m).astype(np.uint8), cv2.DIST_L2, 3) <= edge_px
    near_t = cv2.distanceTransform((~t).astype(np.uint8), cv2.DIST_L2, 3) <= edge_px
    opened = fill_holes(m) & ~m  # holes the mask opened
    true_hole = fill_holes(t) & ~t
    missed, extra = t & ~m, m & ~t
    return {
        "missed_hole": missed & opened, "missed_edge": missed & ~opened & near_m,
        "missed_far": missed & ~opened & ~near_m,
        "extra_hole": extra & true_hole, "extra_edge": extra & ~true_hole & near_t,
        "extra_far": extra & ~true_hole & ~near_t,
    }


def _outline_length(truth: np.ndarray) -> int:
    """Pixels on the inside of the outline (what a 3x3 erosion removes), holes' outlines included."""
    t = np.asarray(truth, bool).astype(np.uint8)
    return int((t.astype(bool) & ~cv2.erode(t, np.ones((3, 3), np.uint8)).astype(bool)).sum())


def classify(masks: np.ndarray, truth: np.ndarray, edge_px: float = EDGE_PX) -> MaskErrors:
    """`MaskErrors` of (N, H, W) `masks` against the (N, H, W) true masks (both thresholded at 0.5)."""
    masks, truth = np.asarray(masks) > 0.5, np.asarray(truth) > 0.5
    if masks.shape != truth.shape:
        raise ValueError(f"masks {masks.shape} and true masks {truth.shape} differ in shape")
    counts: dict[str, int] = {}
    union = outline = 0
    for m, t in zip(masks, truth, strict=True):
        for k, v in _places(m, t, edge_px).items():
            counts[k] = counts.get(k, 0) + int(v.sum())
        union += int((m | t).sum())
        outline += _outline_length(t)
    shares = {k: v / max(union, 1) for k, v in counts.items()}
    inward = (counts["missed_edge"] - counts["extra_edge"]) / max(outline, 1)
    return MaskErrors(**shares, inward_px=inward)


def corrected(masks: np.ndarray, truth: np.ndarray, kind: str, edge_px: float = EDGE_PX) -> np.ndarray:
    """(N, H, W) float32 masks with the errors of one `kind` ("edges", "holes" or "far") set to the
    truth and every other pixel as the method left it, soft values included (so that the fit from them
    differs from the method's by that kind alone): an oracle for the benchmark's diagnosis."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    place = _PLACE[kind]
    out = np.array(masks, dtype=np.float32)
    for o, t in zip(out, np.asarray(truth) > 0.5, strict=True):
        p = _places(o > 0.5, t, edge_px)
        o[p[f"missed_{place}"]] = 1.0
        o[p[f"extra_{place}"]] = 0.0
    return out

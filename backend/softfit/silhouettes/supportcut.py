"""A support taken in with the object (a turntable's disc, a table's top), cut off the masks by its colour.

Shape cannot tell a flat support from the object standing on it when every mask takes both in (from
one ring of cameras a disc and a cone as high as its far rim look the same), so the steps that find
a support (`turntable`, `tabletop`) learn its colour where it is surely the support and cut here: mask
pixels in the support's image that have its colour and reach the mask's outline become sure
background, the part of the mask outside that image (the object rising above the support) sure
object, and GrabCut decides the rest. When a tenth or more of that part passes the same colour test,
colour cannot tell object from support (a white cone on a light grey disc: 56 %, against at most 1 %
on the scenes cut; cutting anyway lost the cone's shaded side with the disc) and nothing is cut: the
caller warns instead."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from softfit.silhouettes.common import per_view

COLOUR_SIGMAS = 3.0  # a pixel has the support's colour within this many standard deviations
AMBIGUOUS = 0.1  # no cut when this share of the object above the support passes its colour test
MIN_SAMPLES = 20  # colour samples a model needs
MIN_ABOVE = 20  # pixels of the object above the support's image a view needs to say what colour it is

Model = tuple[np.ndarray, np.ndarray]  # (mean, inverse covariance) of an RGB Gaussian


@dataclass
class Cut:
    """masks: the masks less the support; views: how many changed; ambiguous: the object above the
    support has the support's colour, so nothing was cut (the masks may still hold the support)."""

    masks: np.ndarray
    views: int
    ambiguous: bool = False


def robust_gaussian(samples: np.ndarray) -> Model | None:
    """(mean, inverse covariance) of the samples' main cluster (outliers beyond COLOUR_SIGMAS dropped,
    three times), or None for too few samples."""
    if len(samples) < MIN_SAMPLES:
        return None
    mu = np.median(samples, 0)
    cov = np.diag((1.4826 * np.median(np.abs(samples - mu), 0)) ** 2 + 9.0)
    for _ in range(3):
        keep = samples[distance(samples, mu, np.linalg.inv(cov)) < COLOUR_SIGMAS]
        if len(keep) < MIN_SAMPLES:
            return None
        mu, cov = keep.mean(0), np.cov(keep.T) + np.eye(3) * 9.0  # noise floor: 3 levels of 255
    return mu, np.linalg.inv(cov)


def distance(x: np.ndarray, mu: np.ndarray, inv: np.ndarray) -> np.ndarray:
    """Mahalanobis distance of the colours `x` (..., 3) from the Gaussian (`mu`, `inv`)."""
    d = x - mu
    return np.sqrt(np.maximum(np.einsum("...i,ij,...j->...", d, inv, d), 0))


def cut(models: list[list[Model]], region: np.ndarray, masks: np.ndarray, images: np.ndarray,
        grabcut: Callable[[np.ndarray, np.ndarray], np.ndarray], alike: np.ndarray | None = None,
        sure: np.ndarray | None = None) -> Cut:
    """The masks less the support (module docstring). `models`: the support's colours in each view (a
    pixel has them when it is within `COLOUR_SIGMAS` of one of the view's Gaussians); `region` (N, H, W):
    its image in every view; `alike` (N, H, W): pixels that may be the support besides having its colour
    (a fixed camera's: unchanged from the median background); `sure` (N, H, W): pixels known to see the
    support (then only those of them with its colour are sure background, and the rest of its colour
    probable background: its colour alone may match part of the object); `grabcut(image, labels)` ->
    object mask."""
    n, h, w = masks.shape
    if not any(models):
        return Cut(masks, 0)
    like = np.zeros((n, h, w), bool)
    for v in range(n):
        for mu, inv in models[v]:
            like[v] |= distance(images[v].astype(np.float64), mu, inv) < COLOUR_SIGMAS
        if alike is not None:
            like[v] &= alike[v]
    above = np.stack([cv2.erode((m & ~r).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
                      for m, r in zip(masks, region, strict=True)])
    # a share of a few pixels says nothing (drawn-9-9: one pixel of one view, of a table's rim, made a dark
    # airplane on the table 'ambiguous'): only views with `MIN_ABOVE` pixels of the object above count
    seen = [v for v in range(n) if int(above[v].sum()) >= MIN_ABOVE]
    if seen and float(np.median([like[v][above[v]].mean() for v in seen])) > AMBIGUOUS:
        return Cut(masks, 0, ambiguous=True)  # the object above has the support's colour

    def one(v: int) -> np.ndarray | None:
        m = masks[v]
        support = reaching_outline(_opened(m & region[v] & like[v]), m)
        known = None if sure is None else _opened(sure[v] & m & region[v] & like[v])
        if not support.any() and (known is None or not known.any()):
            return None
        labels = np.full((h, w), cv2.GC_BGD, np.uint8)
        labels[m] = cv2.GC_PR_FGD
        labels[(cv2.dilate(m.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0) & ~m] = cv2.GC_PR_BGD
        if known is None:
            labels[support] = cv2.GC_BGD
        else:
            labels[support] = cv2.GC_PR_BGD
            labels[known] = cv2.GC_BGD
        labels[above[v]] = cv2.GC_FGD
        new = grabcut(images[v], labels)
        return new if new.any() else None

    out, changed = masks.copy(), 0
    for v, new in enumerate(per_view(one, n)):  # the views' cuts on every core
        if new is not None:
            out[v], changed = new, changed + 1
    return Cut(out, changed)


def _opened(pixels: np.ndarray) -> np.ndarray:
    return cv2.morphologyEx(pixels.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)) > 0


def reaching_outline(pixels: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The connected regions of `pixels` that touch the mask's outline (a patch of the object's own
    colour inside it is not the support)."""
    count, lab = cv2.connectedComponents(pixels.astype(np.uint8), connectivity=8)
    if count <= 1:
        return pixels
    outline = mask & ~(cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)
    keep = np.zeros(count, bool)
    keep[np.unique(lab[outline & pixels])] = True
    keep[0] = False
    return keep[lab]

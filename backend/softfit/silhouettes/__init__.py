"""Silhouettes from plain photos: `segment(images, method)` -> (N, H, W) bool masks.

Methods (one module each): threshold, grabcut, backdrop, deeplab, multiview (needs the cameras), and
auto, which picks one of them by the rule in `auto.py` and reports its choice. With cameras, every
method's masks are also judged against each other (`confidence`): per-view agreement with the hull of
the other views, doubtful views with their loss weights, and warnings. `to_rgba` writes masks in the
original method's RGBA convention; `check_consistency` flags views whose mask area jumps away from their
neighbours'."""

from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass, field

import numpy as np

from softfit.cameras import Cameras
from softfit.errors import InputError
from softfit.silhouettes import backdrop, deeplab, grabcut, multiview, threshold
from softfit.silhouettes.auto import choose_method
from softfit.silhouettes.common import check_images, clean_mask, require_nonempty
from softfit.silhouettes.confidence import ViewConfidence, assess
from softfit.silhouettes.consistency import area_ratios, check_consistency
from softfit.silhouettes.rgba import OBJECT_GREY, from_rgba, to_rgba

log = logging.getLogger(__name__)

METHODS = {
    "threshold": threshold.segment,
    "grabcut": grabcut.segment,
    "backdrop": backdrop.segment,
    "deeplab": deeplab.segment,
    "multiview": multiview.segment,
}
NAMES = ("auto", *METHODS)


@dataclass(frozen=True)
class Segmentation:
    """Masks plus what produced them: the method actually run, why, the views flagged as outliers, and
    (with cameras) each view's confidence: agreement, loss weight, doubtful views, warnings."""

    masks: np.ndarray
    method: str
    reason: str
    flagged: list[int] = field(default_factory=list)
    confidence: ViewConfidence | None = None
    details: dict = field(default_factory=dict)

    @property
    def weights(self) -> np.ndarray | None:
        """(N,) per-view weights for the fit's loss (None without cameras: all views count alike)."""
        return None if self.confidence is None else self.confidence.weights

    @property
    def warnings(self) -> list[str]:
        return [] if self.confidence is None else list(self.confidence.warnings)

    def info(self) -> dict:
        """JSON-safe summary for metrics/reports."""
        out = {"method": self.method, "reason": self.reason, "flagged_views": list(self.flagged)}
        if self.confidence is not None:
            out.update(self.confidence.info())
        return out | self.details


def segment_with_info(images: np.ndarray, method: str = "auto", names: list[str] | None = None,
                      allow_empty: bool = False, cameras: Cameras | None = None,
                      points: np.ndarray | None = None, **kw) -> Segmentation:
    """Run `method` (or choose one with `auto`) and check the result across views.

    `cameras` (one per image, any image size) enable `multiview` (auto's choice then) and the per-view
    confidence of any method; `points` (P, 3), the capture's 3-D points in the cameras' frame (a
    COLMAP model's), let `multiview` find the support plane in them. `kw` goes to the method (see each
    module's `segment`); `backdrop=` and `weights=` also steer `auto`. Raises InputError for an unknown
    method, bad images, or (unless `allow_empty`) any empty mask."""
    imgs = check_images(images)
    if method == "auto":
        method, reason = choose_method(imgs, backdrop=kw.get("backdrop"), weights=kw.get("weights"),
                                       cameras=cameras)
        log.info("silhouettes: auto chose %s because %s", method, reason)
    elif method in METHODS:
        reason = "requested"
    else:
        raise InputError(f"unknown silhouette method {method!r}; choose from {', '.join(NAMES)}")
    own = {"backdrop": ("backdrop",), "deeplab": ("weights", "sha256", "arch", "device", "batch_size")}
    for m, keys in own.items():  # options that belong to another method are dropped, not passed on
        if m != method:
            kw = {k: v for k, v in kw.items() if k not in keys}
    allowed = set(inspect.signature(METHODS[method]).parameters) - {"images", "cameras", "names"}
    if set(kw) - allowed:
        raise InputError(f"unknown option(s) {', '.join(sorted(set(kw) - allowed))} for silhouette method "
                         f"{method!r}; it takes: {', '.join(sorted(allowed))}")
    conf, details = None, {}
    if method == "multiview":
        if cameras is None:
            raise InputError("silhouette method 'multiview' needs the views' cameras")
        mv = multiview.segment_views(imgs, cameras, names, points=points, **kw)
        masks, conf = mv.masks, mv.confidence
        details = {"multiview": {"rounds": mv.rounds, "notes": mv.notes,
                                 "seconds_per_view": round(mv.seconds / len(masks), 3)}}
    else:
        masks = METHODS[method](imgs, **kw)
    if not allow_empty:
        require_nonempty(masks, method, names)
    found = masks.reshape(len(masks), -1).any(1).all()
    if conf is None and cameras is not None and len(masks) >= 3 and found:
        conf = assess(cameras, masks, names or [str(i) for i in range(len(masks))], images=imgs)
    flagged = check_consistency(masks) if len(masks) >= 3 else []
    if flagged:  # reported by the caller with the rest (Segmentation.info(), data.silhouette.notes)
        log.info("silhouettes: mask area jumps in view(s) %s", flagged)
    for w in [] if conf is None else conf.warnings:  # reported by the caller (Segmentation.info(): the
        log.info("silhouettes: %s", w)  # CLI's summary, metrics.json, the add-on's status), so said once
    return Segmentation(masks, method, reason, flagged, conf, details)


def segment(images: np.ndarray, method: str = "auto", **kw) -> np.ndarray:
    """(N, H, W) bool masks of the object in each (N, H, W, 3) uint8 photo; see `segment_with_info`."""
    return segment_with_info(images, method, **kw).masks


__all__ = [
    "METHODS", "NAMES", "OBJECT_GREY", "Segmentation", "ViewConfidence", "area_ratios", "check_consistency",
    "choose_method", "clean_mask", "from_rgba", "segment", "segment_with_info", "to_rgba",
]

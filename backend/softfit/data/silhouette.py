"""Where silhouettes come from: the images' alpha channel, mask files, or a segmentation method.

`alpha` and `mask` are read here; every other name is a segmentation method looked up in
`softfit.silhouettes` (`segment(images (N, H, W, 3) uint8, method, **options) -> (N, H, W) bool`), so
new methods need no change here. "auto" takes alpha when the images have real transparency, else mask
files when every view has one, else segments the photos with the method `softfit.silhouettes` chooses
(its own "auto": camera-aware `multiview` when the cameras are known), and says which and why;
"segment" skips alpha and masks and segments."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from softfit.data.gather import BUILTIN
from softfit.data.spec import parse_spec, parse_value
from softfit.errors import InputError

SEGMENTATION_MODULE = "softfit.silhouettes"
KNOWN_METHODS = ("threshold", "grabcut", "backdrop", "deeplab", "segment")
ALIASES = {"segment": "auto"}  # name here -> method name in softfit.silhouettes


@dataclass(frozen=True)
class SilhouetteChoice:
    """A parsed `silhouette` option: method name and its options (`backdrop:background=empty.png`)."""

    method: str
    options: dict

    @property
    def is_builtin(self) -> bool:
        return self.method in BUILTIN or self.method == "auto"


def parse_silhouette(text: str) -> SilhouetteChoice:
    name, opts = parse_spec(text)
    if name in (*BUILTIN, "auto") and opts:
        raise InputError(f"silhouette {name!r} takes no options, got {', '.join(opts)}")
    return SilhouetteChoice(name, {k: parse_value(v) for k, v in opts.items()})


def notes(info: dict) -> list[str]:
    """Lines for the user about where the cameras (structure from motion's outcome, a warning when it
    fell back to an assumed turntable) and the silhouettes came from (`MultiViewData.info`): what `auto`
    chose and why, what the camera-aware segmentation found about the capture (a fixed camera, the
    support plane), how far the segmented views agree, and every warning."""
    out = []
    sfm = info.get("sfm") or {}
    if sfm.get("message"):
        again = " (the photos were then segmented again with these cameras)" if sfm.get("resegmented") else ""
        out.append(f"{'warning: ' if sfm.get('fallback') else ''}cameras: {sfm['message']}{again}")
        gone = sfm.get("left_out") or []
        if gone:
            more = f" and {len(gone) - 5} more" if len(gone) > 5 else ""
            out.append(f"warning: cameras: {len(gone)} view(s) SfM could not place are left out of the fit: "
                       f"{', '.join(gone[:5])}{more}")
    choice = info.get("silhouette_choice")
    if choice:
        out.append(f"silhouettes: auto chose {choice['chose']} because {choice['because']}")
    resized = info.get("masks_resized") or []
    if resized and info.get("silhouette") == "mask":
        more = f" and {len(resized) - 1} more" if len(resized) > 1 else ""
        out.append(f"silhouettes: {len(resized)} mask(s) at another size than their image, resampled to it "
                   f"(same framing): {resized[0]}{more}")
    seg = info.get("segmentation") or {}
    out += [f"segmentation: {n}" for n in (seg.get("multiview") or {}).get("notes", [])]
    if seg.get("flagged_views"):
        out.append(f"segmentation: the mask's area jumps against its neighbours' in view(s) "
                   f"{', '.join(str(v) for v in seg['flagged_views'])}")
    if "median_agreement" in seg:
        out.append(f"segmentation: median agreement {seg['median_agreement']:.3f} of each view's mask with "
                   "the hull of the other views (agreement, not accuracy)")
    out += [f"warning: {w}" for w in seg.get("warnings", [])]
    return out


def segment(images: np.ndarray, choice: SilhouetteChoice, names: list[str], cameras=None,
            points: np.ndarray | None = None):
    """The `softfit.silhouettes.Segmentation` of the images (masks, the method that ran and why, per-view
    agreement, weights and warnings when `cameras` are given; `points`: the scene's 3-D points, see
    `softfit.silhouettes.segment_with_info`)."""
    from softfit.silhouettes import segment_with_info

    seg = segment_with_info(images, ALIASES.get(choice.method, choice.method), names=names, cameras=cameras,
                            points=points, **dict(choice.options))
    masks = np.asarray(seg.masks)
    if masks.shape != images.shape[:3]:
        raise InputError(f"segmentation {choice.method!r} returned shape {masks.shape}, "
                         f"expected {images.shape[:3]}")
    return seg

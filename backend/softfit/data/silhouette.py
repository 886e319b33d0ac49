"""Where silhouettes come from: the images' alpha channel, mask files, or a segmentation method.

`alpha` and `mask` are read here; every other name is a segmentation method looked up in
`softfit.silhouettes` (`segment(images (N, H, W, 3) uint8, method, **options) -> (N, H, W) bool`), so
new methods need no change here. "auto" takes alpha when the images have real transparency, else mask
files when there are any, else asks for a method; "segment" lets `softfit.silhouettes` choose one
(its own "auto")."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from softfit.data.spec import parse_spec, parse_value
from softfit.errors import InputError

BUILTIN = ("alpha", "mask")
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


def resolve_auto(has_alpha: bool, has_masks: bool, source: str) -> str:
    """'alpha' or 'mask' for silhouette='auto', or an InputError asking for a segmentation method."""
    if has_alpha:
        return "alpha"
    if has_masks:
        return "mask"
    raise InputError(
        f"{source}: the images have no transparency and no masks were found, so a segmentation method "
        f"is needed: pass silhouette= one of {', '.join(KNOWN_METHODS)} ('segment' lets softfit.silhouettes "
        "choose)")


def segment(images: np.ndarray, choice: SilhouetteChoice, names: list[str]) -> tuple[np.ndarray, dict]:
    """(N, H, W) float32 masks from `softfit.silhouettes`, and its JSON-safe summary (the method that
    ran, why `auto` chose it, views whose mask area jumps) for the report."""
    from softfit.silhouettes import segment_with_info

    seg = segment_with_info(images, ALIASES.get(choice.method, choice.method), names=names,
                            **dict(choice.options))
    masks = np.asarray(seg.masks)
    if masks.shape != images.shape[:3]:
        raise InputError(f"segmentation {choice.method!r} returned shape {masks.shape}, "
                         f"expected {images.shape[:3]}")
    return masks.astype(np.float32), seg.info()

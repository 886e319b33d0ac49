"""What a fit request carries, built without bpy: the views read, sized and checked by the backend's own
loading steps (`core/data/gather.py`, shipped verbatim), so the add-on and `softfit fit` see the same
silhouettes. Silhouettes come from alpha or masks here; plain photos are sent as images for the backend's
segmentation (`silhouette` method), since segmentation needs the backend's libraries."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.cameras import Cameras, transforms_dict
from ..core.data.gather import Readers, gather
from ..core.data.resize import resize
from ..core.data.size import photo_size, same_framing
from ..core.data.types import RawViews
from .errors import InputError

LOCAL_METHODS = ("ALPHA", "MASK")
BACKEND_METHODS = ("THRESHOLD", "GRABCUT", "BACKDROP", "DEEPLAB")
METHODS = ("AUTO", *LOCAL_METHODS, *BACKEND_METHODS)


@dataclass(frozen=True)
class FitInputs:
    """N views at the working size: silhouettes (N, H, W) float32 or images (N, H, W, 3) uint8 to segment;
    `colour` (N, H, W, 3) uint8 always (SfM features)."""

    names: list[str]
    cameras: Cameras
    silhouettes: np.ndarray | None
    images: np.ndarray | None
    method: str  # where the silhouettes come from: ALPHA, MASK, or a backend method (AUTO included)
    colour: np.ndarray
    why: str = ""  # what AUTO chose and why (the backend's own words), "" for an explicit method
    stored_size: tuple[int, int] = (0, 0)  # the views' size as read, before the working size
    options: str = ""  # the backend method's options ("weights=torchvision")
    backdrop: np.ndarray | None = None  # (H, W, 3) uint8: the empty scene at the working size (BACKDROP)
    segmentation: dict | None = None  # what segmented the silhouettes read here (`softfit views` wrote them)

    def transforms(self) -> dict:
        return transforms_dict(self.cameras, self.names)

    @property
    def backend_method(self) -> str | None:
        """The `silhouette_method` to send with images (the backend segments them), else None."""
        if self.silhouettes is not None:
            return None
        return self.method.lower() + (f":{self.options}" if self.options else "")

    def rgba(self) -> np.ndarray:
        """(N, H, W, 4) uint8 views for SfM; alpha = the silhouette where it is known here (features then
        come from the object only), else 255."""
        alpha = (np.full(self.colour.shape[:3], 255, np.uint8) if self.silhouettes is None
                 else np.round(self.silhouettes * 255).astype(np.uint8))
        return np.concatenate([self.colour, alpha[..., None]], axis=3)


def assemble(views: RawViews, read: Readers, image_size: int, method: str = "AUTO", backdrop: str = "",
             options: str = "") -> FitInputs:
    """Read every view once at the working size (`image_size`, 0: the source size) and take the silhouettes
    from `method` (AUTO: alpha, else masks, else the backend segments the photos). `backdrop`: the empty
    scene's photo for BACKDROP, read here and sent at the views' size; `options`: the backend method's."""
    if method not in METHODS:
        raise InputError(f"unknown silhouette method {method!r}; choose one of {', '.join(METHODS)}")
    if image_size < 0:
        raise InputError(f"image size must be positive (or 0 for the source size), got {image_size}")
    g = gather(views, method.lower(), image_size or None, read)
    chosen = g.method.upper() if g.silhouettes is not None else method
    why = g.info.get("silhouette_choice", {}).get("because", "")
    sw, sh = g.info["stored_size"]
    empty = _backdrop(backdrop, read, (sw, sh), g.working_size) if method == "BACKDROP" else None
    return FitInputs(g.names, g.cameras.resized(*g.working_size), g.silhouettes,
                     None if g.silhouettes is not None else g.images, chosen, g.images, why, (sw, sh),
                     options if g.silhouettes is None else "", empty,
                     g.info.get("segmentation") if g.silhouettes is not None else None)


def _backdrop(path: str, read: Readers, stored: tuple[int, int], working: tuple[int, int]) -> np.ndarray:
    """The empty scene's photo (H, W, 3) at the views' working size; it must frame what they frame."""
    if not path:
        raise InputError("Backdrop segmentation compares each view with a photo of the empty scene: choose "
                         "it as Empty Scene (same camera and light, the object taken away)")
    image = read.image(Path(path), False)  # the readers' InputError names the file
    h, w = image.shape[:2]
    if (w, h) != stored and not same_framing((w, h), stored) and not same_framing(stored, (w, h)):
        raise InputError(f"the empty scene {Path(path).name} is {w}x{h} but the views are {stored[0]}x"
                         f"{stored[1]}: it must be taken with the same camera (same framing)")
    return resize(np.ascontiguousarray(image[..., :3]), *working)


def texture_photos(views: RawViews, inputs: FitInputs, read: Readers, budget_bytes: int) -> np.ndarray | None:
    """The views read again at a larger size for the backend's texture bake, as `softfit fit` reads its
    photos again (backend texture/photos.py): up to PHOTO_SIZE on the long side and `budget_bytes` in all.
    (N, H, W, 4) uint8 with alpha = the silhouette at that size where it comes from alpha or masks, else
    (N, H, W, 3) (the backend upsamples its segmented masks); None when that adds no detail."""
    w, h = inputs.cameras.width, inputs.cameras.height
    local = inputs.silhouettes is not None
    size = photo_size(*inputs.stored_size, len(inputs.names), 4 if local else 3, budget_bytes)
    if max(size) <= max(w, h):
        return None
    g = gather(views, inputs.method.lower() if local else "segment", max(size), read, work_copies=False)
    if g.names != inputs.names or not same_framing(g.working_size, (w, h)):
        return None  # the files changed since the views were read: the backend bakes from those
    if g.silhouettes is None:
        return g.images
    alpha = np.round(np.clip(g.silhouettes, 0.0, 1.0) * 255).astype(np.uint8)
    return np.concatenate([g.images, alpha[..., None]], axis=3)

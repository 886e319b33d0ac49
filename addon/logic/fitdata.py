"""What a fit request carries, built without bpy: the views read, sized and checked by the backend's own
loading steps (`core/data/gather.py`, shipped verbatim), so the add-on and `softfit fit` see the same
silhouettes. Silhouettes come from alpha or masks here; plain photos are sent as images for the backend's
segmentation (`silhouette` method), since segmentation needs the backend's libraries."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.cameras import Cameras, transforms_dict
from ..core.data.gather import Readers, gather
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

    def transforms(self) -> dict:
        return transforms_dict(self.cameras, self.names)

    @property
    def backend_method(self) -> str | None:
        """The `silhouette_method` to send with images (the backend segments them), else None."""
        return None if self.silhouettes is not None else self.method.lower()

    def rgba(self) -> np.ndarray:
        """(N, H, W, 4) uint8 views for SfM; alpha = the silhouette where it is known here (features then
        come from the object only), else 255."""
        alpha = (np.full(self.colour.shape[:3], 255, np.uint8) if self.silhouettes is None
                 else np.round(self.silhouettes * 255).astype(np.uint8))
        return np.concatenate([self.colour, alpha[..., None]], axis=3)


def assemble(views: RawViews, read: Readers, image_size: int, method: str = "AUTO") -> FitInputs:
    """Read every view once at the working size (`image_size`, 0: the source size) and take the silhouettes
    from `method` (AUTO: alpha, else masks, else the backend segments the photos)."""
    if method not in METHODS:
        raise InputError(f"unknown silhouette method {method!r}; choose one of {', '.join(METHODS)}")
    if image_size < 0:
        raise InputError(f"image size must be positive (or 0 for the source size), got {image_size}")
    g = gather(views, method.lower(), image_size or None, read)
    chosen = g.method.upper() if g.silhouettes is not None else method
    why = g.info.get("silhouette_choice", {}).get("because", "")
    return FitInputs(g.names, g.cameras.resized(*g.working_size), g.silhouettes,
                     None if g.silhouettes is not None else g.images, chosen, g.images, why)

"""`MultiViewData`: what every loader produces and what the fit consumes; `RawView`/`RawViews`: what the
format readers hand to the common loading steps (silhouette choice, resizing, checks)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..cameras import Cameras
from ..errors import InputError
from .distortion import Distortion

ImageSize = Callable[[Path], tuple[int, int]]  # (W, H) of an image file as it will be read
MIN_VIEW_SIDE = 8  # px: the smallest render size a fit uses (FitParams.resolutions)


@dataclass(frozen=True)
class MultiViewData:
    """N views of one object at one image size.

    silhouettes: (N, H, W) float32 in [0, 1] (1 = object); images: (N, H, W, 3) uint8 or None when only
    silhouettes are known; cameras: N cameras of size W x H; names: one label per view (file stem);
    view_weights: (N,) how much each view counts in the fit's loss (None = all alike; segmentation sets
    it from each view's agreement with the others, so doubtful masks pull less)."""

    silhouettes: np.ndarray
    cameras: Cameras
    names: list[str]
    images: np.ndarray | None = None
    info: dict = field(default_factory=dict)
    view_weights: np.ndarray | None = None

    def __post_init__(self) -> None:
        s = np.asarray(self.silhouettes, dtype=np.float32)
        object.__setattr__(self, "silhouettes", s)
        n, h, w = s.shape if s.ndim == 3 else (None, None, None)
        if n is None:
            raise InputError(f"silhouettes must be (N, H, W), got {s.shape}")
        if len(self.cameras) != n:
            raise InputError(f"{n} silhouettes but {len(self.cameras)} cameras")
        if n and min(h, w) < MIN_VIEW_SIDE:
            raise InputError(f"the views are {w}x{h} pixels: too small to fit a mesh to (each side needs at "
                             f"least {MIN_VIEW_SIDE} pixels)")
        if (self.cameras.width, self.cameras.height) != (w, h):
            raise InputError(f"cameras are {self.cameras.width}x{self.cameras.height}, images {w}x{h}")
        if len(self.names) != n:
            raise InputError(f"{n} views but {len(self.names)} names")
        if not np.isfinite(s).all():
            raise InputError("silhouettes contain NaN or Inf")
        if self.images is not None and self.images.shape[:3] != s.shape:
            raise InputError(f"images {self.images.shape} do not match silhouettes {s.shape}")
        if self.view_weights is not None:
            vw = np.asarray(self.view_weights, dtype=np.float64).reshape(-1)
            if vw.shape != (n,) or not np.isfinite(vw).all() or (vw < 0).any() or not (vw > 0).any():
                raise InputError(f"view_weights must be {n} finite weights >= 0, not all 0")
            object.__setattr__(self, "view_weights", vw)

    def __len__(self) -> int:
        return self.silhouettes.shape[0]

    def subset(self, index) -> MultiViewData:
        idx = np.asarray(index, dtype=np.int64)
        return MultiViewData(self.silhouettes[idx], self.cameras.subset(idx), [self.names[i] for i in idx],
                             None if self.images is None else self.images[idx], dict(self.info),
                            None if self.view_weights is None else self.view_weights[idx])


@dataclass(frozen=True)
class RawView:
    """One view as a format reader finds it, before anything is read or resized.

    image: a file, or an (H, W, 3|4) uint8 array already in memory (SoftRas arrays); mask: a file, an
    (H, W) float array in [0, 1], or None; label: how error messages name the view (a path, `file[i]`);
    distortion: the lens model to remove from image and mask when they are read (None: a pinhole)."""

    name: str
    image: Path | np.ndarray
    label: str
    mask: Path | np.ndarray | None = None
    mask_label: str = ""
    distortion: Distortion | None = None


@dataclass(frozen=True)
class RawViews:
    """What a format reader returns: views and their cameras at the stored image size.

    expected_sizes: per-view (W, H) the cameras were declared for (None for a view: its own size), or
    None when every image must have the cameras' size; exif: apply EXIF orientation (uncalibrated photos
    only, whose cameras come from a turntable spec and not from the stored pixels); points: (P, 3) 3-D
    points of the scene in the cameras' frame (a COLMAP model's), for segmentation to find the support
    plane in; None when the format has none."""

    views: list[RawView]
    cameras: Cameras
    info: dict
    expected_sizes: list[tuple[int, int] | None] | None = None
    exif: bool = False
    points: np.ndarray | None = None

    def __post_init__(self) -> None:
        if not self.views:
            raise InputError(f"no views found in {self.info.get('source', 'the input')}")
        if len(self.views) != len(self.cameras):
            raise InputError(f"{len(self.views)} images but {len(self.cameras)} cameras "
                             f"in {self.info.get('source', 'the input')}")

    def __len__(self) -> int:
        return len(self.views)

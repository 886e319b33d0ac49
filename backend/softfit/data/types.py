"""`MultiViewData`: what every loader produces and what the fit consumes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from softfit.cameras import Cameras
from softfit.errors import InputError


@dataclass(frozen=True)
class MultiViewData:
    """N views of one object at one image size.

    silhouettes: (N, H, W) float32 in [0, 1] (1 = object); images: (N, H, W, 3) uint8 or None when only
    silhouettes are known; cameras: N cameras of size W x H; names: one label per view (file stem)."""

    silhouettes: np.ndarray
    cameras: Cameras
    names: list[str]
    images: np.ndarray | None = None
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        s = np.asarray(self.silhouettes, dtype=np.float32)
        object.__setattr__(self, "silhouettes", s)
        n, h, w = s.shape if s.ndim == 3 else (None, None, None)
        if n is None:
            raise InputError(f"silhouettes must be (N, H, W), got {s.shape}")
        if len(self.cameras) != n:
            raise InputError(f"{n} silhouettes but {len(self.cameras)} cameras")
        if (self.cameras.width, self.cameras.height) != (w, h):
            raise InputError(f"cameras are {self.cameras.width}x{self.cameras.height}, images {w}x{h}")
        if len(self.names) != n:
            raise InputError(f"{n} views but {len(self.names)} names")
        if not np.isfinite(s).all():
            raise InputError("silhouettes contain NaN or Inf")
        if self.images is not None and self.images.shape[:3] != s.shape:
            raise InputError(f"images {self.images.shape} do not match silhouettes {s.shape}")

    def __len__(self) -> int:
        return self.silhouettes.shape[0]

    def subset(self, index) -> MultiViewData:
        idx = np.asarray(index, dtype=np.int64)
        return MultiViewData(self.silhouettes[idx], self.cameras.subset(idx), [self.names[i] for i in idx],
                             None if self.images is None else self.images[idx], dict(self.info))

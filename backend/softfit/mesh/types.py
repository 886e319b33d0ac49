"""The one mesh type passed between stages: plain numpy, so every side (CLI, server, add-on) can use it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError


@dataclass(frozen=True)
class Mesh:
    """A triangle mesh in Blender's world frame: verts (V, 3) float64, faces (F, 3) int64."""

    verts: np.ndarray
    faces: np.ndarray

    def __post_init__(self) -> None:
        v = np.ascontiguousarray(self.verts, dtype=np.float64)
        f = np.ascontiguousarray(self.faces, dtype=np.int64)
        if v.ndim != 2 or v.shape[1] != 3:
            raise InputError(f"mesh vertices must be (V, 3), got {v.shape}")
        if f.ndim != 2 or f.shape[1] != 3:
            raise InputError(f"mesh faces must be (F, 3) triangles, got {f.shape}")
        if not np.isfinite(v).all():
            raise InputError("mesh vertices contain NaN or Inf")
        if f.size and (f.min() < 0 or f.max() >= len(v)):
            raise InputError(f"mesh face indices out of range [0, {len(v)})")
        object.__setattr__(self, "verts", v)
        object.__setattr__(self, "faces", f)

    @property
    def n_verts(self) -> int:
        return len(self.verts)

    @property
    def n_faces(self) -> int:
        return len(self.faces)

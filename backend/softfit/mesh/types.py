"""The one mesh type passed between stages: plain numpy, so every side (CLI, server, add-on) can use it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError

MAX_COORD = 1e12  # |coordinate| bound: squared distances must stay finite in the float32 rasteriser
DEGENERATE_AREA = 1e-9  # total face area / bounding-box diagonal² below which a mesh has no surface


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
        if v.size and np.abs(v).max() > MAX_COORD:
            raise InputError(f"mesh vertex coordinates reach {np.abs(v).max():.3g}, over {MAX_COORD:g}: "
                             "check the mesh's units")
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


def check_initial_mesh(mesh: Mesh) -> None:
    """A mesh a fit can start from: faces, an extent and a surface. All vertices at one point, or every
    face of zero area (repeated indices, collinear corners), gives the rasteriser nothing to draw and the
    fit nothing to move; InputError says which."""
    if mesh.n_faces == 0:
        raise InputError("the initial mesh has no faces")
    v = mesh.verts[np.unique(mesh.faces)]
    diag = float(np.linalg.norm(v.max(axis=0) - v.min(axis=0)))
    if not diag > 1e-9 * max(1.0, float(np.abs(v).max())):
        raise InputError(f"the initial mesh is degenerate: all {len(v)} vertices of its faces lie at one "
                         "point")
    a, b, c = (mesh.verts[mesh.faces[:, k]] for k in range(3))
    area = 0.5 * float(np.linalg.norm(np.cross(b - a, c - a), axis=1).sum())
    if not area > DEGENERATE_AREA * diag**2:
        raise InputError(f"the initial mesh is degenerate: its {mesh.n_faces} faces have no area (repeated "
                         "or collinear corners)")

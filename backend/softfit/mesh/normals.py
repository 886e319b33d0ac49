"""Smooth per-vertex normals: what viewers and Blender shade with when a mesh carries no sharp edges."""

from __future__ import annotations

import numpy as np

from softfit.mesh.types import Mesh


def face_normals(mesh: Mesh) -> np.ndarray:
    """(F, 3) unit normals by the right-hand rule (counter-clockwise corners face the viewer)."""
    tri = mesh.verts[mesh.faces]
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-300)


def vertex_normals(mesh: Mesh) -> np.ndarray:
    """(V, 3) unit normals: the area-weighted mean of the adjacent faces' normals (the un-normalised
    cross product already carries twice the area). Isolated vertices get +Z."""
    tri = mesh.verts[mesh.faces]
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    out = np.zeros_like(mesh.verts)
    for k in range(3):
        np.add.at(out, mesh.faces[:, k], n)
    length = np.linalg.norm(out, axis=1, keepdims=True)
    return np.where(length > 1e-300, out / np.maximum(length, 1e-300), np.array([0.0, 0.0, 1.0]))

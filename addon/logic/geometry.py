"""Vertex arrays between Blender objects and the fit (no bpy): frames, flat buffers, checks.

The fit works in world coordinates; a Blender mesh stores object-local ones, so everything sent is
multiplied by `matrix_world` and everything received by its inverse.
"""

from __future__ import annotations

import numpy as np

from .errors import InputError


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """(V, 3) points through a 4x4 affine matrix, as float64."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    m = np.asarray(matrix, dtype=np.float64)
    if m.shape != (4, 4):
        raise InputError(f"transform must be 4x4, got {m.shape}")
    # One output column at a time from the input columns, not `p @ m.T`: the (V, 3) x (3, 3) product
    # goes to the BLAS thread pool and took 20-100 ms for 100 k points on a busy machine (this: < 1 ms).
    out = np.empty_like(p)
    for j in range(3):
        col = p[:, 0] * m[j, 0]
        col += p[:, 1] * m[j, 1]
        col += p[:, 2] * m[j, 2]
        col += m[j, 3]
        out[:, j] = col
    return out


def to_local(world: np.ndarray, matrix_world: np.ndarray) -> np.ndarray:
    """World positions -> the object's local frame; InputError for a singular (zero-scale) object."""
    m = np.asarray(matrix_world, dtype=np.float64)
    if abs(np.linalg.det(m[:3, :3])) < 1e-12:
        raise InputError("the object has zero scale on some axis; apply or fix its scale first")
    return transform_points(world, np.linalg.inv(m))


def local_buffer(world: np.ndarray, matrix_world: np.ndarray, n_verts: int) -> np.ndarray:
    """A streamed frame (world positions) as the flat float32 buffer of the object's local positions,
    checked: everything a frame needs before it is written, so a worker thread can do it."""
    return flat_co(to_local(check_frame(world, n_verts), matrix_world))


def flat_co(verts: np.ndarray) -> np.ndarray:
    """The flat float32 buffer `foreach_set("co", ...)` takes."""
    return np.ascontiguousarray(verts, dtype=np.float32).reshape(-1)


def check_mesh(verts: np.ndarray, faces: np.ndarray, what: str = "mesh") -> None:
    """A mesh the backend can fit: finite vertices, triangles indexing them, not empty."""
    v, f = np.asarray(verts), np.asarray(faces)
    if v.ndim != 2 or v.shape[1] != 3 or len(v) < 4:
        raise InputError(f"{what} needs at least 4 vertices, got {len(v)}")
    if f.ndim != 2 or f.shape[1] != 3 or len(f) < 4:
        raise InputError(f"{what} needs at least 4 faces, got {len(f)}")
    if not np.isfinite(v).all():
        raise InputError(f"{what} has NaN or Inf vertex positions")
    if f.min() < 0 or f.max() >= len(v):
        raise InputError(f"{what} has face indices outside [0, {len(v)})")


def check_frame(verts: np.ndarray, n_verts: int) -> np.ndarray:
    """A streamed or final vertex array for an object of `n_verts` vertices, as (V, 3) float64."""
    v = np.asarray(verts, dtype=np.float64)
    if v.shape != (n_verts, 3):
        raise InputError(f"the backend sent {v.shape} vertex positions for a mesh of {n_verts} vertices")
    if not np.isfinite(v).all():
        raise InputError("the backend sent NaN or Inf vertex positions")
    return v


def pinned_from_weights(indices: np.ndarray, weights: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Vertex indices whose group weight is at least `threshold` (the vertex group's members)."""
    idx = np.asarray(indices, dtype=np.int64)
    w = np.asarray(weights, dtype=np.float64)
    return np.unique(idx[w >= threshold])


def mesh_topology(faces: np.ndarray, n_verts: int) -> tuple[np.ndarray, np.ndarray]:
    """Edges (E, 2) int32 of a triangle mesh and the edge of every face corner (3F,) int32 (corner i of a
    face runs to corner i + 1): what Blender would otherwise derive on the main thread (`calc_edges`),
    computed here with numpy so a worker thread can do it."""
    f = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    a, b = f.reshape(-1), f[:, [1, 2, 0]].reshape(-1)
    keys = np.minimum(a, b) * n_verts + np.maximum(a, b)
    unique, corner_edge = np.unique(keys, return_inverse=True)
    edges = np.stack([unique // n_verts, unique % n_verts], axis=1)
    return edges.astype(np.int32), corner_edge.astype(np.int32)

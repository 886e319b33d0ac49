"""Neighbourhoods of a mesh's crossings: what the repairs that open them (`clean`'s smoothing,
`thicken`) share: vertex adjacency, the rings around crossing faces, the local edge length, and the
crossing pairs near moved vertices (so a repair step tests only what it could have changed)."""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.spatial import cKDTree

from softfit.mesh.intersect import intersecting_pairs
from softfit.mesh.types import Mesh


def neighbours(faces: np.ndarray, n: int) -> sparse.csr_matrix:
    """(n, n) 0/1 vertex adjacency over the faces' edges."""
    e = faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2)
    adj = sparse.coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n)).tocsr()
    return ((adj + adj.T) > 0).astype(np.float64)


def region(faces: np.ndarray, pairs: np.ndarray, adj: sparse.csr_matrix, rings: int) -> np.ndarray:
    """(V,) the vertices of the crossing faces and `rings` rings around them."""
    out = np.zeros(adj.shape[0], dtype=bool)
    out[np.unique(faces[pairs.ravel()])] = True
    for _ in range(rings):
        out |= (adj @ out.astype(np.float64)) > 0
    return out


def local_edge_length(mesh: Mesh) -> np.ndarray:
    """(V,) the mean length of each vertex's edges (a graded mesh's own scale at that vertex)."""
    e = mesh.faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2)
    length = np.linalg.norm(mesh.verts[e[:, 0]] - mesh.verts[e[:, 1]], axis=1)
    return np.bincount(e.ravel(), np.repeat(length, 2), mesh.n_verts) / np.maximum(
        np.bincount(e.ravel(), minlength=mesh.n_verts), 1)


def pairs_near(mesh: Mesh, moved: np.ndarray) -> np.ndarray:
    """Crossing pairs that involve a face with a `moved` vertex (all others are as they were): only the
    faces whose boxes can reach those faces are tested, instead of the whole mesh."""
    touched = moved[mesh.faces].any(axis=1)
    if not touched.any():
        return np.zeros((0, 2), dtype=np.int64)
    tri = mesh.verts[mesh.faces]
    lo, hi = tri.min(axis=1), tri.max(axis=1)
    box_lo, box_hi = lo[touched], hi[touched]
    reach = float((hi - lo).max())  # a face near a moved one lies within a face size of its box
    tree = cKDTree(0.5 * (box_lo + box_hi))
    near = tree.query_ball_point(0.5 * (lo + hi), r=2.0 * reach, return_length=True) > 0
    sub = np.flatnonzero(near | touched)
    pairs = sub[intersecting_pairs(Mesh(mesh.verts, mesh.faces[sub]))]
    return pairs[touched[pairs].any(axis=1)] if len(pairs) else pairs.reshape(0, 2)

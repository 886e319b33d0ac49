"""Small vectorised mesh utilities the initialisers need: topology checks, components, orientation,
normals and smoothing on plain (verts, faces) arrays."""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components


def edges(faces: np.ndarray) -> np.ndarray:
    """(3F, 2) directed half-edges (a, b) of every face, in face order."""
    return faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2)


def edge_counts(faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(unique undirected edges (E, 2), number of faces using each)."""
    e = np.sort(edges(faces), axis=1)
    return np.unique(e, axis=0, return_counts=True)


def is_watertight(faces: np.ndarray) -> bool:
    """Closed and edge-manifold with consistent winding: every directed half-edge appears once and its
    twin once (so every edge has exactly two faces, oriented oppositely)."""
    if len(faces) == 0:
        return False
    he = edges(faces)
    _, counts = np.unique(he, axis=0, return_counts=True)
    if (counts != 1).any():
        return False
    _, ucount = edge_counts(faces)
    return bool((ucount == 2).all())


def is_vertex_manifold(verts_count: int, faces: np.ndarray) -> bool:
    """Every vertex's faces form one fan (no two cones touching at a vertex). Assumes edge-manifold."""
    # For a closed edge-manifold mesh, a vertex is manifold iff its link is one cycle:
    # the number of its faces equals the size of the component of its link graph.
    v = faces.ravel()
    nxt = faces[:, [1, 2, 0]].ravel()
    prv = faces[:, [2, 0, 1]].ravel()
    # link edges per vertex: (v, nxt) -> (v, prv); count faces per vertex and link components.
    n_faces = np.bincount(v, minlength=verts_count)
    key_a = v.astype(np.int64) * verts_count + nxt
    key_b = v.astype(np.int64) * verts_count + prv
    keys, inv = np.unique(np.concatenate([key_a, key_b]), return_inverse=True)
    m = len(keys)
    g = sparse.coo_matrix((np.ones(len(key_a)), (inv[: len(key_a)], inv[len(key_a):])), shape=(m, m))
    _, labels = connected_components(g, directed=False)
    owner = keys // verts_count
    comps_per_vertex = np.bincount(np.unique(np.stack([owner, labels], 1), axis=0)[:, 0],
                                   minlength=verts_count)
    used = n_faces > 0
    return bool((comps_per_vertex[used] == 1).all())


def face_components(faces: np.ndarray, n_verts: int) -> np.ndarray:
    """Component label per face (faces sharing a vertex are connected)."""
    f = len(faces)
    rows = np.repeat(np.arange(f), 3)
    inc = sparse.coo_matrix((np.ones(3 * f), (rows, faces.ravel())), shape=(f, n_verts)).tocsr()
    _, vlabels = connected_components(inc.T @ inc, directed=False)
    return vlabels[faces[:, 0]]


def largest_component(verts: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The component with the most faces, with unused vertices dropped and indices compacted."""
    labels = face_components(faces, len(verts))
    best = np.argmax(np.bincount(labels))
    return compact(verts, faces[labels == best])


def compact(verts: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    used = np.unique(faces)
    remap = np.full(len(verts), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    return verts[used], remap[faces]


def signed_volume(verts: np.ndarray, faces: np.ndarray) -> float:
    a, b, c = verts[faces[:, 0]], verts[faces[:, 1]], verts[faces[:, 2]]
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


def orient_outward(verts: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Faces flipped if needed so that the (closed) mesh encloses positive volume."""
    return faces[:, ::-1].copy() if signed_volume(verts, faces) < 0 else faces


def vertex_normals(verts: np.ndarray, faces: np.ndarray) -> np.ndarray:
    fn = np.cross(verts[faces[:, 1]] - verts[faces[:, 0]], verts[faces[:, 2]] - verts[faces[:, 0]])
    n = np.zeros_like(verts)
    for k in range(3):
        np.add.at(n, faces[:, k], fn)
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)


def adjacency(n_verts: int, faces: np.ndarray) -> sparse.csr_matrix:
    """Row-normalised vertex adjacency (uniform Laplacian weights)."""
    e = edges(faces)
    a = sparse.coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n_verts, n_verts)).tocsr()
    a = ((a + a.T) > 0).astype(np.float64)
    deg = np.asarray(a.sum(axis=1)).ravel()
    return sparse.diags(1.0 / np.maximum(deg, 1)) @ a

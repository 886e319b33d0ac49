"""Self-intersections of a triangle mesh: which pairs of faces cross each other.

Two non-coplanar triangles intersect iff an edge of one pierces the other, so every candidate pair is
decided by six segment–triangle tests (Möller–Trumbore, vectorised over all pairs). Candidates are the
pairs whose bounding boxes overlap (found through a uniform grid). Faces that share an edge are
never counted (they meet along it by construction); faces that share one vertex count only when they
cross away from that vertex. Touching within a relative tolerance is not an intersection, so a clean
mesh whose neighbours meet exactly reports none."""

from __future__ import annotations

import numpy as np

from softfit.mesh.types import Mesh

_EDGES = ((0, 1), (1, 2), (2, 0))
CHUNK = 200_000  # candidate pairs tested at once (memory)


def candidate_pairs(mesh: Mesh) -> np.ndarray:
    """(P, 2) face pairs i < j whose axis-aligned bounding boxes overlap and that share no edge.

    Faces are binned in a uniform grid of cells about the median face size (a face enters every cell
    its box touches), so one long sliver does not make every pair a candidate."""
    tri = mesh.verts[mesh.faces]
    if len(tri) < 2:
        return np.zeros((0, 2), dtype=np.int64)
    lo, hi = tri.min(axis=1), tri.max(axis=1)
    cell = float(np.median((hi - lo).max(axis=1)))
    if not cell > 0:
        cell = float(np.ptp(mesh.verts, axis=0).max()) or 1.0
    c0 = np.floor((lo - lo.min(axis=0)) / cell).astype(np.int64)
    c1 = np.floor((hi - lo.min(axis=0)) / cell).astype(np.int64)
    span = c1 - c0 + 1
    dims = c1.max(axis=0) + 1
    count = span.prod(axis=1)
    face = np.repeat(np.arange(len(tri)), count)
    k = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    sx, sy = span[face, 0], span[face, 1]
    cx = c0[face, 0] + k % sx
    cy = c0[face, 1] + (k // sx) % sy
    cz = c0[face, 2] + k // (sx * sy)
    key = (cz * dims[1] + cy) * dims[0] + cx
    order = np.lexsort((face, key))
    key, face = key[order], face[order]
    pairs = []
    for off in range(1, len(key)):
        same = key[off:] == key[:-off]
        if not same.any():
            break
        pairs.append(np.stack([face[:-off][same], face[off:][same]], axis=1))
    if not pairs:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.unique(np.sort(np.concatenate(pairs), axis=1), axis=0)
    i, j = pairs[:, 0], pairs[:, 1]
    overlap = np.all((lo[i] <= hi[j]) & (lo[j] <= hi[i]), axis=1)
    i, j = i[overlap], j[overlap]
    fi, fj = mesh.faces[i], mesh.faces[j]
    shared = (fi[:, :, None] == fj[:, None, :]).any(axis=2).sum(axis=1)
    keep = shared < 2
    return np.stack([i[keep], j[keep]], axis=1).astype(np.int64)


def _segment_hits(p0: np.ndarray, p1: np.ndarray, tri: np.ndarray, skip: np.ndarray, tol: float
                  ) -> np.ndarray:
    """(P,) whether segment p0→p1 crosses triangle `tri` (P, 3, 3) strictly inside, away from `skip`
    points (P, 3) (a shared vertex; NaN where none)."""
    d = p1 - p0
    e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    h = np.cross(d, e2)
    a = np.einsum("ij,ij->i", e1, h)
    scale = np.linalg.norm(e1, axis=1) * np.linalg.norm(e2, axis=1) * np.linalg.norm(d, axis=1)
    ok = np.abs(a) > 1e-9 * np.maximum(scale, 1e-300)  # parallel or coplanar: no piercing
    inv = np.where(ok, 1.0 / np.where(ok, a, 1.0), 0.0)
    s = p0 - tri[:, 0]
    u = inv * np.einsum("ij,ij->i", s, h)
    q = np.cross(s, e1)
    v = inv * np.einsum("ij,ij->i", d, q)
    t = inv * np.einsum("ij,ij->i", e2, q)
    hit = ok & (u > tol) & (v > tol) & (u + v < 1 - tol) & (t > tol) & (t < 1 - tol)
    point = p0 + t[:, None] * d
    near_skip = np.linalg.norm(point - skip, axis=1) <= tol * np.linalg.norm(d, axis=1)
    return hit & ~np.nan_to_num(near_skip, nan=False).astype(bool)


def intersecting_pairs(mesh: Mesh, tol: float = 1e-6) -> np.ndarray:
    """(K, 2) pairs of faces that cross each other (see the module docstring)."""
    pairs = candidate_pairs(mesh)
    out = []
    for s in range(0, len(pairs), CHUNK):
        pr = pairs[s:s + CHUNK]
        fa, fb = mesh.faces[pr[:, 0]], mesh.faces[pr[:, 1]]
        ta, tb = mesh.verts[fa], mesh.verts[fb]
        # The shared vertex (if any), to ignore hits exactly there.
        eq = fa[:, :, None] == fb[:, None, :]
        has = eq.any(axis=(1, 2))
        ia = eq.any(axis=2).argmax(axis=1)
        shared = np.where(has[:, None], ta[np.arange(len(pr)), ia], np.nan)
        hit = np.zeros(len(pr), dtype=bool)
        for x, y in ((ta, tb), (tb, ta)):
            for a, b in _EDGES:
                hit |= _segment_hits(x[:, a], x[:, b], y, shared, tol)
        out.append(pr[hit])
    return np.concatenate(out) if out else np.zeros((0, 2), dtype=np.int64)

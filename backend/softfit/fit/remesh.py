"""Isotropic remeshing towards a per-vertex target edge length (the surgery of adaptive resolution).

The classic split / collapse / flip / relax loop (Botsch & Kobbelt 2004), driven by a length field as in
Palfinger's "Continuous Remeshing for Inverse Rendering" (2022): an edge longer than 4/3 of its target
is split at its midpoint, one shorter than 4/5 is collapsed to its midpoint when that keeps the mesh a
2-manifold (link condition), creates no edge over 4/3 of the target and flips no face, edges are flipped
towards valence 6 where the surface is flat there, and vertices are relaxed tangentially. Each pass
edits an independent set (no two edits share a face or a vertex ring), so it is vectorised where it
can be and never sees stale connectivity. A closed, consistently wound, vertex-manifold mesh stays so;
the result is checked and `remesh` raises `RemeshError` (the caller keeps its mesh) if it is not.

Every new vertex records the old vertex it came from (`RemeshResult.source`), so per-vertex state (the
optimiser's moments) can follow the surgery."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from softfit.init import meshops
from softfit.mesh.types import Mesh

SPLIT, COLLAPSE = 4.0 / 3.0, 4.0 / 5.0  # Botsch-Kobbelt thresholds relative to the target length
FLAT_FLIP = 0.9  # flips only where both the old and the new face pairs meet at cos(angle) above this
MAX_TURN = 0.2  # a collapse may not turn any surviving face's normal by more than acos(this)


class RemeshError(RuntimeError):
    """The surgery produced a mesh that is not closed and manifold (should not happen; never silent)."""


@dataclass
class RemeshResult:
    verts: np.ndarray  # (V', 3) float64
    faces: np.ndarray  # (F', 3) int64
    source: np.ndarray  # (V',) index of the input vertex each output vertex descends from
    target: np.ndarray  # (V',) target length carried along (interpolated on new vertices)


def _unique_edges(faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(E, 2) sorted unique edges and, per half-edge (3F, face-major), the index of its edge."""
    key = np.sort(meshops.edges(faces), axis=1)
    n = int(key.max()) + 1 if len(key) else 1
    uniq, inv = np.unique(key[:, 0] * n + key[:, 1], return_inverse=True)  # 1-D: far faster than axis=0
    return np.stack([uniq // n, uniq % n], 1), inv.reshape(-1)


def _csr(n: int, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(rows, kind="stable")
    return np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))]), cols[order]


def _neighbours(n: int, uniq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return _csr(n, np.concatenate([uniq[:, 0], uniq[:, 1]]), np.concatenate([uniq[:, 1], uniq[:, 0]]))


def _expand(csr: tuple[np.ndarray, np.ndarray], rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(position in `rows`, entry) for every entry of the CSR rows `rows`, in order."""
    ptr, idx = csr
    start, count = ptr[rows], ptr[rows + 1] - ptr[rows]
    pos = np.repeat(np.arange(len(rows)), count)
    offs = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    return pos, idx[start[pos] + offs]


def _face_normals(v: np.ndarray, f: np.ndarray) -> np.ndarray:
    n = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    return n / np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-30)


class _Mesh:
    """Growable arrays for one remeshing run."""

    def __init__(self, verts: np.ndarray, faces: np.ndarray, target: np.ndarray, active: np.ndarray) -> None:
        self.v = np.asarray(verts, dtype=np.float64).copy()
        self.f = np.asarray(faces, dtype=np.int64).copy()
        self.t = np.asarray(target, dtype=np.float64).copy()
        self.src = np.arange(len(self.v))
        self.act = np.asarray(active, dtype=bool).copy()  # vertices the surgery may touch

    def editable(self, e: np.ndarray) -> np.ndarray:
        """Edges (E, 2) whose both ends are active: the only ones split, collapsed or flipped."""
        return self.act[e[:, 0]] & self.act[e[:, 1]]

    def edge_target(self, e: np.ndarray) -> np.ndarray:
        return 0.5 * (self.t[e[:, 0]] + self.t[e[:, 1]])

    # -- split ------------------------------------------------------------------------------------

    def split(self) -> int:
        uniq, inv = _unique_edges(self.f)
        length = np.linalg.norm(self.v[uniq[:, 0]] - self.v[uniq[:, 1]], axis=1)
        long = np.flatnonzero((length > SPLIT * self.edge_target(uniq)) & self.editable(uniq))
        if not len(long):
            return 0
        # The two faces of each long edge (closed mesh: two half-edges per edge); longest edges first,
        # no face split twice in one round.
        faces_of = (np.argsort(inv, kind="stable") // 3).reshape(-1, 2)
        used = bytearray(len(self.f))
        chosen: list[int] = []
        for e, f1, f2 in zip(*(x.tolist() for x in (long, *faces_of[long].T)), strict=True):
            if used[f1] or used[f2]:
                continue
            used[f1] = used[f2] = 1
            chosen.append(e)
        chosen_e = np.asarray(chosen, dtype=np.int64)
        mid = len(self.v) + np.arange(len(chosen_e))
        a, b = uniq[chosen_e, 0], uniq[chosen_e, 1]
        self.v = np.concatenate([self.v, 0.5 * (self.v[a] + self.v[b])])
        self.t = np.concatenate([self.t, 0.5 * (self.t[a] + self.t[b])])
        self.src = np.concatenate([self.src, self.src[a]])
        self.act = np.concatenate([self.act, np.ones(len(chosen_e), dtype=bool)])
        new_of_edge = np.full(len(uniq), -1, dtype=np.int64)
        new_of_edge[chosen_e] = mid
        he = np.flatnonzero(new_of_edge[inv] >= 0)
        face, k = he // 3, he % 3
        p, q, r = self.f[face, k], self.f[face, (k + 1) % 3], self.f[face, (k + 2) % 3]
        m = new_of_edge[inv[he]]
        self.f[face] = np.stack([p, m, r], 1)
        self.f = np.concatenate([self.f, np.stack([m, q, r], 1)])
        return len(chosen_e)

    # -- collapse ---------------------------------------------------------------------------------

    def _collapsible(self, uniq: np.ndarray, cand: np.ndarray, nbr: tuple[np.ndarray, np.ndarray]
                     ) -> np.ndarray:
        """Mask of the candidate edges whose collapse to the midpoint keeps the mesh manifold (link
        condition), makes no edge over 4/3 of its target and turns no face by more than acos(MAX_TURN).
        Vectorised over all candidates (each check only reads the edge's own two rings)."""
        v, t, f = self.v, self.t, self.f
        a, b = uniq[cand, 0], uniq[cand, 1]
        p = 0.5 * (v[a] + v[b])
        n = len(v)
        adj = sparse.csr_matrix((np.ones(len(nbr[1])), nbr[1], nbr[0]), shape=(n, n))
        common = np.asarray((adj[a].multiply(adj[b])).sum(axis=1)).ravel()
        ok = common == 2
        # rings: (candidate, neighbour of a or b)
        ci, nb = _expand(nbr, np.concatenate([a, b]))
        ci = ci % len(cand)
        far = np.linalg.norm(v[nb] - p[ci], axis=1) > SPLIT * 0.5 * (0.5 * (t[a] + t[b])[ci] + t[nb])
        far &= (nb != a[ci]) & (nb != b[ci])
        ok &= np.bincount(ci[far], minlength=len(cand)) == 0
        # faces around a or b that survive (those holding both vanish)
        fptr, fidx = _csr(n, f.ravel(), np.repeat(np.arange(len(f)), 3))
        ci, fs = _expand((fptr, fidx), np.concatenate([a, b]))
        ci = ci % len(cand)
        tri = f[fs]
        on_a, on_b = tri == a[ci, None], tri == b[ci, None]
        keep = ~(on_a.any(1) & on_b.any(1))
        ci, tri, moved = ci[keep], tri[keep], (on_a | on_b)[keep]
        before = _face_normals(v, tri)
        pts = v[tri]
        pts[moved] = p[ci[np.nonzero(moved)[0]]]
        after = np.cross(pts[:, 1] - pts[:, 0], pts[:, 2] - pts[:, 0])
        norm = np.linalg.norm(after, axis=1)
        bad = (norm <= 1e-30) | ((after * before).sum(1) < MAX_TURN * np.maximum(norm, 1e-30))
        ok &= np.bincount(ci[bad], minlength=len(cand)) == 0
        return ok

    def collapse(self) -> int:
        uniq, _ = _unique_edges(self.f)
        length = np.linalg.norm(self.v[uniq[:, 0]] - self.v[uniq[:, 1]], axis=1)
        short = np.flatnonzero((length < COLLAPSE * self.edge_target(uniq)) & self.editable(uniq))
        if not len(short) or len(self.v) <= 8:
            return 0
        short = short[np.argsort(length[short], kind="stable")]
        nptr, nidx = nbr = _neighbours(len(self.v), uniq)
        short = short[self._collapsible(uniq, short, nbr)]
        used = bytearray(len(self.v))
        merge = np.arange(len(self.v))
        ptr, nl = nptr.tolist(), nidx.tolist()
        pairs = []
        for a, b in uniq[short].tolist():  # rings of the collapses in one round are disjoint
            ring = nl[ptr[a]:ptr[a + 1]] + nl[ptr[b]:ptr[b + 1]]
            if any(used[x] for x in ring):  # the ring holds a and b (each is the other's neighbour)
                continue
            for x in ring:
                used[x] = 1
            merge[b] = a
            pairs.append((a, b))
        if not pairs:
            return 0
        a, b = np.asarray(pairs).T
        self.v[a] = 0.5 * (self.v[a] + self.v[b])
        self.t[a] = np.minimum(self.t[a], self.t[b])
        f = merge[self.f]
        f = f[(f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 2] != f[:, 0])]
        self._compact(f)
        return len(pairs)

    def _compact(self, faces: np.ndarray) -> None:
        used = np.unique(faces)
        remap = np.full(len(self.v), -1, dtype=np.int64)
        remap[used] = np.arange(len(used))
        self.v, self.t, self.src, self.f = self.v[used], self.t[used], self.src[used], remap[faces]
        self.act = self.act[used]

    # -- flip -------------------------------------------------------------------------------------

    def flip(self) -> int:
        uniq, inv = _unique_edges(self.f)
        he_of = _csr(len(uniq), inv, np.arange(len(inv)))
        counts = np.diff(he_of[0])
        if (counts != 2).any():
            return 0
        h = he_of[1].reshape(-1, 2)  # the two half-edges of each edge
        f1, f2 = h[:, 0] // 3, h[:, 1] // 3
        c = self.f[f1, (h[:, 0] % 3 + 2) % 3]
        d = self.f[f2, (h[:, 1] % 3 + 2) % 3]
        a, b = uniq[:, 0], uniq[:, 1]
        val = np.bincount(uniq.ravel(), minlength=len(self.v))
        dev_before = (np.abs(val[a] - 6) + np.abs(val[b] - 6) + np.abs(val[c] - 6) + np.abs(val[d] - 6))
        dev_after = (np.abs(val[a] - 7) + np.abs(val[b] - 7) + np.abs(val[c] - 5) + np.abs(val[d] - 5))
        gain = dev_before - dev_after
        cand = np.flatnonzero((gain > 0) & (val[a] > 3) & (val[b] > 3) & (c != d) & self.editable(uniq))
        if not len(cand):
            return 0
        n1, n2 = _face_normals(self.v, self.f[f1[cand]]), _face_normals(self.v, self.f[f2[cand]])
        # orient the new faces with the mesh: (c, a, d) and (d, b, c) for face 1 = (a, b, c) as wound
        o1 = self.f[f1[cand]]
        k1 = h[cand, 0] % 3
        p, q = o1[np.arange(len(cand)), k1], o1[np.arange(len(cand)), (k1 + 1) % 3]
        new1 = np.stack([c[cand], p, d[cand]], 1)
        new2 = np.stack([d[cand], q, c[cand]], 1)
        m1, m2 = _face_normals(self.v, new1), _face_normals(self.v, new2)
        flat = (((n1 * n2).sum(1) > FLAT_FLIP) & ((m1 * m2).sum(1) > FLAT_FLIP)
                & ((m1 * n1).sum(1) > FLAT_FLIP))
        cand, new1, new2 = cand[flat], new1[flat], new2[flat]
        nptr, nidx = _neighbours(len(self.v), uniq)
        used = np.zeros(len(self.v), dtype=bool)
        take = []
        for i in np.argsort(-gain[cand], kind="stable"):
            e = cand[i]
            quad = [a[e], b[e], c[e], d[e]]
            if used[quad].any():
                continue
            if (nidx[nptr[c[e]]:nptr[c[e] + 1]] == d[e]).any():  # c-d already an edge
                continue
            used[quad] = True
            take.append(i)
        if not take:
            return 0
        sel = np.asarray(take)
        self.f[f1[cand[sel]]] = new1[sel]
        self.f[f2[cand[sel]]] = new2[sel]
        return len(sel)

    # -- relax ------------------------------------------------------------------------------------

    def relax(self, step: float = 0.5) -> None:
        """Move each vertex part-way to its neighbours' mean, within its tangent plane."""
        w = meshops.adjacency(len(self.v), self.f)
        n = meshops.vertex_normals(self.v, self.f)
        d = w @ self.v - self.v
        d -= (d * n).sum(1, keepdims=True) * n
        self.v = self.v + step * d * self.act[:, None]


def remesh(verts: np.ndarray, faces: np.ndarray, target: np.ndarray | float, iterations: int = 4,
           relax: int = 1, active: np.ndarray | None = None) -> RemeshResult:
    """Remesh a closed manifold mesh towards `target` edge length per vertex (or one length).

    Each iteration: split (repeated until no edge is over 4/3 of its target, at most 8 rounds), collapse
    (at most 8 rounds), flip, `relax` tangential smoothing rounds. `active` (V,) bool: only edges between
    active vertices are edited and only active vertices relaxed (new vertices are active), so the rest of
    the mesh stays exactly as it was; None: all. Raises RemeshError if the result is not watertight and
    vertex-manifold (the input must be both)."""
    v = np.asarray(verts, dtype=np.float64)
    t = np.broadcast_to(np.asarray(target, dtype=np.float64), (len(v),))
    if not (np.isfinite(t).all() and (t > 0).all()):
        raise ValueError("target edge lengths must be finite and > 0")
    f = np.asarray(faces, dtype=np.int64)
    if not (meshops.is_watertight(f) and meshops.is_vertex_manifold(len(v), f)):
        # every edge's two faces are looked up by pairing half-edges: an open or non-manifold mesh (an
        # imported one, e.g. Blender's Suzanne with its open eyes) would pair the wrong ones
        raise RemeshError("remeshing needs a closed, manifold mesh; this one has open or shared edges")
    m = _Mesh(v, f, t, np.ones(len(v), dtype=bool) if active is None else active)
    for _ in range(iterations):
        for _ in range(8):
            if not m.split():
                break
        for _ in range(8):
            if not m.collapse():
                break
        m.flip()
        for _ in range(relax):
            m.relax()
    if not (meshops.is_watertight(m.f) and meshops.is_vertex_manifold(len(m.v), m.f)):
        raise RemeshError("remeshing broke the mesh's manifoldness (please report this as a bug)")
    return RemeshResult(m.v, m.f, m.src, m.t)


def remesh_or_keep(verts: np.ndarray, faces: np.ndarray, target: np.ndarray,
                   active: np.ndarray | None = None) -> Mesh | None:
    """`remesh` for a caller that keeps its own mesh when the surgery fails (the repair's coarsening of
    folds, `softfit.mesh.clean.repair_mesh(remesh=...)`, which edits only the `active` region): the new
    mesh, or None."""
    try:
        out = remesh(verts, faces, target, active=active)
    except RemeshError:
        return None
    return Mesh(out.verts, out.faces)

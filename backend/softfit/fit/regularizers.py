"""Mesh regularisers for silhouette fitting, scale-free so one weight works for any object size.

Silhouettes constrain only the outline, so without a prior the mesh folds and spikes where no view
looks closely. Each term here is divided by the initial mean edge length (squared where the term is
quadratic in lengths): a weight then means the same for a 1 cm and a 1 m object, and for 500 or 5 000
faces. All take verts (V, 3) and a `Topology` computed once from the faces."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class Topology:
    """Connectivity derived once from the faces: unique edges and, for each interior edge, its two faces
    and the two vertices opposite it."""

    faces: torch.Tensor  # (F, 3) int64
    edges: torch.Tensor  # (E, 2) int64, unique undirected edges
    edge_faces: torch.Tensor  # (M, 2) faces sharing an interior edge
    edge_pairs: torch.Tensor  # (M, 2) the shared edge's vertices
    opposite: torch.Tensor  # (M, 2) the vertex of each face not on the edge
    n_verts: int
    ref_length: float  # mean edge length of the initial mesh (the unit of every term)

    @classmethod
    def build(cls, verts: np.ndarray, faces: np.ndarray, device: torch.device | str = "cpu") -> Topology:
        f = np.asarray(faces, dtype=np.int64)
        half = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])  # (3F, 2), half-edge k of face
        face_of = np.tile(np.arange(len(f)), 3)
        opp_of = np.concatenate([f[:, 2], f[:, 0], f[:, 1]])
        key = np.sort(half, axis=1)
        uniq, inverse, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
        inverse = inverse.reshape(-1)
        # Interior edges (exactly two faces): pair the two half-edges that share a key.
        order = np.argsort(inverse, kind="stable")
        sorted_inv = inverse[order]
        first = np.searchsorted(sorted_inv, np.arange(len(uniq)))
        interior = np.nonzero(counts == 2)[0]
        a, b = order[first[interior]], order[first[interior] + 1]
        v = np.asarray(verts, dtype=np.float64)
        ref = float(np.linalg.norm(v[uniq[:, 0]] - v[uniq[:, 1]], axis=1).mean()) if len(uniq) else 1.0

        def t(x: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(np.ascontiguousarray(x), dtype=torch.int64, device=device)

        return cls(t(f), t(uniq), t(np.stack([face_of[a], face_of[b]], 1)), t(uniq[interior]),
                   t(np.stack([opp_of[a], opp_of[b]], 1)), len(v), max(ref, 1e-12))


def uniform_laplacian(verts: torch.Tensor, topo: Topology) -> torch.Tensor:
    """(V, 3) δ_i = x_i − mean of x_i's neighbours (zero for isolated vertices)."""
    i, j = topo.edges[:, 0], topo.edges[:, 1]
    acc = torch.zeros_like(verts).index_add_(0, i, verts[j]).index_add_(0, j, verts[i])
    deg = torch.zeros(topo.n_verts, dtype=verts.dtype, device=verts.device)
    ones = torch.ones_like(i, dtype=verts.dtype)
    deg.index_add_(0, i, ones).index_add_(0, j, ones)
    mean = acc / deg.clamp_min(1)[:, None]
    return torch.where(deg[:, None] > 0, verts - mean, torch.zeros_like(verts))


def cotangent_laplacian(verts: torch.Tensor, topo: Topology) -> torch.Tensor:
    """(V, 3) δ_i = x_i − Σ_j w_ij x_j / Σ_j w_ij with cotangent weights (negative ones clamped to 0).

    The weights are taken from the current shape but detached: differentiating through them rewards
    degenerate triangles (a known instability), and the fit only needs the smoothing direction."""
    f = topo.faces
    with torch.no_grad():
        v0, v1, v2 = verts[f[:, 0]], verts[f[:, 1]], verts[f[:, 2]]
        # cot of the angle at each corner = (a·b) / |a×b|; the corner k weighs the edge opposite it.
        def cot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return (a * b).sum(1) / torch.linalg.cross(a, b).norm(dim=1).clamp_min(1e-12)

        c0, c1, c2 = cot(v1 - v0, v2 - v0), cot(v2 - v1, v0 - v1), cot(v0 - v2, v1 - v2)
        ii = torch.cat([f[:, 1], f[:, 2], f[:, 0]])
        jj = torch.cat([f[:, 2], f[:, 0], f[:, 1]])
        w = (0.5 * torch.cat([c0, c1, c2])).clamp_min(0)
    acc = torch.zeros_like(verts)
    acc.index_add_(0, ii, w[:, None] * verts[jj]).index_add_(0, jj, w[:, None] * verts[ii])
    wsum = torch.zeros(topo.n_verts, dtype=verts.dtype, device=verts.device)
    wsum.index_add_(0, ii, w).index_add_(0, jj, w)
    ok = wsum > 1e-12
    return torch.where(ok[:, None], verts - acc / wsum.clamp_min(1e-12)[:, None], torch.zeros_like(verts))


def laplacian_loss(verts: torch.Tensor, topo: Topology, kind: str = "uniform") -> torch.Tensor:
    """Mean squared Laplacian length in units of the initial mean edge length: 0 for a plane."""
    delta = uniform_laplacian(verts, topo) if kind == "uniform" else cotangent_laplacian(verts, topo)
    return (delta.square().sum(1)).mean() / topo.ref_length**2


def edge_lengths(verts: torch.Tensor, topo: Topology) -> torch.Tensor:
    return (verts[topo.edges[:, 0]] - verts[topo.edges[:, 1]]).norm(dim=1)


def edge_loss(verts: torch.Tensor, topo: Topology) -> torch.Tensor:
    """Mean squared deviation of edge lengths from their mean, relative to that mean: 0 for equal edges.

    Keeps triangles even (no slivers) without pulling the mesh smaller, unlike a plain length penalty."""
    length = edge_lengths(verts, topo)
    return ((length / length.mean().detach().clamp_min(1e-12) - 1.0) ** 2).mean()


def face_normals(verts: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """(F, 3) unnormalised normals (length = twice the area)."""
    v0, v1, v2 = verts[faces[:, 0]], verts[faces[:, 1]], verts[faces[:, 2]]
    return torch.linalg.cross(v1 - v0, v2 - v0)


def normal_consistency_loss(verts: torch.Tensor, topo: Topology) -> torch.Tensor:
    """Mean over interior edges of 1 − cos(angle between the two faces' normals): 0 when flat."""
    if len(topo.edge_faces) == 0:
        return verts.sum() * 0.0
    n = face_normals(verts, topo.faces)
    n = n / n.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return (1.0 - (n[topo.edge_faces[:, 0]] * n[topo.edge_faces[:, 1]]).sum(1)).mean()


def flatten_loss(verts: torch.Tensor, topo: Topology) -> torch.Tensor:
    """SoftRas' flatten term: mean over interior edges of (cos θ + 1)², θ the angle between the two
    opposite vertices' perpendiculars onto the shared edge (θ = π when the two faces are coplanar)."""
    if len(topo.edge_pairs) == 0:
        return verts.sum() * 0.0
    a, b = verts[topo.edge_pairs[:, 0]], verts[topo.edge_pairs[:, 1]]
    e = b - a
    e_hat = e / e.norm(dim=1, keepdim=True).clamp_min(1e-12)

    def perp(p: torch.Tensor) -> torch.Tensor:
        d = p - a
        return d - (d * e_hat).sum(1, keepdim=True) * e_hat

    p0, p1 = perp(verts[topo.opposite[:, 0]]), perp(verts[topo.opposite[:, 1]])
    cos = (p0 * p1).sum(1) / (p0.norm(dim=1) * p1.norm(dim=1)).clamp_min(1e-12)
    return ((cos + 1.0) ** 2).mean()


REGULARIZERS = ("laplacian", "edge", "normal", "flatten")


def regularizer_terms(verts: torch.Tensor, topo: Topology, weights: dict[str, float],
                      laplacian: str = "uniform") -> dict[str, torch.Tensor]:
    """The terms with a non-zero weight, unweighted, keyed by name (the caller weighs and reports)."""
    fns = {
        "laplacian": lambda: laplacian_loss(verts, topo, laplacian),
        "edge": lambda: edge_loss(verts, topo),
        "normal": lambda: normal_consistency_loss(verts, topo),
        "flatten": lambda: flatten_loss(verts, topo),
    }
    return {k: fns[k]() for k in REGULARIZERS if weights.get(k, 0.0) > 0}

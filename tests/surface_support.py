"""Independent checks of polygon meshes for the quad-remesh tests: OBJ polygons read back by hand, edge
use counts, and exact point-to-triangle distances by brute force (not Blender's BVH tree, which the
QuadriFlow child itself uses)."""

from pathlib import Path

import numpy as np
import trimesh


def read_polygons(path: Path) -> tuple[np.ndarray, list[list[int]]]:
    verts, faces = [], []
    for line in path.read_text().splitlines():
        if line.startswith("v "):
            verts.append([float(x) for x in line.split()[1:4]])
        elif line.startswith("f "):
            faces.append([int(x) - 1 for x in line.split()[1:]])
    return np.array(verts), faces


def edge_face_counts(faces: list[list[int]]) -> np.ndarray:
    edges: dict[tuple[int, int], int] = {}
    for f in faces:
        for a, b in zip(f, f[1:] + f[:1], strict=True):
            key = (min(a, b), max(a, b))
            edges[key] = edges.get(key, 0) + 1
    return np.array(list(edges.values()))


def fan(faces: list[list[int]]) -> np.ndarray:
    return np.array([[f[0], f[i], f[i + 1]] for f in faces for i in range(1, len(f) - 1)])


def point_triangle_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Exact distance from points p (N, 3) to each triangle (a, b, c: (T, 3)) -> (N, T): the closest
    point is inside the triangle or on one of its edges."""
    n = np.cross(b - a, c - a)
    n = n / np.linalg.norm(n, axis=1, keepdims=True)
    d = p[:, None, :] - a[None]
    plane = np.einsum("ntk,tk->nt", d, n)
    q = p[:, None, :] - plane[..., None] * n[None]  # projection onto the plane
    inside = np.ones(plane.shape, bool)
    for u, v in ((a, b), (b, c), (c, a)):
        inside &= np.einsum("ntk,tk->nt", np.cross(v - u, q - u[None]), n) >= 0
    best = np.where(inside, np.abs(plane), np.inf)
    for u, v in ((a, b), (b, c), (c, a)):
        e = v - u
        t = np.clip(np.einsum("ntk,tk->nt", p[:, None, :] - u[None], e) / np.einsum("tk,tk->t", e, e), 0, 1)
        best = np.minimum(best, np.linalg.norm(p[:, None, :] - (u[None] + t[..., None] * e[None]), axis=2))
    return best


def surface_distance(points: np.ndarray, verts: np.ndarray, tris: np.ndarray) -> np.ndarray:
    a, b, c = (verts[tris[:, i]] for i in range(3))
    return np.concatenate([point_triangle_distance(chunk, a, b, c).min(1)
                           for chunk in np.array_split(points, max(1, len(points) // 50))])


def p99_distance(va: np.ndarray, ta: np.ndarray, vb: np.ndarray, tb: np.ndarray, n: int = 1500) -> float:
    """99th percentile of the two-sided distance between two triangle surfaces, computed here by brute
    force (not with Blender's BVH tree, which the QuadriFlow child uses)."""
    pa, _ = trimesh.sample.sample_surface(trimesh.Trimesh(va, ta, process=False), n, seed=1)
    pb, _ = trimesh.sample.sample_surface(trimesh.Trimesh(vb, tb, process=False), n, seed=2)
    return float(np.percentile(np.concatenate([surface_distance(pa, vb, tb), surface_distance(pb, va, ta)]),
                               99))

"""Independent checks of polygon meshes for the quad-remesh tests: OBJ polygons read back by hand, edge
use counts, exact point-to-triangle distances by brute force (not Blender's BVH tree, which the
QuadriFlow child itself uses), and textures whose colour says where a point is."""

from pathlib import Path

import numpy as np
import trimesh
from scipy import ndimage

from softfit.mesh.types import Mesh
from softfit.texture.bake import texel_points
from softfit.texture.unwrap import unwrap


def read_obj(path: Path) -> tuple[np.ndarray, list[list[int]], np.ndarray, list[list[int]]]:
    """Vertices, polygons, texture coordinates and each polygon's vt indices (empty without vt), read
    by hand: "f v", "f v/vt" and "f v/vt/vn" corners."""
    verts, faces, uvs, uv_faces = [], [], [], []
    for line in path.read_text().splitlines():
        if line.startswith("v "):
            verts.append([float(x) for x in line.split()[1:4]])
        elif line.startswith("vt "):
            uvs.append([float(x) for x in line.split()[1:3]])
        elif line.startswith("f "):
            corners = [c.split("/") for c in line.split()[1:]]
            faces.append([int(c[0]) - 1 for c in corners])
            uv_faces.append([int(c[1]) - 1 for c in corners if len(c) > 1 and c[1]])
    return np.array(verts), faces, np.array(uvs).reshape(-1, 2), uv_faces


def read_polygons(path: Path) -> tuple[np.ndarray, list[list[int]]]:
    verts, faces, _, _ = read_obj(path)
    return verts, faces


def texel_lookup(image: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """(N, 3) colours of the texels under UVs (N, 2) (v up, image row 0 at the top), nearest texel."""
    h, w = image.shape[:2]
    col = np.clip(np.floor(uv[:, 0] * w), 0, w - 1).astype(int)
    row = np.clip(np.floor((1.0 - uv[:, 1]) * h), 0, h - 1).astype(int)
    return image[row, col].astype(np.float64)


def textured_samples(verts: np.ndarray, tris: np.ndarray, tri_uv: np.ndarray, n: int, seed: int = 0
                     ) -> tuple[np.ndarray, np.ndarray]:
    """n random points of a textured triangle surface (uniform per triangle) and their UVs: tri_uv
    (T, 3, 2) per corner."""
    rng = np.random.default_rng(seed)
    k = rng.integers(0, len(tris), n)
    a, b = rng.random(n), rng.random(n)
    flip = a + b > 1
    a[flip], b[flip] = 1 - a[flip], 1 - b[flip]
    v = verts[tris[k]]
    t = tri_uv[k]
    points = v[:, 0] + a[:, None] * (v[:, 1] - v[:, 0]) + b[:, None] * (v[:, 2] - v[:, 0])
    uv = t[:, 0] + a[:, None] * (t[:, 1] - t[:, 0]) + b[:, None] * (t[:, 2] - t[:, 0])
    return points, uv


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


def position_colour(points: np.ndarray) -> np.ndarray:
    """A colour that says where a point is: (N, 3) positions -> (N, 3) levels."""
    return np.clip(127.5 + 180.0 * points, 0, 255)


def painted(verts: np.ndarray, faces: np.ndarray, texel: float) -> tuple[np.ndarray, np.ndarray]:
    """A texture of `position_colour` for the mesh, baked with the backend's xatlas unwrap and texel
    rasteriser: UVs (F, 3, 2) per corner and the (H, W, 3) uint8 image (row 0 at the top)."""
    uvm = unwrap(Mesh(verts, faces), texel)
    pix, points, _ = texel_points(uvm)
    w, h = uvm.size
    image = np.zeros((h * w, 3))
    image[pix] = position_colour(points)
    filled = np.zeros(h * w, bool)
    filled[pix] = True
    _, (ri, ci) = ndimage.distance_transform_edt(~filled.reshape(h, w), return_indices=True)
    return uvm.uvs[uvm.uv_faces], np.round(image.reshape(h, w, 3)[ri, ci]).astype(np.uint8)

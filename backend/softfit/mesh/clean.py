"""Topology an artist can edit: check a mesh and repair what a fit can break.

`check_mesh` measures what Blender's 3D-Print toolbox and trimesh call a clean solid: every edge shared
by exactly two faces (watertight, edge-manifold), every vertex a single fan of faces (vertex-manifold),
neighbouring faces wound the same way, outward normals (positive volume), no faces crossing each other,
no zero-area faces. `repair_mesh` fixes what can be fixed without changing the shape beyond a small,
reported distance: duplicate vertices merged, degenerate and duplicate faces dropped, holes filled,
winding made consistent and outward (trimesh), and self-intersections (folds a fit can leave behind in
thin parts) untangled by smoothing only the vertices around each crossing until none is left."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from softfit.mesh.intersect import intersecting_pairs
from softfit.mesh.types import Mesh

UNTANGLE_ROUNDS = 40  # smoothing rounds at most; each moves only the vertices near a crossing
UNTANGLE_STEPS = 2  # uniform Laplacian steps per round
UNTANGLE_LAMBDA = 0.5


def _trimesh(mesh: Mesh) -> trimesh.Trimesh:
    return trimesh.Trimesh(mesh.verts, mesh.faces, process=False, validate=False)


def _edge_face_counts(faces: np.ndarray) -> np.ndarray:
    """(E,) how many faces use each undirected edge."""
    e = np.sort(faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
    return np.unique(e, axis=0, return_counts=True)[1]


def nonmanifold_vertices(faces: np.ndarray, n_verts: int) -> np.ndarray:
    """Indices of vertices whose faces form more than one fan (two cones touching at a tip).

    Face corners at the same vertex are joined when their faces share an edge through that vertex; a
    manifold vertex has all its corners in one group."""
    f = len(faces)
    if f == 0:
        return np.zeros(0, dtype=np.int64)
    corner = np.arange(3 * f).reshape(f, 3)
    # Half-edge (a -> b) in face i, corners (i, k) at a and (i, k+1) at b.
    a = faces.reshape(-1)
    b = faces[:, [1, 2, 0]].reshape(-1)
    ca, cb = corner.reshape(-1), corner[:, [1, 2, 0]].reshape(-1)
    key = np.minimum(a, b) * np.int64(n_verts) + np.maximum(a, b)
    order = np.argsort(key, kind="stable")
    k = key[order]
    same = np.flatnonzero(k[1:] == k[:-1])  # consecutive half-edges on one undirected edge
    i, j = order[same], order[same + 1]
    rows, cols = [], []
    for x, y in ((i, j), (j, i)):
        # Join the corners at the same vertex: vertex a of x with whichever corner of y has it.
        for cx, vx in ((ca[x], a[x]), (cb[x], b[x])):
            cy = np.where(a[y] == vx, ca[y], cb[y])
            rows.append(cx)
            cols.append(cy)
    r, c = np.concatenate(rows), np.concatenate(cols)
    graph = sparse.coo_matrix((np.ones(len(r)), (r, c)), shape=(3 * f, 3 * f))
    _, label = connected_components(graph, directed=False)
    groups = np.unique(np.stack([a, label[ca]], axis=1), axis=0)
    counts = np.bincount(groups[:, 0], minlength=n_verts)
    return np.flatnonzero(counts > 1)


@dataclass
class MeshCheck:
    """What `check_mesh` found; `ok` is the artist's "clean solid" verdict."""

    verts: int
    faces: int
    components: int
    boundary_edges: int
    nonmanifold_edges: int
    nonmanifold_verts: int
    winding_consistent: bool
    outward: bool
    self_intersections: int
    degenerate_faces: int
    genus: int | None

    @property
    def watertight(self) -> bool:
        return self.boundary_edges == 0 and self.nonmanifold_edges == 0

    @property
    def manifold(self) -> bool:
        return self.nonmanifold_edges == 0 and self.nonmanifold_verts == 0

    @property
    def ok(self) -> bool:
        return (self.watertight and self.manifold and self.winding_consistent and self.outward
                and self.self_intersections == 0 and self.degenerate_faces == 0)

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d.update(watertight=self.watertight, manifold=self.manifold, ok=self.ok)
        return d


def check_mesh(mesh: Mesh) -> MeshCheck:
    """Measure every property in the module docstring."""
    tm = _trimesh(mesh)
    counts = _edge_face_counts(mesh.faces) if mesh.n_faces else np.zeros(0, dtype=np.int64)
    areas = tm.area_faces if mesh.n_faces else np.zeros(0)
    scale = float(np.ptp(mesh.verts, axis=0).max()) if mesh.n_verts else 0.0
    degenerate = int((areas <= (1e-12 * scale) ** 2).sum()) if scale > 0 else mesh.n_faces
    components = int(tm.body_count) if mesh.n_faces else 0
    watertight = bool(mesh.n_faces) and bool((counts == 2).all())
    winding = bool(tm.is_winding_consistent) if mesh.n_faces else False
    tri = mesh.verts[mesh.faces]
    volume = float(np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum()) / 6.0
    outward = watertight and winding and volume > 0
    genus = None
    if watertight and components == 1:
        genus = int(round((2 - tm.euler_number) / 2))
    return MeshCheck(
        verts=mesh.n_verts, faces=mesh.n_faces, components=components,
        boundary_edges=int((counts == 1).sum()), nonmanifold_edges=int((counts > 2).sum()),
        nonmanifold_verts=len(nonmanifold_vertices(mesh.faces, mesh.n_verts)),
        winding_consistent=winding, outward=outward,
        self_intersections=len(intersecting_pairs(mesh)), degenerate_faces=degenerate, genus=genus)


def _neighbours(faces: np.ndarray, n: int) -> sparse.csr_matrix:
    e = faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2)
    adj = sparse.coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n)).tocsr()
    adj = ((adj + adj.T) > 0).astype(np.float64)
    return adj


def untangle(mesh: Mesh, rounds: int = UNTANGLE_ROUNDS) -> tuple[Mesh, int]:
    """Smooth the neighbourhood of every crossing until no faces cross (or `rounds` run out).

    Returns the mesh and how many crossing pairs are left. Only vertices of crossing faces and their
    one-ring move, so the rest of the fitted shape is untouched."""
    verts = mesh.verts.copy()
    adj = _neighbours(mesh.faces, mesh.n_verts)
    deg = np.asarray(adj.sum(axis=1)).ravel()
    pairs = intersecting_pairs(mesh)
    for _ in range(rounds):
        if len(pairs) == 0:
            break
        region = np.zeros(mesh.n_verts, dtype=bool)
        region[np.unique(mesh.faces[pairs.ravel()])] = True
        region |= (adj @ region.astype(np.float64)) > 0
        for _ in range(UNTANGLE_STEPS):
            mean = (adj @ verts) / np.maximum(deg, 1)[:, None]
            verts[region] += UNTANGLE_LAMBDA * (mean[region] - verts[region])
        pairs = intersecting_pairs(Mesh(verts, mesh.faces))
    return Mesh(verts, mesh.faces), len(pairs)


def repair_mesh(mesh: Mesh) -> tuple[Mesh, dict]:
    """The repaired mesh and a report: checks before and after, each step's effect, and the largest
    distance any vertex moved (absolute, and relative to the bounding-box diagonal)."""
    before = check_mesh(mesh)
    steps: dict[str, int] = {}
    tm = _trimesh(mesh)
    n_v, n_f = len(tm.vertices), len(tm.faces)
    tm.merge_vertices(merge_tex=True, merge_norm=True)
    steps["merged_vertices"] = n_v - len(tm.vertices)
    tm.update_faces(tm.nondegenerate_faces())
    tm.update_faces(tm.unique_faces())
    tm.remove_unreferenced_vertices()
    steps["removed_faces"] = n_f - len(tm.faces)
    n_f = len(tm.faces)
    if not tm.is_watertight:
        trimesh.repair.fill_holes(tm)
    steps["hole_faces_added"] = len(tm.faces) - n_f
    trimesh.repair.fix_normals(tm, multibody=True)
    out = Mesh(np.asarray(tm.vertices, dtype=np.float64), np.asarray(tm.faces, dtype=np.int64))
    crossings = len(intersecting_pairs(out))
    moved = 0.0
    if crossings:  # the only step that moves vertices (the others merge, drop or add faces)
        untangled, left = untangle(out)
        moved = float(np.linalg.norm(untangled.verts - out.verts, axis=1).max())
        steps["untangled_pairs"] = crossings - left
        out = untangled
    after = check_mesh(out)
    diag = float(np.linalg.norm(np.ptp(mesh.verts, axis=0))) if mesh.n_verts else 0.0
    report = {"before": before.to_dict(), "after": after.to_dict(), "steps": steps,
              "max_displacement": moved, "max_displacement_rel": moved / diag if diag > 0 else 0.0}
    return out, report

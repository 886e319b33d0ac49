"""Topology an artist can edit: check a mesh and repair what a fit can break.

`check_mesh` measures what Blender's 3D-Print toolbox and trimesh call a clean solid: every edge shared
by exactly two faces (watertight, edge-manifold), every vertex a single fan of faces (vertex-manifold),
neighbouring faces wound the same way, outward normals (positive volume), no faces crossing each other,
no zero-area faces. `repair_mesh` fixes what can be fixed without changing the shape beyond a small,
reported distance: duplicate vertices merged, degenerate and duplicate faces dropped, holes filled,
winding made consistent and outward (trimesh), and self-intersections (folds a fit can leave behind in
thin parts) untangled by smoothing only the vertices around each crossing until none is left, or, where a
part thinner than the faces collapsed and its two sides lie crossed on each other, by pushing the sides
apart (`softfit.mesh.thicken`), whichever leaves fewer crossings (`open_crossings`), then each vertex
moved back toward the fit as far as it can go without a crossing (`restore`). A fold that
smoothing cannot open (tiny faces of a graded mesh tucked under their neighbours, where the smoothing
region's own boundary is folded) is remeshed coarser around the crossing first, so that it has fewer,
larger faces to untangle. The remesher is the fit's (a stage above this module), so the caller hands it
in (`remesh=softfit.fit.remesh.remesh_or_keep`); without it, or for a mesh whose vertex indices must be
kept (pinned vertices), crossings are only smoothed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import trimesh
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from softfit.mesh.intersect import intersecting_pairs
from softfit.mesh.neighbourhood import local_edge_length, neighbours, pairs_near, region
from softfit.mesh.thicken import thicken
from softfit.mesh.types import Mesh

UNTANGLE_ROUNDS = 40  # smoothing rounds at most; each moves only the vertices near a crossing
UNTANGLE_STEPS = 2  # uniform Laplacian steps per round
UNTANGLE_LAMBDA = 0.5
TAUBIN_MU = -0.53  # Taubin's inflating step (|mu| a little above lambda: no shrinking, no growth)
COARSEN_FACTOR = 3.0  # target edge length around a crossing that smoothing left, relative to the local one
COARSEN_RINGS = 2  # vertex rings around the crossing faces that get the longer target
# Coarsen-and-untangle passes at most. The crossings left do not fall steadily (the adaptive torus knot of
# `softfit bench thin`, round 13: 39 after smoothing, then 11, 5, 5, 21, 4, 5, 4, 0: clean at the 8th pass,
# not at 5); each pass only runs while crossings remain.
COARSEN_PASSES = 10
RESTORE_STEPS = 8  # halvings of each vertex's way back to the fit (its last 1/256 is left untried)
# More crossing pairs than faces: not folds but a tangle (a fit without Large Steps' smoothness, round 21:
# 543 197 pairs on 2 098 faces). Smoothing it takes minutes and collapses the mesh (training IoU
# 0.945 -> 0.006), so it is left as it is and reported; folds are far fewer (the demo 16, the worst
# benchmark fits 563 on 2 098 faces and 233 on 6 276).
TANGLE_PAIRS_PER_FACE = 1.0
# Minimum thicknesses (x the local edge length) a collapsed thin part's sides are pushed apart to, each
# tried (`open_crossings`): on the 11 fits of round 22 neither was best everywhere (the 256² airplane at
# 8 000 faces: training error x1.60 at 0.5, x1.24 at 1.0; the 256² chair's adaptive fit: no crossing
# left at 0.5, 25 at 1.0).
THICKEN_DELTAS = (0.5, 1.0)

# (verts, faces, target, active) -> mesh: edits only the active vertices' edges, None if it refuses
Remesher = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], Mesh | None]


def _trimesh(mesh: Mesh) -> trimesh.Trimesh:
    return trimesh.Trimesh(mesh.verts, mesh.faces, process=False, validate=False)


def edge_face_counts(faces: np.ndarray) -> np.ndarray:
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


def check_mesh(mesh: Mesh, crossings: int | None = None) -> MeshCheck:
    """Measure every property in the module docstring; `crossings`: the crossing pairs when the caller
    has counted them already (on a tangle, counting takes seconds)."""
    tm = _trimesh(mesh)
    counts = edge_face_counts(mesh.faces) if mesh.n_faces else np.zeros(0, dtype=np.int64)
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
        self_intersections=len(intersecting_pairs(mesh)) if crossings is None else crossings,
        degenerate_faces=degenerate, genus=genus)


def untangle(mesh: Mesh, rounds: int = UNTANGLE_ROUNDS, pairs: np.ndarray | None = None
             ) -> tuple[Mesh, np.ndarray]:
    """Smooth the neighbourhood of every crossing until no faces cross (or the rounds run out).

    Returns the mesh and the crossing pairs left. Only vertices of crossing faces and their one-ring
    move, so the rest of the fitted shape is untouched (and only faces near them are tested again). Taubin
    smoothing first (a shrinking step, then an inflating one), which opens a fold without pulling the
    surface in; plain Laplacian smoothing for what it leaves, which opens folds of tiny faces better but
    shrinks: on the demo's fit (16 crossing pairs) Laplacian smoothing alone cost 0.0057 held-out IoU,
    Taubin first 0.0007 (benchmarks/thin.md, round 20). `pairs`: `mesh`'s crossing pairs when the caller
    has them (each full count is 0.1-0.2 s on 5 000 faces)."""
    out, pairs = _smooth_crossings(mesh, rounds, (UNTANGLE_LAMBDA, TAUBIN_MU), pairs)
    if len(pairs) == 0:
        return out, pairs
    return _smooth_crossings(out, rounds, (UNTANGLE_LAMBDA,) * UNTANGLE_STEPS, pairs)


def restore(fitted: Mesh, untangled: Mesh, steps: int = RESTORE_STEPS) -> tuple[Mesh, np.ndarray]:
    """Move each vertex of `untangled` back toward where it was in `fitted` (same faces) as far as it
    can go without a face crossing another, by halving each vertex's step separately: smoothing opens a
    fold by moving a whole neighbourhood, but usually only a few of its vertices have to stay moved.
    Returns the mesh and the crossing pairs left (those `untangled` already had). Measured on the demo
    dataset's fits (training views' silhouette error, fit -> untangled -> restored): the default fit
    0.01598 -> 0.01640 -> 0.01597, from the bounding-box ellipsoid 0.0209 -> 0.0264 -> 0.0213,
    per-coordinate Adam 0.0215 -> 0.0611 -> 0.0285 (round 21)."""
    way = fitted.verts - untangled.verts
    moved = np.linalg.norm(way, axis=1) > 0
    if not moved.any():
        return untangled, intersecting_pairs(untangled)
    lo, hi = np.zeros(len(way)), moved.astype(np.float64)

    def crossing(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mesh = Mesh(untangled.verts + t[:, None] * way, fitted.faces)
        pairs = pairs_near(mesh, moved)
        bad = np.zeros(len(way), dtype=bool)
        bad[fitted.faces[pairs.ravel()]] = True
        return pairs, bad

    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        _, bad = crossing(mid)
        hi, lo = np.where(bad, mid, hi), np.where(bad, lo, mid)
    while True:  # each vertex's step was tried with its neighbours at theirs: check them all together
        pairs, bad = crossing(lo)
        bad &= lo > 0
        if not bad.any():
            break
        lo[bad] = 0.0
    out = Mesh(untangled.verts + lo[:, None] * way, fitted.faces)
    return out, intersecting_pairs(out)


def open_crossings(mesh: Mesh, score: Callable[[Mesh], float] | None = None
                   ) -> tuple[Mesh, np.ndarray, str]:
    """(mesh, crossing pairs left, how) after opening `mesh`'s crossings each way there is, each restored
    toward `mesh` (`restore`): smoothing (`untangle`), and pushing a collapsed thin part's sides apart at
    each of THICKEN_DELTAS (`softfit.mesh.thicken`, then smoothing what that leaves). Kept: the one with
    the fewest crossings left, then the lowest `score` (default: the number of vertices moved, the most
    local repair: pushing apart can open a fold within one surface too, by moving many more vertices).
    Neither way wins everywhere (round 22, 11 fits of `softfit bench thin` with crossings): smoothing
    opens a fold within one surface and leaves two sides lying on each other crossed (the chair's legs
    at 256², 1 000 faces: 20 of 22 pairs left, training error x1.23; thickened: none left, x1.00); pushing
    apart does the reverse (the 64² mug's adaptive fit: 14 pairs left where smoothing leaves none)."""
    pairs = intersecting_pairs(mesh)
    tries = {"smoothing": untangle(mesh, pairs=pairs)[0]}
    for delta in THICKEN_DELTAS:
        pushed, left = thicken(mesh, pairs, delta)
        how = f"pushing sides apart ({delta:g} x edge)"
        tries[how] = untangle(pushed, pairs=left)[0] if len(left) else pushed  # `left`: all it crosses
    done = {how: restore(mesh, m) for how, m in tries.items()}

    def rank(how: str) -> tuple[int, float]:
        out, left = done[how]
        if score is not None:
            return len(left), score(out)
        return len(left), float((np.linalg.norm(out.verts - mesh.verts, axis=1) > 0).sum())

    best = min(done, key=rank)
    return *done[best], best


def _smooth_crossings(mesh: Mesh, rounds: int, weights: tuple[float, ...], pairs: np.ndarray | None = None
                      ) -> tuple[Mesh, np.ndarray]:
    verts = mesh.verts.copy()
    adj = neighbours(mesh.faces, mesh.n_verts)
    deg = np.asarray(adj.sum(axis=1)).ravel()
    pairs = intersecting_pairs(mesh) if pairs is None else pairs
    for _ in range(rounds):
        if len(pairs) == 0:
            break
        near = region(mesh.faces, pairs, adj, 1)
        for w in weights:
            mean = (adj @ verts) / np.maximum(deg, 1)[:, None]
            verts[near] += w * (mean[near] - verts[near])
        pairs = pairs_near(Mesh(verts, mesh.faces), near)
    return Mesh(verts, mesh.faces), pairs


def coarsen_crossings(mesh: Mesh, pairs: np.ndarray, remesh: Remesher) -> Mesh | None:
    """Remesh with COARSEN_FACTOR times the local edge length around the crossing `pairs`, so a fold of
    tiny faces becomes a few larger ones that smoothing can open. Only that region and one ring round it
    are edited: the rest of the mesh keeps its vertices and faces (remeshing all of it at its own local
    length collapsed a fifth of a graded mesh's edges and relaxed every vertex: the adaptive torus knot
    3 074 -> 2 458 faces, training error x2.0 in one pass). None if the remesher refuses (the surgery
    would break the mesh): the caller keeps its mesh."""
    local = local_edge_length(mesh)
    adj = neighbours(mesh.faces, mesh.n_verts)
    near = region(mesh.faces, pairs, adj, COARSEN_RINGS)
    active = region(mesh.faces, pairs, adj, COARSEN_RINGS + 1)
    return remesh(mesh.verts, mesh.faces, np.where(near, COARSEN_FACTOR * local, local), active)


def surface_distance(points: np.ndarray, mesh: Mesh, k: int = 8) -> np.ndarray:
    """(P,) distance from each point to the nearest of the k faces of `mesh` whose centres are nearest
    (exact for the small moves a repair makes)."""
    tri = mesh.verts[mesh.faces]
    _, idx = cKDTree(tri.mean(axis=1)).query(points, k=min(k, len(tri)))
    idx = idx.reshape(len(points), -1)
    closest = trimesh.triangles.closest_point(tri[idx.ravel()], np.repeat(points, idx.shape[1], axis=0))
    d = np.linalg.norm(closest - np.repeat(points, idx.shape[1], axis=0), axis=1)
    return d.reshape(len(points), -1).min(axis=1)


def repair_mesh(mesh: Mesh, remesh: Remesher | None = None, untangle_folds: bool = True,
                score: Callable[[Mesh], float] | None = None) -> tuple[Mesh, dict]:
    """The repaired mesh and a report: checks before and after, each step's effect, and the largest
    distance any vertex moved (absolute, and relative to the bounding-box diagonal; after remeshing
    around a crossing, the largest distance of a vertex from the unrepaired surface).
    remesh: the remesher for folds smoothing cannot open (`softfit.fit.remesh.remesh_or_keep`); None: only
    smooth, so the vertex indices hold (pinned vertices). untangle_folds=False: no vertex moves (the
    crossings are only counted). score: how far a mesh is from what it must show (the fit's training
    views' silhouette error), which picks among the ways of opening crossings (`open_crossings`);
    `opened_by` in the report names the one kept."""
    return repair_mesh_both(mesh, remesh, untangle_folds, score)[0]


def repair_mesh_both(mesh: Mesh, remesh: Remesher | None = None, untangle_folds: bool = True,
                     score: Callable[[Mesh], float] | None = None
                     ) -> tuple[tuple[Mesh, dict], tuple[Mesh, dict] | None]:
    """`repair_mesh`'s (mesh, report), and, when it coarsened around folds, the (mesh, report) of the same
    repair stopped before coarsening: what `remesh=None` gives, without opening the crossings again (a
    caller that weighs the two, `softfit.fit.repair.repair_fitted`, needs both; opening them is the
    repair's dearest step)."""
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
    # Merging nothing and dropping nothing leaves the same faces (fix_normals only flips some): same crossings
    same = not any(steps.values())
    crossings = before.self_intersections if same else len(intersecting_pairs(out))
    diag = float(np.linalg.norm(np.ptp(mesh.verts, axis=0))) if mesh.n_verts else 0.0

    def report(steps: dict, after: MeshCheck, moved: float, opened_by: str | None) -> dict:
        out = {"before": before.to_dict(), "after": after.to_dict(), "steps": steps,
               "max_displacement": moved, "max_displacement_rel": moved / diag if diag > 0 else 0.0}
        return out if opened_by is None else out | {"opened_by": opened_by}

    if untangle_folds and crossings > TANGLE_PAIRS_PER_FACE * len(out.faces):
        steps["tangled_left_as_is"] = crossings
    if not (untangle_folds and crossings) or "tangled_left_as_is" in steps:
        return (out, report(steps, check_mesh(out, crossings), 0.0, None)), None
    # Opening the crossings is the only step that moves vertices (the others merge, drop, add).
    opened, left, opened_by = open_crossings(out, score)
    moved = float(np.linalg.norm(opened.verts - out.verts, axis=1).max())
    steps["untangled_pairs"] = crossings - len(left)
    smoothed = (opened, report(dict(steps), check_mesh(opened, len(left)), moved, opened_by))
    coarse, passes = opened, 0
    while len(left) and remesh is not None and passes < COARSEN_PASSES:
        coarser = coarsen_crossings(coarse, left, remesh)
        if coarser is None:
            break  # the smoothed mesh stands; its crossings are counted in the report
        coarse, left = restore(coarser, untangle(coarser)[0])  # a coarser fold: smoothing's case
        passes += 1
    if not passes:
        return smoothed, None
    steps.update(coarsened_passes=passes, untangled_pairs=crossings - len(left),
                 faces_after_coarsening=len(coarse.faces))
    moved = float(surface_distance(coarse.verts, out).max())
    coarsened = (coarse, report(steps, check_mesh(coarse, len(left)), moved,
                                opened_by + ", then coarsening and smoothing"))
    return coarsened, smoothed

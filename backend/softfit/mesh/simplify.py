"""Quadric-error decimation of a finished adaptive fit: the fewest faces whose silhouettes still match.

Adaptive remeshing (`softfit.fit.remesh`) keeps edges isotropic, sized by the pixel footprint and the
curvature, which the fit needs while it moves: a wing's outline can only move where it has vertices. A
finished flat wing or gently curved side does not need them. Collapsing edges by quadric error (Garland
and Heckbert 1997, through the `fast-simplification` library) keeps the shape with far fewer faces:
halving an adaptive fit's faces changed its IoU on views it never saw by under 0.001 on the thin objects
of `softfit bench thin` (benchmarks/thin.md, round 20). How far to go is read from the images: the
decimation stops before it makes the training views' silhouette error grow by more than a set share."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from softfit.mesh.clean import edge_face_counts, nonmanifold_vertices
from softfit.mesh.intersect import intersecting_pairs
from softfit.mesh.types import Mesh

KEEP_STEP = 0.7  # each try keeps this share of the last try's faces
MIN_FACES = 64  # never below this: a closed mesh this small is a blob, whatever the silhouettes say
Untangle = Callable[[Mesh], tuple[Mesh, int]]  # mesh -> (the mesh as written, its crossing pairs left)
DEGENERATE_REL = 1e-12  # face area / (bounding-box extent)² at or below which a face has no area


@dataclass
class Simplified:
    """The mesh kept and what was tried: `tries` holds (faces, error) for every candidate, error None where
    the decimator did not leave a closed, consistently wound 2-manifold; `untangled` the same for the
    meshes that crossed themselves (the fit first, when it did), once untangled. `max_error` is relative
    to `written_error` when there is one (the repair's cost is the writer's either way)."""

    mesh: Mesh
    faces_before: int
    error_before: float
    max_error: float
    tries: list[tuple[int, float | None]] = field(default_factory=list)
    untangled: list[tuple[int, float]] = field(default_factory=list)
    written_error: float | None = None  # the untangled fit's, when the fit crossed itself
    crossings: int = 0  # crossing face pairs the untangled fit still has: the decimation may not add any
    seconds: float = 0.0

    def summary(self) -> dict:
        return {"faces_before": self.faces_before, "faces_after": self.mesh.n_faces,
                "error_before": round(self.error_before, 6), "max_error": round(self.max_error, 6),
                "written_error": None if self.written_error is None else round(self.written_error, 6),
                "tries": [[f, None if e is None else round(e, 6)] for f, e in self.tries],
                "untangled": [[f, round(e, 6)] for f, e in self.untangled], "crossings": self.crossings,
                "seconds": round(self.seconds, 3)}


def decimate(mesh: Mesh, faces: int) -> Mesh | None:
    """`mesh` collapsed to about `faces` faces, or None when the result is not a closed, consistently
    wound 2-manifold without degenerate faces. The decimator can fold a thin pocket flat into two
    coincident faces of opposite winding (their edges then have four faces); both are dropped, which
    closes the surface there, and the vertices left unused are removed."""
    import fast_simplification

    v, f = fast_simplification.simplify(mesh.verts, mesh.faces.astype(np.int32), target_count=int(faces))
    f = _drop_coincident_pairs(np.asarray(f, dtype=np.int64))
    used, f = np.unique(f, return_inverse=True)
    out = Mesh(np.asarray(v, dtype=np.float64)[used], f.reshape(-1, 3))
    return out if _closed_manifold(out) else None


def _drop_coincident_pairs(faces: np.ndarray) -> np.ndarray:
    """Faces with the same three vertices removed, all copies (a pair of opposite windings is a
    zero-volume fin; an odd count would leave a hole, which `_closed_manifold` then refuses)."""
    if len(faces) == 0:
        return faces
    _, inverse, counts = np.unique(np.sort(faces, axis=1), axis=0, return_inverse=True, return_counts=True)
    return faces[counts[inverse.reshape(-1)] == 1]


def _closed_manifold(mesh: Mesh) -> bool:
    f = mesh.faces
    if len(f) < 4:
        return False
    if not (edge_face_counts(f) == 2).all() or len(nonmanifold_vertices(f, mesh.n_verts)):
        return False
    directed = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    if len(np.unique(directed, axis=0)) != len(directed):  # a directed edge twice: winding flips there
        return False
    tri = mesh.verts[f]
    area2 = np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    extent = float(np.ptp(mesh.verts, axis=0).max())
    return bool((area2 > 2 * DEGENERATE_REL * extent**2).all())


def simplify(mesh: Mesh, error: Callable[[Mesh], float], max_growth: float,
             untangle: Untangle | None = None) -> Simplified:
    """The fewest faces whose mesh, as it will be written, has an `error` (the training views' silhouette
    error, 1 - mean IoU) within (1 + max_growth) times that of `mesh` as it would be written: crossing
    folds opened by `untangle` (`softfit.fit.repair.repair_fitted`, the writer's repair), which returns
    the mesh and the crossing pairs it still has. The mesh returned is the untangled one; only where it
    still crosses itself does the writer's repair find more to do (its 5 % then counts from this mesh's
    error: benchmarks/thin.md, round 21).

    Decimation goes in steps of KEEP_STEP of the faces, from the untangled fit and from the fit itself (a
    fold decimated keeps crossing on faces so large that opening it afterwards moves the surface: the
    cube of `softfit bench fit` decimated to 338 faces from its fit lost 0.013 held-out IoU in the repair,
    while decimated from its untangled fit it kept the fit at 480). Along each, a candidate that is not a
    clean closed mesh is passed over, the first over the bound ends the steps (the error grows with every
    collapse, give or take the odd pixel), and the smallest within it that is still within it once
    untangled, and crosses itself at no more pairs of faces than the fit as written, is kept. A fit its
    repair cannot free of crossings is decimated only from its untangled mesh (its raw folds, decimated,
    cross on larger faces), and the decimation may leave no more crossings than that mesh has."""
    t0 = time.perf_counter()
    e0 = float(error(mesh))
    out = Simplified(mesh, mesh.n_faces, e0, e0 * (1.0 + max_growth))
    if max_growth <= 0:
        return out
    sources = [mesh]
    if untangle is not None and len(intersecting_pairs(mesh)):
        clean, out.crossings = untangle(mesh)
        out.written_error = float(error(clean))
        out.untangled.append((clean.n_faces, out.written_error))
        out.mesh, out.max_error = clean, out.written_error * (1.0 + max_growth)
        sources = [clean] if out.crossings else [clean, mesh]
    for source in sources:
        best = _smallest_within(source, error, out, untangle)
        if best is not None and best.n_faces < out.mesh.n_faces:
            out.mesh = best
    out.seconds = time.perf_counter() - t0
    return out


def _smallest_within(source: Mesh, error: Callable[[Mesh], float], out: Simplified,
                     untangle: Untangle | None) -> Mesh | None:
    within: list[Mesh] = []
    target = source.n_faces * KEEP_STEP
    while target >= MIN_FACES:
        cand = decimate(source, int(target))
        e = None if cand is None else float(error(cand))
        out.tries.append((int(target) if cand is None else cand.n_faces, e))
        if e is not None:
            if e > out.max_error:
                break
            within.append(cand)
        target *= KEEP_STEP
    for cand in reversed(within):
        if untangle is not None and len(intersecting_pairs(cand)):
            cand, crossings = untangle(cand)
            e = float(error(cand))
            out.untangled.append((cand.n_faces, e))
            if e > out.max_error or crossings > out.crossings:
                continue
        return cand
    return None

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
DEGENERATE_REL = 1e-12  # face area / (bounding-box extent)² at or below which a face has no area


@dataclass
class Simplified:
    """The mesh kept and what was tried: `tries` holds (faces, error) for every candidate (the untangled
    fit first, when it crossed itself), error None where the decimator did not leave a closed,
    consistently wound 2-manifold free of crossings."""

    mesh: Mesh
    faces_before: int
    error_before: float
    max_error: float
    tries: list[tuple[int, float | None]] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> dict:
        return {"faces_before": self.faces_before, "faces_after": self.mesh.n_faces,
                "error_before": round(self.error_before, 6), "max_error": round(self.max_error, 6),
                "tries": [[f, None if e is None else round(e, 6)] for f, e in self.tries],
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
             untangle: Callable[[Mesh], Mesh] | None = None) -> Simplified:
    """Decimate `mesh` in steps of KEEP_STEP of its faces while `error` (the training views' silhouette
    error, 1 - mean IoU) stays within (1 + max_growth) times `mesh`'s own; keep the last mesh within it.

    `untangle` (`softfit.fit.repair.repair_fitted`) first opens the fit's crossing folds, as the write would:
    decimated, a fold keeps crossing on faces so large that repairing them afterwards moves the surface
    (measured on the cube of `softfit bench fit`: 334 faces decimated from the raw fit, then repaired,
    lost 0.013 held-out IoU; decimated from the untangled fit, none). A candidate that is not a clean
    closed mesh, or crosses itself, is passed over, not kept; the first one over the error bound ends the
    search (the error grows with every collapse, give or take the odd pixel). A fit whose crossings
    cannot be opened within the bound is left as it is: every decimation of it would cross too."""
    t0 = time.perf_counter()
    e0 = float(error(mesh))
    out = Simplified(mesh, mesh.n_faces, e0, e0 * (1.0 + max_growth))
    source = mesh
    if max_growth > 0 and len(intersecting_pairs(mesh)):
        if untangle is not None:
            source = untangle(mesh)
            e = float(error(source))
            out.tries.append((source.n_faces, e))
            if e <= out.max_error:
                out.mesh = source
        if out.mesh is mesh or len(intersecting_pairs(source)):  # every decimation of it would cross too
            out.seconds = time.perf_counter() - t0
            return out
    target = source.n_faces * KEEP_STEP if max_growth > 0 else 0
    while target >= MIN_FACES:
        cand = decimate(source, int(target))
        if cand is not None and len(intersecting_pairs(cand)):
            cand = None
        e = None if cand is None else float(error(cand))
        out.tries.append((int(target) if cand is None else cand.n_faces, e))
        if e is not None:
            if e > out.max_error:
                break
            out.mesh = cand
        target *= KEEP_STEP
    out.seconds = time.perf_counter() - t0
    return out

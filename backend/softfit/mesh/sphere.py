"""The initial UV sphere: triangulated poles, every vertex on the sphere, outward (CCW) winding.

Its resolution comes from `sphere_resolution` (in `sphere_rule`, re-exported here), the one rule from a
requested triangle count to Blender's UV sphere parameters that the Blender add-on ships verbatim, so the
add-on builds the same sphere with bmesh.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..errors import InputError
from .sphere_rule import (
    MAX_POLYS,
    MIN_POLYS,
    sphere_resolution,
    sphere_triangles,
)
from .types import Mesh

__all__ = ["MAX_POLYS", "MIN_POLYS", "sphere_resolution", "sphere_triangles", "uv_sphere"]


def uv_sphere(polys: int, radius: float = 0.5, center: Sequence[float] = (0.0, 0.0, 0.0)) -> Mesh:
    """A watertight UV sphere of about `polys` triangles (see `sphere_resolution`).

    Vertex 0 is the north pole (+Z), then rings of `segments` vertices from north to south (azimuth
    starting at +X, counter-clockwise seen from above), then the south pole. Faces wind
    counter-clockwise seen from outside, so their normals point outwards."""
    radius = float(radius)
    c = np.asarray(center, dtype=np.float64)
    if not (math.isfinite(radius) and radius > 0):
        raise InputError(f"sphere radius must be a positive number, got {radius}")
    if c.shape != (3,) or not np.isfinite(c).all():
        raise InputError(f"sphere center must be 3 finite numbers, got {center!r}")
    segments, rings = sphere_resolution(polys)
    theta = np.pi * np.arange(1, rings) / rings  # polar angle of each inner ring
    phi = 2 * np.pi * np.arange(segments) / segments
    st, ct = np.sin(theta)[:, None], np.cos(theta)[:, None]
    ring_verts = np.stack([st * np.cos(phi), st * np.sin(phi), ct * np.ones_like(phi)], axis=-1)
    ring_verts = ring_verts.reshape(-1, 3)
    unit = np.concatenate([[[0.0, 0.0, 1.0]], ring_verts, [[0.0, 0.0, -1.0]]])
    verts = c + radius * unit

    north, south = 0, len(unit) - 1
    j = np.arange(segments)
    jn = (j + 1) % segments

    def ring(r: int, k: np.ndarray) -> np.ndarray:  # vertex index on inner ring r (0 = northmost)
        return 1 + r * segments + k

    faces = [np.stack([np.full(segments, north), ring(0, j), ring(0, jn)], axis=1)]
    for r in range(rings - 2):
        a, b, c2, d = ring(r, j), ring(r + 1, j), ring(r + 1, jn), ring(r, jn)
        faces.append(np.stack([a, b, c2], axis=1))
        faces.append(np.stack([a, c2, d], axis=1))
    faces.append(np.stack([np.full(segments, south), ring(rings - 2, jn), ring(rings - 2, j)], axis=1))
    return Mesh(verts, np.concatenate(faces))

"""The one rule from a requested triangle count to UV sphere parameters (`segments` around, `rings`
bands from pole to pole, as in `bpy.ops.mesh.primitive_uv_sphere_add(segments=..., ring_count=...)`).

Kept apart from `sphere.py` (which builds the `Mesh`) so that the Blender add-on ships this very file
(as `core/mesh/sphere_rule.py`, see scripts/build_extension.py) and builds the same sphere with bmesh:
numpy, the standard library and a relative import of `errors` only.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import InputError

MIN_POLYS = 8  # the octahedron: 4 segments, 2 rings
MAX_POLYS = 20_000_000


def sphere_triangles(segments: int, rings: int) -> int:
    """Triangles of a UV sphere with triangulated poles: two pole fans plus (rings - 2) quad bands."""
    return 2 * segments * (rings - 1)


def sphere_resolution(polys: int) -> tuple[int, int]:
    """(segments, rings) with segments = 2 * rings whose triangle count 4 * rings * (rings - 1) is
    closest to `polys` (ties go to the finer sphere). Square-ish quads need twice as many segments
    around the equator (length 2*pi) as rings over a meridian (length pi)."""
    if isinstance(polys, bool) or not isinstance(polys, int | np.integer):
        raise InputError(f"polygon count must be an integer, got {polys!r}")
    if not MIN_POLYS <= polys <= MAX_POLYS:
        raise InputError(f"polygon count must be in [{MIN_POLYS}, {MAX_POLYS}], got {polys}")
    guess = int((1 + math.sqrt(1 + polys)) / 2)
    candidates = [r for r in (guess - 1, guess, guess + 1, guess + 2) if r >= 2]
    rings = min(candidates, key=lambda r: (abs(sphere_triangles(2 * r, r) - polys), -r))
    return 2 * rings, rings

"""The initial sphere's resolution rule, without bpy: requested triangle count -> UV sphere parameters.

The add-on's copy of `softfit.mesh.sphere.sphere_resolution` (that module imports the backend package, so
it cannot ship in the extension); tests/test_addon_pure.py checks both agree for every count it tries.
"""

from __future__ import annotations

import math

from .errors import InputError

MIN_POLYS = 8  # the octahedron: 4 segments, 2 rings
MAX_POLYS = 20_000_000


def sphere_triangles(segments: int, rings: int) -> int:
    """Triangles of a UV sphere with triangulated poles: two pole fans plus (rings - 2) quad bands."""
    return 2 * segments * (rings - 1)


def sphere_vertices(segments: int, rings: int) -> int:
    return segments * (rings - 1) + 2


def sphere_resolution(polys: int) -> tuple[int, int]:
    """(segments, rings), segments = 2 * rings, with the triangle count closest to `polys` (ties go to
    the finer sphere): quads stay square-ish because the equator is twice as long as a meridian."""
    if isinstance(polys, bool) or not isinstance(polys, int):
        raise InputError(f"polygon count must be an integer, got {polys!r}")
    if not MIN_POLYS <= polys <= MAX_POLYS:
        raise InputError(f"polygon count must be in [{MIN_POLYS}, {MAX_POLYS}], got {polys}")
    guess = int((1 + math.sqrt(1 + polys)) / 2)
    candidates = [r for r in (guess - 1, guess, guess + 1, guess + 2) if r >= 2]
    rings = min(candidates, key=lambda r: (abs(sphere_triangles(2 * r, r) - polys), -r))
    return 2 * rings, rings

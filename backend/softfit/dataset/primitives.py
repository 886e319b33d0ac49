"""Built-in test meshes that Blender has no one-call primitive for, as numpy (verts, triangles).

The bucket and the open cylinder are the hard cases for silhouette fitting (a concavity no silhouette
shows); the torus knot is a detailed, self-occluding shape. All are triangle meshes with outward
normals, in Blender's frame (Z up), before normalisation."""

from __future__ import annotations

import numpy as np


def _grid_faces(rows: int, cols: int, wrap_rows: bool) -> np.ndarray:
    """Triangles of a (rows x cols) vertex grid whose columns wrap around (and rows too, if asked)."""
    r = np.arange(rows if wrap_rows else rows - 1)
    c = np.arange(cols)
    r0, c0 = np.meshgrid(r, c, indexing="ij")
    r1, c1 = (r0 + 1) % rows, (c0 + 1) % cols
    a, b, d, e = r0 * cols + c0, r0 * cols + c1, r1 * cols + c1, r1 * cols + c0
    return np.concatenate([np.stack([a, b, d], -1).reshape(-1, 3), np.stack([a, d, e], -1).reshape(-1, 3)])


def _ring(radius: float, z: float, segments: int) -> np.ndarray:
    t = 2 * np.pi * np.arange(segments) / segments
    return np.stack([radius * np.cos(t), radius * np.sin(t), np.full(segments, z)], axis=1)


def _fan(center: int, ring_start: int, segments: int, up: bool) -> np.ndarray:
    i = ring_start + np.arange(segments)
    j = ring_start + (np.arange(segments) + 1) % segments
    c = np.full(segments, center)
    return np.stack([c, i, j] if up else [c, j, i], axis=1)


def _band(lower: int, upper: int, segments: int, outward: bool) -> np.ndarray:
    """Quads (as triangles) joining two rings of `segments` vertices."""
    i = np.arange(segments)
    j = (i + 1) % segments
    a, b, c, d = lower + i, lower + j, upper + j, upper + i
    tris = np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)])
    return tris if outward else tris[:, ::-1]


def torus(major: float = 0.75, minor: float = 0.25, rings: int = 48, sides: int = 16
          ) -> tuple[np.ndarray, np.ndarray]:
    """A torus around the Z axis."""
    u = 2 * np.pi * np.arange(rings) / rings
    v = 2 * np.pi * np.arange(sides) / sides
    uu, vv = np.meshgrid(u, v, indexing="ij")
    r = major + minor * np.cos(vv)
    verts = np.stack([r * np.cos(uu), r * np.sin(uu), minor * np.sin(vv)], -1).reshape(-1, 3)
    return verts, _grid_faces(rings, sides, wrap_rows=True)[:, ::-1]


def torus_knot(p: int = 2, q: int = 3, tube: float = 0.3, segments: int = 256, sides: int = 16
               ) -> tuple[np.ndarray, np.ndarray]:
    """A (p, q) torus knot tube: a detailed shape whose strands hide each other."""
    t = 2 * np.pi * np.arange(segments) / segments
    r = 2.0 + np.cos(q * t)
    curve = np.stack([r * np.cos(p * t), r * np.sin(p * t), -np.sin(q * t)], axis=1)
    tangent = np.roll(curve, -1, axis=0) - np.roll(curve, 1, axis=0)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    # A frame that turns with the curve: normal = component of the direction to the knot's centre line.
    normal = np.cross(tangent, np.cross(curve, tangent))
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    binormal = np.cross(tangent, normal)
    v = 2 * np.pi * np.arange(sides) / sides
    ring = np.cos(v)[None, :, None] * normal[:, None] + np.sin(v)[None, :, None] * binormal[:, None]
    verts = (curve[:, None] + tube * ring).reshape(-1, 3)
    return verts, _grid_faces(segments, sides, wrap_rows=True)


def bucket(radius: float = 0.5, height: float = 1.0, wall: float = 0.04, segments: int = 48
           ) -> tuple[np.ndarray, np.ndarray]:
    """An open-topped cylinder with walls and floor `wall` thick: a closed surface with a deep cavity."""
    inner = radius - wall
    verts = np.concatenate([
        _ring(radius, 0.0, segments), _ring(radius, height, segments),    # outer bottom, outer top
        _ring(inner, height, segments), _ring(inner, wall, segments),     # inner top, inner bottom
        [[0.0, 0.0, 0.0], [0.0, 0.0, wall]],                              # floor centres
    ])
    ob, ot, it, ib = 0, segments, 2 * segments, 3 * segments
    c_out, c_in = 4 * segments, 4 * segments + 1
    faces = np.concatenate([
        _band(ob, ot, segments, outward=True),      # outside wall
        _band(ot, it, segments, outward=True),      # rim, facing up
        _band(ib, it, segments, outward=False),     # inside wall, facing the axis
        _fan(c_in, ib, segments, up=True),          # inside floor, facing up
        _fan(c_out, ob, segments, up=False),        # underside, facing down
    ])
    return verts, faces


def open_cylinder(radius: float = 0.5, height: float = 1.0, segments: int = 48
                  ) -> tuple[np.ndarray, np.ndarray]:
    """A cylinder with a bottom and no top, of zero wall thickness (an open surface)."""
    verts = np.concatenate([_ring(radius, 0.0, segments), _ring(radius, height, segments), [[0.0, 0.0, 0.0]]])
    faces = np.concatenate([_band(0, segments, segments, outward=True),
                            _fan(2 * segments, 0, segments, up=False)])
    return verts, faces


def box(center: tuple[float, float, float], size: tuple[float, float, float]
        ) -> tuple[np.ndarray, np.ndarray]:
    """An axis-aligned box (12 outward-wound triangles)."""
    c, h = np.asarray(center, dtype=np.float64), 0.5 * np.asarray(size, dtype=np.float64)
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=np.float64)
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    faces = np.array([t for a, b, c2, d in quads for t in ((a, b, c2), (a, c2, d))], dtype=np.int64)
    return c + corners * h, faces


def union(*parts: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Closed parts side by side in one mesh (they may overlap: renders and silhouettes see their union)."""
    verts, faces, n = [], [], 0
    for v, f in parts:
        verts.append(v)
        faces.append(f + n)
        n += len(v)
    return np.concatenate(verts), np.concatenate(faces)


def _tube(radius: float, length: float, segments: int = 24) -> tuple[np.ndarray, np.ndarray]:
    """A closed cylinder along X from -length/2 to length/2."""
    ring = _ring(radius, 0.0, segments)[:, [2, 0, 1]]
    verts = np.concatenate([ring - [length / 2, 0, 0], ring + [length / 2, 0, 0],
                            [[-length / 2, 0, 0], [length / 2, 0, 0]]])
    faces = np.concatenate([_band(0, segments, segments, outward=True),
                            _fan(2 * segments, 0, segments, up=False), _fan(2 * segments + 1, segments,
                                                                           segments, up=True)])
    return verts, faces


def airplane() -> tuple[np.ndarray, np.ndarray]:
    """A toy airplane along X: a slim fuselage, thin wide wings, a tail plane and a fin (SoftRas' demo
    object is an airplane: its wings and tail are a few pixels wide at 64²)."""
    return union(_tube(0.06, 1.0),
                  box((0.05, 0.0, 0.0), (0.18, 0.9, 0.02)),      # wings
                  box((-0.42, 0.0, 0.0), (0.1, 0.34, 0.015)),    # tail plane
                  box((-0.42, 0.0, 0.09), (0.1, 0.015, 0.16)))   # fin


def chair() -> tuple[np.ndarray, np.ndarray]:
    """A chair: seat, backrest and four thin legs."""
    legs = [box((x, y, 0.225), (0.04, 0.04, 0.45)) for x in (-0.21, 0.21) for y in (-0.21, 0.21)]
    return union(box((0.0, 0.0, 0.475), (0.5, 0.5, 0.05)), box((0.0, 0.23, 0.75), (0.5, 0.04, 0.5)), *legs)


def mug() -> tuple[np.ndarray, np.ndarray]:
    """A mug: an open-topped cup with a thin ring handle on its side."""
    cup = bucket(radius=0.3, height=0.7, wall=0.03)
    hv, hf = torus(major=0.17, minor=0.03, rings=48, sides=12)
    hv = hv[:, [0, 2, 1]] + [0.33, 0.0, 0.35]  # in the XZ plane, beside the cup (a mirror: faces flipped)
    return union(cup, (hv, hf[:, ::-1]))


def normalized(verts: np.ndarray) -> np.ndarray:
    """`verts` moved and scaled uniformly so their bounding box is centred at the origin, longest side 1."""
    v = np.asarray(verts, dtype=np.float64)
    lo, hi = v.min(axis=0), v.max(axis=0)
    extent = float((hi - lo).max())
    if extent <= 0:
        return v - (lo + hi) / 2
    return (v - (lo + hi) / 2) / extent


NUMPY_BUILTINS = {"torus": torus, "torus_knot": torus_knot, "bucket": bucket, "open_cylinder": open_cylinder,
                  "airplane": airplane, "chair": chair, "mug": mug}

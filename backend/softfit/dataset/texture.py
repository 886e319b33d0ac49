"""`texture="noise"`: a high-contrast procedural colour noise fixed to the object, as an image atlas.

Structure-from-motion needs surface texture that looks the same from every view. A procedural shader
(Blender's Noise Texture on Object coordinates) would do for Cycles, but Workbench only draws image
textures, so the noise is baked here (numpy, no bpy) into an atlas that both engines sample:

- every triangle gets its own chart: two triangles share a square cell of `k` texels, one in each half,
  with a gap of GAP texels between their hypotenuses and an inset of INSET from the cell border;
- every texel of a cell holds the noise at the 3-D point it maps to under the affine map of the
  triangle on its side of the cell's diagonal (extrapolated just beyond the triangle's edges), so
  nearest-texel sampling ("Closest", no filtering, no mipmaps) inside a triangle always reads a texel of
  that same triangle, at most one texel (in 3-D: the triangle's size / k) away from the true point;
- the noise is evaluated in the object's own frame (before the dataset's scale and offset), so the
  pattern moves and scales with the object and not with the world or the cameras.

Geometry is untouched, so the exact masks stay exact."""

from __future__ import annotations

import math

import numpy as np

INSET = 1.0  # texels between a chart and its cell border
GAP = 1.5  # texels between the two charts of a cell, along each axis (> 1: see the module docstring)
MAX_ATLAS = 2048  # preferred atlas side (texels); grows only for meshes of more than ≈ 500 k triangles
MIN_CELL, MAX_CELL = 4, 64  # texels per cell side
FREQUENCY = 10.0  # lattice cells per unit length (object frame) of the coarsest octave
OCTAVES = 4  # frequencies FREQUENCY * 2**k
CONTRAST = 4.0  # gain around mid-grey before clipping: sharp-edged patches
TEXEL = 1.0 / (2 * FREQUENCY * 2 ** (OCTAVES - 1))  # texel size (object units): 2 per finest noise cell
CHUNK_TEXELS = 1 << 20  # texels evaluated at once


def _hash(ix: np.ndarray, iy: np.ndarray, iz: np.ndarray, perm: np.ndarray) -> np.ndarray:
    p = perm
    return p[(p[(p[ix & 255] + iy) & 255] + iz) & 255]


def value_noise(points: np.ndarray, frequency: float, seed: int) -> np.ndarray:
    """(P, 3) smooth value noise in [0, 1] (three independent channels) at `points` (P, 3)."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(256)
    values = rng.random((256, 3))
    q = np.asarray(points, dtype=np.float64) * frequency
    i0 = np.floor(q).astype(np.int64)
    f = q - i0
    w = f * f * (3.0 - 2.0 * f)  # smoothstep: no visible lattice creases
    out = np.zeros((len(q), 3))
    for dx in (0, 1):
        wx = w[:, 0] if dx else 1.0 - w[:, 0]
        for dy in (0, 1):
            wy = w[:, 1] if dy else 1.0 - w[:, 1]
            for dz in (0, 1):
                wz = w[:, 2] if dz else 1.0 - w[:, 2]
                h = _hash(i0[:, 0] + dx, i0[:, 1] + dy, i0[:, 2] + dz, perm)
                out += (wx * wy * wz)[:, None] * values[h]
    return out


def fbm(points: np.ndarray, seed: int) -> np.ndarray:
    """(P, 3) fractal value noise: OCTAVES from FREQUENCY up, amplitudes halving; std ≈ 0.1 a channel."""
    total, norm = np.zeros((len(points), 3)), 0.0
    for k in range(OCTAVES):
        amp = 0.5 ** k
        total += amp * value_noise(points, FREQUENCY * 2.0 ** k, seed + 11 * k)
        norm += amp
    return total / norm


def noise_color(points: np.ndarray, seed: int = 0) -> np.ndarray:
    """(P, 3) RGB in [0, 1]: each channel a fractal noise through a steep contrast curve, so the surface
    is covered with sharp-edged patches of eight colours from black to white, with finer detail inside
    (SIFT sees grey levels: black, blue, red... against yellow, cyan, white are strong edges)."""
    return np.clip(0.5 + CONTRAST * (fbm(points, seed) - 0.5), 0.0, 1.0)


PAINT_FREQUENCY = 2.0  # lattice cells per unit length of the paint's coarser octave (blotches ≈ 0.3 units)
PAINT_CONTRAST = 2.0


def paint_color(points: np.ndarray, seed: int = 0) -> np.ndarray:
    """(P, 3) RGB in [0, 1]: smooth colour blotches (two octaves of value noise, moderate contrast), like
    a painted or glazed object: a surface whose colour a texture baked from photos can reproduce, for
    `softfit bench texture` (the high-frequency `noise_color` is made for feature matching instead)."""
    q = np.asarray(points, dtype=np.float64)
    f = (value_noise(q, PAINT_FREQUENCY, seed + 101)
         + 0.5 * value_noise(q, 2 * PAINT_FREQUENCY, seed + 202)) / 1.5
    return np.clip(0.5 + PAINT_CONTRAST * (f - 0.5), 0.0, 1.0)


COLORS = {"noise": noise_color, "paint": paint_color}


def cell_size(verts: np.ndarray, faces: np.ndarray) -> tuple[int, int]:
    """(cells per atlas side g, texels per cell side k): two triangles per cell, texels of about
    TEXEL (object units) along the longer legs of most triangles, within the atlas budget."""
    g = max(1, math.ceil(math.sqrt(math.ceil(len(faces) / 2))))
    tri = verts[faces]
    edges = np.linalg.norm(tri - np.roll(tri, 1, axis=1), axis=2).max(axis=1)
    want = math.ceil(float(np.percentile(edges, 95)) / TEXEL + 2 * INSET + GAP)
    k = int(np.clip(min(want, MAX_ATLAS // g), MIN_CELL, MAX_CELL))
    return g, k


def _chart_corners(k: int) -> np.ndarray:
    """(2, 3, 2) texel coordinates (x right, y up within the cell) of the lower and upper chart corners."""
    lo, leg = INSET, k - 2 * INSET - GAP
    hi = k - INSET
    return np.array([[[lo, lo], [lo + leg, lo], [lo, lo + leg]],
                     [[hi, hi], [hi - leg, hi], [hi, hi - leg]]])


def noise_atlas(verts: np.ndarray, faces: np.ndarray, seed: int = 0, kind: str = "noise"
                ) -> tuple[np.ndarray, np.ndarray]:
    """(uvs (F, 3, 2) per-corner texture coordinates, pixels (N, N, 4) float32 RGBA, row 0 = v 0).

    `verts` are in the object's own frame: the colour (kind: noise or paint) is a function of those
    coordinates."""
    color_of = COLORS[kind]
    v = np.asarray(verts, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    g, k = cell_size(v, f)
    size = g * k
    leg = k - 2 * INSET - GAP
    corners = _chart_corners(k)
    cell = np.arange(len(f)) // 2
    half = np.arange(len(f)) % 2
    origin = np.stack([cell % g, cell // g], axis=1) * k  # cell's lower-left texel corner (x, y)
    uvs = (origin[:, None, :] + corners[half]) / size

    # Every texel of every used cell: which chart (side of the diagonal) and its chart coordinates.
    ty, tx = np.mgrid[0:k, 0:k] + 0.5
    upper = (tx + ty) >= k
    s = np.where(upper, (k - INSET - tx) / leg, (tx - INSET) / leg)[..., None]
    t = np.where(upper, (k - INSET - ty) / leg, (ty - INSET) / leg)[..., None]
    colors = np.zeros((g * g, k, k, 3), dtype=np.float32)
    n_cells = math.ceil(len(f) / 2)
    step = max(1, CHUNK_TEXELS // (k * k))
    for c0 in range(0, n_cells, step):  # in chunks: a big mesh has millions of texels
        cells = np.arange(c0, min(n_cells, c0 + step))
        tri = np.minimum(2 * cells[:, None, None] + upper[None], len(f) - 1)  # odd count: last half unused
        a, b, c = v[f[tri, 0]], v[f[tri, 1]], v[f[tri, 2]]
        points = a + s * (b - a) + t * (c - a)
        colors[cells] = color_of(points.reshape(-1, 3), seed).reshape(len(cells), k, k, 3)
    pixels = np.ones((size, size, 4), dtype=np.float32)
    # cell i sits at column i % g, row i // g: (row, col, y, x) -> (row, y, col, x)
    pixels[..., :3] = colors.reshape(g, g, k, k, 3).transpose(0, 2, 1, 3, 4).reshape(size, size, 3)
    return uvs, pixels


def sample_atlas(pixels: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """(P, 3) nearest-texel colours at texture coordinates `uv` (P, 2): what "Closest" sampling reads."""
    n_rows, n_cols = pixels.shape[:2]
    x = np.clip(np.floor(uv[:, 0] * n_cols).astype(np.int64), 0, n_cols - 1)
    y = np.clip(np.floor(uv[:, 1] * n_rows).astype(np.int64), 0, n_rows - 1)
    return pixels[y, x, :3]

"""Colour for a quad remesh: Blender's Smart UV Project on the quads, then the fit's texture carried over.

Runs in the quad child (`quadriflow.py`, inside Blender or with the bpy module), which imports it by
path: the add-on has the textured fit but not the photos, so carrying the baked texture over is the one
path that works on both sides. Each texel of the quad atlas is a point on the quad surface; it takes the
colour of the nearest point of the source surface (Blender's BVH tree), read through the source's UVs
from its image with bilinear filtering. The quad atlas keeps the source's texel density (world units per
texel, measured from the source's own UVs), so it neither drops nor invents detail. Texels between
charts repeat their nearest chart texel (gutter), so bilinear lookups and mipmaps at chart edges do not
bleed the background in.

Smart UV Project rather than xatlas: xatlas takes triangles and may cut a seam through a quad's
diagonal, which no per-corner UV of that quad can represent; Blender unwraps the polygons themselves.

Stdlib and numpy at module level only (ships in the add-on's `core/`)."""

from __future__ import annotations

import math

import numpy as np

MARGIN_TEXELS = 2.0  # space between charts, in texels of the final atlas
MIN_SIZE, MAX_SIZE = 64, 2048
ANGLE_LIMIT = math.radians(66.0)  # Smart UV Project's default: charts break at sharper creases
PACKING_GUESS = 0.6  # share of the atlas charts cover, to choose the margin before packing
GUTTER_PASSES = 8


def fan_loops(sizes: np.ndarray) -> np.ndarray:
    """(T, 3) loop (polygon corner) indices of the polygons split as fans from their first corner."""
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    ntri = np.asarray(sizes, np.int64) - 2
    first = np.repeat(starts, ntri)
    k = np.arange(int(ntri.sum())) - np.repeat(np.cumsum(ntri) - ntri, ntri) + 1
    return np.stack([first, first + k, first + k + 1], axis=1)


def _areas(points: np.ndarray) -> np.ndarray:
    """Areas of triangles given as (T, 3, D) corner coordinates, D = 2 or 3."""
    a, b = points[:, 1] - points[:, 0], points[:, 2] - points[:, 0]
    if points.shape[-1] == 2:
        return 0.5 * np.abs(a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0])
    return 0.5 * np.linalg.norm(np.cross(a, b), axis=1)


def texel_size(verts: np.ndarray, tris: np.ndarray, uv: np.ndarray, shape: tuple[int, ...]) -> float:
    """World units per texel of a textured triangle mesh: `uv` (T, 3, 2) per corner, image `shape`."""
    uv_area = float(_areas(uv).sum()) * shape[0] * shape[1]
    return math.sqrt(float(_areas(verts[tris]).sum()) / max(uv_area, 1e-12))


def smart_uvs(verts: np.ndarray, sizes: np.ndarray, corners: np.ndarray, margin: float) -> np.ndarray:
    """(L, 2) UVs per polygon corner from Blender's Smart UV Project (origin bottom-left, v up)."""
    import bpy

    mesh = bpy.data.meshes.new("softfit_quads_uv")
    mesh.from_pydata(verts.tolist(), [], [p.tolist() for p in np.split(corners, np.cumsum(sizes)[:-1])])
    obj = bpy.data.objects.new("softfit_quads_uv", mesh)
    bpy.context.scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    obj.select_set(True)
    try:
        bpy.ops.object.mode_set(mode="EDIT")
        bpy.ops.mesh.select_all(action="SELECT")
        bpy.ops.uv.smart_project(angle_limit=ANGLE_LIMIT, island_margin=margin, area_weight=0.0,
                                 correct_aspect=True, scale_to_bounds=False)
        bpy.ops.object.mode_set(mode="OBJECT")
        uv = np.zeros(2 * len(mesh.loops))
        mesh.uv_layers.active.data.foreach_get("uv", uv)
    finally:
        bpy.data.objects.remove(obj)
        bpy.data.meshes.remove(mesh)
    return uv.reshape(-1, 2)


def texel_points(verts: np.ndarray, tris: np.ndarray, uv: np.ndarray, w: int, h: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The texels whose centres fall inside a triangle of the atlas: their flat index into the (h, w)
    image (row 0 at the top) and their 3-D points (K, 3) on the surface."""
    px = np.stack([uv[..., 0] * w - 0.5, (1.0 - uv[..., 1]) * h - 0.5], axis=-1)  # texel-centre coordinates
    pix, pts = [], []
    for t in range(len(tris)):
        p = px[t]
        x0, y0 = np.maximum(np.ceil(p.min(0)), 0).astype(int)
        x1, y1 = np.minimum(np.floor(p.max(0)), [w - 1, h - 1]).astype(int)
        if x1 < x0 or y1 < y0:
            continue
        gx, gy = np.meshgrid(np.arange(x0, x1 + 1), np.arange(y0, y1 + 1))
        q = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float64)
        e1, e2, d = p[1] - p[0], p[2] - p[0], q - p[0]
        det = e1[0] * e2[1] - e1[1] * e2[0]
        if abs(det) < 1e-12:
            continue
        b1 = (d[:, 0] * e2[1] - d[:, 1] * e2[0]) / det
        b2 = (e1[0] * d[:, 1] - e1[1] * d[:, 0]) / det
        inside = (b1 >= -1e-9) & (b2 >= -1e-9) & (b1 + b2 <= 1 + 1e-9)
        if not inside.any():
            continue
        b1, b2 = b1[inside], b2[inside]
        v = verts[tris[t]]
        pts.append(v[0] + b1[:, None] * (v[1] - v[0]) + b2[:, None] * (v[2] - v[0]))
        pix.append(q[inside, 1].astype(np.int64) * w + q[inside, 0].astype(np.int64))
    if not pix:
        return np.zeros(0, np.int64), np.zeros((0, 3))
    return np.concatenate(pix), np.concatenate(pts)


def sample_bilinear(image: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """(K, 3) float colours of `image` (H, W, 3), row 0 at the top, at UVs (K, 2) (v up)."""
    h, w = image.shape[:2]
    x = np.clip(uv[:, 0] * w - 0.5, 0, w - 1)
    y = np.clip((1.0 - uv[:, 1]) * h - 0.5, 0, h - 1)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    img = image.astype(np.float64)
    top = img[y0, x0] * (1 - fx) + img[y0, x1] * fx
    bottom = img[y1, x0] * (1 - fx) + img[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


def nearest_colours(points: np.ndarray, verts: np.ndarray, tris: np.ndarray, uv: np.ndarray,
                    image: np.ndarray) -> np.ndarray:
    """Colour of the source surface (verts, tris, per-corner `uv`, `image`) at its point nearest to each
    of `points` (K, 3)."""
    from mathutils.bvhtree import BVHTree

    tree = BVHTree.FromPolygons(verts.tolist(), tris.tolist(), all_triangles=True)
    near = np.zeros((len(points), 3))
    face = np.zeros(len(points), np.int64)
    for i, p in enumerate(points.tolist()):
        loc, _normal, index, _dist = tree.find_nearest(p)
        near[i], face[i] = loc, index
    a, b, c = (verts[tris[face, k]] for k in range(3))
    e1, e2, d = b - a, c - a, near - a
    d11, d12, d22 = (e1 * e1).sum(1), (e1 * e2).sum(1), (e2 * e2).sum(1)
    d1, d2 = (d * e1).sum(1), (d * e2).sum(1)
    den = np.maximum(d11 * d22 - d12 * d12, 1e-30)
    w1 = np.clip((d22 * d1 - d12 * d2) / den, 0, 1)
    w2 = np.clip((d11 * d2 - d12 * d1) / den, 0, 1 - w1)
    t = uv[face]
    at = t[:, 0] + w1[:, None] * (t[:, 1] - t[:, 0]) + w2[:, None] * (t[:, 2] - t[:, 0])
    return sample_bilinear(image, at)


def fill_gutter(colour: np.ndarray, filled: np.ndarray) -> np.ndarray:
    """Texels outside the charts take the mean of their filled 4-neighbours, GUTTER_PASSES rings deep;
    whatever is still empty gets the charts' mean colour."""
    img, done = colour.copy(), filled.copy()
    for _ in range(GUTTER_PASSES):
        if done.all():
            break
        pad_c = np.pad(img * done[..., None], ((1, 1), (1, 1), (0, 0)))
        pad_n = np.pad(done.astype(np.float64), 1)
        total = pad_c[:-2, 1:-1] + pad_c[2:, 1:-1] + pad_c[1:-1, :-2] + pad_c[1:-1, 2:]
        count = pad_n[:-2, 1:-1] + pad_n[2:, 1:-1] + pad_n[1:-1, :-2] + pad_n[1:-1, 2:]
        grow = ~done & (count > 0)
        img[grow] = total[grow] / count[grow][:, None]
        done = done | grow
    if not done.all():
        img[~done] = colour[filled].mean(axis=0) if filled.any() else 0.0
    return img


def texture_quads(qverts: np.ndarray, sizes: np.ndarray, corners: np.ndarray, verts: np.ndarray,
                  tris: np.ndarray, uv: np.ndarray, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """UVs (L, 2) per quad corner and the quad atlas (h, w, 3) uint8 carrying the source's texture
    (`verts`, `tris`, per-corner `uv` (T, 3, 2), `image` (H, W, 3) uint8, row 0 at the top)."""
    texel = texel_size(verts, tris, uv, image.shape)
    loops = fan_loops(sizes)
    qtris = corners[loops]
    area = float(_areas(qverts[qtris]).sum())
    guess = min(max(math.sqrt(area / PACKING_GUESS) / texel, MIN_SIZE), MAX_SIZE)
    loop_uv = smart_uvs(qverts, sizes, corners, MARGIN_TEXELS / guess)
    tri_uv = loop_uv[loops]
    side = int(round(min(max(math.sqrt(area / max(float(_areas(tri_uv).sum()), 1e-12)) / texel, MIN_SIZE),
                         MAX_SIZE)))
    pix, points = texel_points(qverts, qtris, tri_uv, side, side)
    colour = np.zeros((side * side, 3))
    filled = np.zeros(side * side, dtype=bool)
    colour[pix] = nearest_colours(points, verts, tris, uv, image)
    filled[pix] = True
    atlas = fill_gutter(colour.reshape(side, side, 3), filled.reshape(side, side))
    stats = {"size": [side, side], "texel": texel, "chart_texels": int(filled.sum()),
             "from": "the fit's texture, nearest surface point"}
    return loop_uv.astype(np.float32), np.clip(np.round(atlas), 0, 255).astype(np.uint8), stats

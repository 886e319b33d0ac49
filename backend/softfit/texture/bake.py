"""Bake a colour texture for a fitted mesh from the photos it was fitted to.

For every texel: its 3-D point and smooth normal (the atlas scan-converted in texture space); for every
view, whether the photo shows that point (inside the image, in front of the camera, not hidden by the
mesh itself in that view's depth buffer, facing the camera, inside the view's object mask); then a
weighted mean of the photos' colours at its projection. The weight favours views that see the point
head-on and close up (cos⁴ of the viewing angle × the squared pixels per world unit) and fades out near
the mask's border, where pixels mix in background and a small misfit shows most; where only border
pixels see a texel, the nearest pixel is used if it is not on the mask's outermost ring (those pixels
are part background in any anti-aliased photo), else the texel counts as a hole.

Seams: both sides of a chart cut get their colour from the same 3-D points, hence the same views and
weights, so no seam shows; holes (texels no view sees, e.g. the underside) take the inverse-distance
mean of the nearest seen texels in 3-D, across seams, rather than in the atlas; the gutter around
charts repeats the nearest chart texel so bilinear filtering and mipmaps never reach empty texels.
Masks keep the background out: a texel is coloured only from pixels inside the object's silhouette."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy import ndimage
from scipy.spatial import cKDTree

from softfit.data.types import MultiViewData
from softfit.errors import InputError
from softfit.mesh.types import Mesh
from softfit.projection import camera_tensors, project
from softfit.texture.coverage import covered_pixels
from softfit.texture.unwrap import UVMesh, pixel_footprint, unwrap
from softfit.texture.zbuffer import NEAR, depth_maps

COS_POWER = 4.0  # sharpens the choice of view: a head-on view outweighs a 45° one 4:1
MIN_COS = 0.1  # grazing views (> 84°) are not used
BORDER_PX = 1.5  # mask-border fade over this many pixels, starting this far inside the mask
DEPTH_TOL_PX = 3.0  # depth test slack in pixel footprints (a pixel centre is up to half a pixel off)
HOLE_NEIGHBOURS = 8
MAX_VIEWS = 32  # views baked from at most: spread evenly over the directions (cost grows with views)
BATCH_ENTRIES = 3_000_000  # (view, texel) pairs evaluated at once


@dataclass
class Texture:
    """A baked texture: `uv` the unwrapped mesh, `image` (H, W, 3) uint8 sRGB with row 0 at v = 1 (the
    top of the image, as PNG stores it), and `stats` (coverage, views, time)."""

    uv: UVMesh
    image: np.ndarray
    stats: dict = field(default_factory=dict)


def texel_points(uv: UVMesh) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(texel index (T,) into the flattened atlas, 3-D points (T, 3), unit normals (T, 3)) for every
    texel of a chart, plus the one-texel rim around each chart that bilinear lookups reach."""
    w, h = uv.size
    xy = np.stack([uv.uvs[:, 0] * w, (1.0 - uv.uvs[:, 1]) * h], axis=1)[uv.uv_faces]
    pix, tri, bary = covered_pixels(torch.as_tensor(xy), h, w, grow=1.0)
    pix, tri, bary = pix.numpy(), tri.numpy(), bary.numpy()
    # A texel claimed by several triangles (rims overlap at chart borders) keeps the one it is most inside.
    order = np.lexsort((bary.min(axis=1), pix))
    last = np.r_[pix[order][1:] != pix[order][:-1], True]
    keep = order[last]
    pix, tri, bary = pix[keep], tri[keep], bary[keep]
    corners = uv.vmap[uv.uv_faces[tri]]  # (T, 3) mesh vertices
    points = np.einsum("tk,tkj->tj", bary, uv.mesh.verts[corners])
    normals = np.einsum("tk,tkj->tj", bary, uv.normals[corners])
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    return pix, points, normals


def _mask_depth(silhouettes: np.ndarray) -> np.ndarray:
    """(N, H, W) distance in pixels from each pixel inside the mask to the nearest pixel outside (0 out)."""
    return np.stack([ndimage.distance_transform_edt(s >= 0.5) for s in silhouettes]).astype(np.float32)


def _accumulate(points: np.ndarray, normals: np.ndarray, data: MultiViewData, depth: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Weighted colour sums and weight sums, with the border fade (strict) and without it (loose).

    Dense over (views of a batch) × texels, float32: a view that does not see a texel adds weight 0."""
    p = torch.as_tensor(points, dtype=torch.float32)
    n = torch.as_tensor(normals, dtype=torch.float32)
    w2c, intr = camera_tensors(data.cameras, p)
    centres = torch.as_tensor(data.cameras.c2w[:, :3, 3], dtype=torch.float32)
    focal = torch.as_tensor(np.sqrt(data.cameras.fx * data.cameras.fy), dtype=torch.float32)
    h, w = data.cameras.height, data.cameras.width
    inner = torch.as_tensor(_mask_depth(data.silhouettes)).reshape(-1)
    zbuf = depth.reshape(-1)
    images = torch.as_tensor(data.images).reshape(-1, 3).float()
    sums = [torch.zeros(len(p), 3) for _ in range(2)]
    weights = [torch.zeros(len(p)) for _ in range(2)]
    batch = max(1, BATCH_ENTRIES // max(1, len(p)))
    for s in range(0, len(data), batch):
        views = torch.arange(s, min(len(data), s + batch))
        screen = project(p, w2c[views], intr[views])  # (B, T, 3)
        x, y, d = screen[..., 0], screen[..., 1], screen[..., 2]
        base_idx = (views * (h * w))[:, None]
        col, row = torch.floor(x).long(), torch.floor(y).long()
        ok = (d > NEAR) & (col >= 0) & (col < w) & (row >= 0) & (row < h)
        pix = base_idx + row.clamp(0, h - 1) * w + col.clamp(0, w - 1)
        footprint = d / focal[views, None]
        ok &= d <= zbuf[pix] + DEPTH_TOL_PX * footprint
        to_cam = centres[views, None, :] - p[None]
        cos = (n[None] * to_cam).sum(dim=2) / to_cam.norm(dim=2).clamp(min=1e-12)
        ok &= cos > MIN_COS
        border = inner[pix]
        ok &= border > 0
        # Bilinear colour at the projection (pixel centres at +0.5).
        fx_, fy_ = x - 0.5, y - 0.5
        x0, y0 = torch.floor(fx_).long(), torch.floor(fy_).long()
        ax, ay = (fx_ - x0)[..., None], (fy_ - y0)[..., None]

        def at(r: torch.Tensor, c: torch.Tensor, base_idx=base_idx) -> torch.Tensor:
            return images[base_idx + r.clamp(0, h - 1) * w + c.clamp(0, w - 1)]

        color = ((1 - ax) * (1 - ay) * at(y0, x0) + ax * (1 - ay) * at(y0, x0 + 1)
                 + (1 - ax) * ay * at(y0 + 1, x0) + ax * ay * at(y0 + 1, x0 + 1))
        base = torch.where(ok, cos.clamp(min=0) ** COS_POWER / footprint.clamp(min=1e-12) ** 2, 0.0)
        base = base / base.amax().clamp(min=1e-30)  # scale-free (units of the scene)
        # Strict: bilinear taps reach one pixel around the projection, so full weight only where all of
        # them are well inside the mask. Loose: the nearest pixel alone, if not on the mask's outer ring.
        fade = ((border - 1.0 - BORDER_PX) / BORDER_PX).clamp(0.0, 1.0)
        nearest = images[pix]
        for j, (wt, col) in enumerate(((base * fade, color), (base * (border >= 1.5), nearest))):
            sums[j] += (wt[..., None] * col).sum(dim=0)
            weights[j] += wt.sum(dim=0)
    return sums[0], weights[0], sums[1], weights[1]


def spread_views(data: MultiViewData, k: int) -> np.ndarray:
    """Indices of `k` views spread evenly over the viewing directions (all views if there are ≤ k):
    with the head-on views weighted most, more views of the same side add time, not colour."""
    from softfit.fit.views import split_views

    if len(data) <= k:
        return np.arange(len(data))
    return np.sort(split_views(data.cameras, k / len(data), 0)[1])


def bake_texture(mesh: Mesh, data: MultiViewData, max_size: int | None = None, max_views: int = MAX_VIEWS
                 ) -> Texture:
    """Unwrap `mesh` and bake its colours from `data`'s images and masks (see the module docstring),
    using at most `max_views` of its views (`spread_views`)."""
    if data.images is None:
        raise InputError("no colour images: a texture needs photos, not only silhouettes")
    t0 = time.perf_counter()
    n_views = len(data)
    data = data.subset(spread_views(data, max_views))
    texel = pixel_footprint(mesh, data.cameras)
    uv = unwrap(mesh, texel, **({} if max_size is None else {"max_size": max_size}))
    t_unwrap = time.perf_counter() - t0
    pix, points, normals = texel_points(uv)
    depth = depth_maps(mesh, data.cameras)
    strict_sum, strict_w, loose_sum, loose_w = _accumulate(points, normals, data, depth)
    color = torch.where((strict_w > 0)[:, None], strict_sum / strict_w.clamp(min=1e-30)[:, None],
                        loose_sum / loose_w.clamp(min=1e-30)[:, None]).numpy()
    seen = (loose_w > 0).numpy()
    if not seen.any():
        raise InputError("no view shows the fitted mesh inside its mask: nothing to bake a texture from")
    if not seen.all():  # holes: nearest seen texels in 3-D, across chart seams
        k = min(HOLE_NEIGHBOURS, int(seen.sum()))
        dist, near = cKDTree(points[seen]).query(points[~seen], k=k)
        dist, near = dist.reshape(len(near), -1), near.reshape(len(near), -1)
        wt = 1.0 / np.maximum(dist, 1e-12)
        color[~seen] = np.einsum("tk,tkc->tc", wt, color[seen][near]) / wt.sum(axis=1, keepdims=True)
    w, h = uv.size
    atlas = np.zeros((h * w, 3))
    atlas[pix] = color
    filled = np.zeros(h * w, dtype=bool)
    filled[pix] = True
    # Gutter: every texel outside the charts repeats the nearest chart texel.
    _, (ri, ci) = ndimage.distance_transform_edt(~filled.reshape(h, w), return_indices=True)
    image = atlas.reshape(h, w, 3)[ri, ci]
    image = np.clip(np.round(image), 0, 255).astype(np.uint8)
    stats = {"size": [w, h], "texel": texel, "chart_texels": int(len(pix)),
             "seen_fraction": float(seen.mean()), "border_only_fraction": float(((strict_w == 0).numpy()
                                                                                 & seen).mean()),
             "hole_filled_fraction": float(1.0 - seen.mean()), "views": len(data), "views_given": n_views,
             "unwrap_time": round(t_unwrap, 3), "time": round(time.perf_counter() - t0, 3)}
    return Texture(uv, image, stats)

"""Differentiable texture refinement: with the geometry fixed, adjust the baked texture so that the mesh,
rendered the way a viewer shows it (each pixel the texture's bilinear colour at the surface point it
sees), reproduces the training photos.

The bake is a weighted mean of photo colours resampled at texel centres: two resamplings (photo to
texel, texel to screen), each a blur, and each view's colour averaged with views that see the point at
other scales. Refinement minimises the error where it is measured instead, on the photos' pixels: each
training view is rasterised once (`uvraster`); the texture is sampled there bilinearly, as `grid_sample`
does (differentiable in the texture; the taps are precomputed, the geometry being fixed); Adam minimises a
robust (Charbonnier) photometric loss over the pixels well inside the object masks (the outermost ring
mixes in the background) plus a smoothness prior on neighbouring texels, which damps texel noise that
the views disagree on (view-dependent shading, photo noise) and holds texels no pixel constrains.

Seams: each side of a chart cut is its own set of texels and gets its gradient from the pixels that see
its side. Left alone, the two sides drift apart (measured: the median colour step across seams rose from
5 to 8 levels while other edges stayed at 5); a seam term ties them: points along every seam edge are
sampled on both sides and their colour difference is penalised. Lookups that reach the gutter (texels
between charts, which repeat their nearest chart texel when written) are routed to that chart texel, so
what is optimised is what the written texture shows."""

from __future__ import annotations

import time

import numpy as np
import torch
from scipy import ndimage

from softfit.data.types import MultiViewData
from softfit.fit.engine import torch_threads
from softfit.fit.optim import Adam
from softfit.texture.bake import MAX_VIEWS, Texture, spread_views, texel_points
from softfit.texture.unwrap import UVMesh
from softfit.texture.uvraster import UVRaster, rasterize_uv

# Defaults measured on the texture benchmark's Suzanne (Cycles, 256², 36 training views; ground-truth and
# fitted mesh) and the test's Workbench Suzanne (96²): held-out PSNR rose with the prior's weight up to
# 2 (0.02: -0.5 dB against the bake, 0.5: +0.5 dB on the Workbench set; 2 and 8 equal on Cycles), and 100
# steps on 65 536 random pixels each matched 150 steps on all pixels.
STEPS = 100
LR = 0.02  # Adam step in colour units (0..1): a few steps reach the bake's typical error of 0.05
SMOOTH = 2.0  # weight of the texel-difference prior against the mean photometric loss
CHARBONNIER = 0.01  # robust loss scale (≈ 2.5 of 255 levels): outliers (highlights, misfit) count ~linearly
INNER_PX = 1.5  # pixels at least this far inside the mask are used (the outer ring mixes background)
SEAM = 1.0  # weight of the colour difference across seams, in the photometric loss's units
MAX_PIXELS = 65_536  # pixels per step at most (a random subset when there are more)
THREADS = 1  # the steps are gathers and scatters of ≤ 65 536 rows: a second thread costs more than it
# saves (measured 10 steps: 3.4 s on 1 thread, 31 s on 2 on this 2-core machine under load)


def bilinear_taps(uv: torch.Tensor, width: int, height: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(K, 4) flat texel indices and (K, 4) weights of a bilinear lookup at Blender UVs (K, 2): texel
    centres at (i + ½)/W, row 0 at v = 1 (as the image is stored), clamped at the border. The same
    filter as `grid_sample(align_corners=False)`, precomputed once because the geometry is fixed."""
    x = uv[:, 0] * width - 0.5
    y = (1.0 - uv[:, 1]) * height - 0.5
    x0, y0 = torch.floor(x), torch.floor(y)
    ax, ay = x - x0, y - y0
    x0, y0 = x0.long(), y0.long()
    cols = torch.stack([x0, x0 + 1, x0, x0 + 1], dim=1).clamp(0, width - 1)
    rows = torch.stack([y0, y0, y0 + 1, y0 + 1], dim=1).clamp(0, height - 1)
    wts = torch.stack([(1 - ax) * (1 - ay), ax * (1 - ay), (1 - ax) * ay, ax * ay], dim=1)
    return rows * width + cols, wts


def sample(flat: torch.Tensor, taps: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """(K, 3) colours of the texture `flat` (H·W, 3) at precomputed `bilinear_taps` (differentiable:
    the backward pass is a scatter-add onto the four texels of each lookup)."""
    idx, wts = taps
    return (flat[idx] * wts[..., None]).sum(dim=1)


def render(texture: np.ndarray, raster: UVRaster, shape: tuple[int, int, int]) -> np.ndarray:
    """(N, H, W, 3) uint8 views of the textured mesh over black (pixel-centre samples, no anti-aliasing)."""
    h, w = texture.shape[:2]
    out = torch.zeros(shape[0] * shape[1] * shape[2], 3)
    out[raster.pixel] = sample(torch.as_tensor(texture, dtype=torch.float32).reshape(-1, 3),
                               bilinear_taps(raster.uv, w, h))
    return out.reshape(*shape, 3).round().clamp(0, 255).to(torch.uint8).numpy()


def _targets(raster: UVRaster, data: MultiViewData) -> tuple[torch.Tensor, torch.Tensor]:
    """(uv, photo colour in 0..1) of every rasterised pixel at least INNER_PX inside its view's mask."""
    inner = np.stack([ndimage.distance_transform_edt(s >= 0.5) for s in data.silhouettes])
    ok = torch.as_tensor(inner.reshape(-1) >= INNER_PX)[raster.pixel]
    colours = torch.as_tensor(data.images.reshape(-1, 3))[raster.pixel[ok]].float() / 255.0
    return raster.uv[ok], colours


def _through(taps: tuple[torch.Tensor, torch.Tensor], nearest: torch.Tensor
             ) -> tuple[torch.Tensor, torch.Tensor]:
    return nearest[taps[0]], taps[1]


def seam_points(uv: UVMesh, per_edge: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """Matching UV points (S, 2) on the two sides of every seam (a mesh edge whose two faces map it to
    different places in the atlas), `per_edge` points spread along each such edge."""
    faces, uvf = uv.mesh.faces, uv.uv_faces
    ev = faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2)
    eu = uvf[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2)
    flip = ev[:, 0] > ev[:, 1]  # orient every edge from its lower mesh vertex: both sides agree
    ev = np.where(flip[:, None], ev[:, ::-1], ev)
    eu = np.where(flip[:, None], eu[:, ::-1], eu)
    key = ev[:, 0].astype(np.int64) * (uv.mesh.n_verts + 1) + ev[:, 1]
    order = np.argsort(key, kind="stable")
    k = key[order]
    pair = np.flatnonzero(k[1:] == k[:-1])
    first, second = eu[order[pair]], eu[order[pair + 1]]
    seam = (first != second).any(axis=1)
    first, second = first[seam], second[seam]
    t = (np.arange(per_edge) + 0.5) / per_edge
    uvs = uv.uvs

    def along(e: np.ndarray) -> torch.Tensor:
        p = uvs[e[:, 0], None] + t[None, :, None] * (uvs[e[:, 1], None] - uvs[e[:, 0], None])
        return torch.as_tensor(p.reshape(-1, 2), dtype=torch.float32)

    return along(first), along(second)


def _neighbours(chart: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Pairs of flat texel indices, right and down neighbours, both inside the charts ((H, W) bool)."""
    h, w = chart.shape
    grid = np.arange(h * w).reshape(h, w)
    right = chart[:, :-1] & chart[:, 1:]
    down = chart[:-1] & chart[1:]
    a = np.r_[grid[:, :-1][right], grid[:-1][down]]
    b = np.r_[grid[:, 1:][right], grid[1:][down]]
    return torch.as_tensor(a), torch.as_tensor(b)


def refine_texture(tex: Texture, data: MultiViewData, steps: int = STEPS, lr: float = LR,
                   smooth: float = SMOOTH, seed: int = 0, max_views: int = MAX_VIEWS) -> Texture:
    """A new Texture whose image minimises the photometric loss on `data` (the training views; at most
    `max_views` of them, spread as the bake spreads them) starting from `tex` (the bake); stats gain
    "refine" (steps, views, loss before/after, time)."""
    with torch_threads(THREADS):
        return _refine(tex, data.subset(spread_views(data, max_views)), steps, lr, smooth, seed)


def _refine(tex: Texture, data: MultiViewData, steps: int, lr: float, smooth: float, seed: int) -> Texture:
    t0 = time.perf_counter()
    raster = rasterize_uv(tex.uv, data.cameras)
    uv, colour = _targets(raster, data)
    if len(uv) == 0:
        return Texture(tex.uv, tex.image, tex.stats | {"refine": {"skipped": "no pixel inside the masks"}})
    w, h = tex.uv.size
    chart = np.zeros(h * w, dtype=bool)
    chart[texel_points(tex.uv)[0]] = True
    chart = chart.reshape(h, w)
    a, b = _neighbours(chart)
    # Gutter texels repeat their nearest chart texel (as written out): a lookup that reaches one is a
    # lookup of that chart texel, so the gradient lands where the written texture will hold it.
    _, (ri, ci) = ndimage.distance_transform_edt(~chart, return_indices=True)
    nearest = torch.as_tensor((ri * w + ci).reshape(-1))
    taps = _through(bilinear_taps(uv, w, h), nearest)
    seam_a, seam_b = (_through(bilinear_taps(p, w, h), nearest) for p in seam_points(tex.uv))
    param = (torch.tensor(tex.image, dtype=torch.float32).reshape(-1, 3) / 255.0).requires_grad_(True)
    opt = Adam([param], lr=lr)
    gen = torch.Generator().manual_seed(seed)
    eps2 = CHARBONNIER ** 2

    def robust(d: torch.Tensor) -> torch.Tensor:
        return (torch.sqrt(d.square().sum(dim=1) + eps2) - CHARBONNIER).mean()

    def photometric(idx: torch.Tensor | None) -> torch.Tensor:
        t, c = (taps, colour) if idx is None else ((taps[0][idx], taps[1][idx]), colour[idx])
        return robust(sample(param, t) - c)

    with torch.no_grad():
        before = float(photometric(None))
    for _ in range(steps):
        idx = None if len(uv) <= MAX_PIXELS else torch.randint(len(uv), (MAX_PIXELS,), generator=gen)
        prior = (param[a] - param[b]).square().sum(dim=1).mean() if len(a) else param.sum() * 0
        loss = photometric(idx) + smooth * prior
        if len(seam_a[0]):  # both sides of every seam show the same colour
            loss = loss + SEAM * robust(sample(param, seam_a) - sample(param, seam_b))
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            param.clamp_(0.0, 1.0)
    with torch.no_grad():
        after = float(photometric(None))
    out = param.detach().numpy() * 255.0
    # Gutter: every texel outside the charts repeats the nearest chart texel (as the bake writes it).
    image_out = np.clip(np.round(out.reshape(h, w, 3)[ri, ci]), 0, 255).astype(np.uint8)
    stats = {"steps": steps, "views": len(data), "pixels": len(uv), "loss_before": round(before, 5),
             "loss_after": round(after, 5), "time": round(time.perf_counter() - t0, 3)}
    return Texture(tex.uv, image_out, tex.stats | {"refine": stats})

"""Dense pure-torch soft silhouette: the same formula as the compiled kernels, evaluated for every
pixel-face pair (O(B·F·H·W) work) with autograd for the gradient. It stays in the package as the
reference that tests and benchmarks compare the kernels against; it is far too slow for fitting."""

from __future__ import annotations

import torch
from torch.utils.checkpoint import checkpoint

from softfit.raster.validation import check_inputs

# Pixel-face-edge elements per chunk: bounds memory; chunks are checkpointed so autograd keeps no
# O(B·F·H·W) intermediates either.
_CHUNK_ELEMENTS = 1 << 23
_MIN_EDGE_LEN2 = 1e-12  # same as csrc/raster_math.h: shorter edges are points


def _softplus(x: torch.Tensor) -> torch.Tensor:
    """Exact softplus (torch's has a linear threshold at 20), so -softplus(x) = log(1 - sigmoid(x))."""
    return x.clamp(min=0) + torch.log1p(torch.exp(-x.abs()))


def _chunk_terms(
    xy: torch.Tensor,
    valid: torch.Tensor,
    px: torch.Tensor,
    py: torch.Tensor,
    inv_sigma: float,
    cutoff_sq: float,
    hard: bool,
) -> torch.Tensor:
    """Σ_j log(1 - D_j) (or coverage in hard mode) over one chunk of faces xy (B, f, 3, 2) -> (B, H, W)."""
    ax = xy[..., 0][..., None, None]  # (B, f, 3, 1, 1)
    ay = xy[..., 1][..., None, None]
    ex = torch.roll(xy[..., 0], -1, dims=2)[..., None, None] - ax
    ey = torch.roll(xy[..., 1], -1, dims=2)[..., None, None] - ay
    len2 = ex * ex + ey * ey
    usable = len2 > _MIN_EDGE_LEN2
    inv_len2 = torch.where(usable, 1.0 / torch.where(usable, len2, torch.ones_like(len2)), 0.0)
    dx = px - ax  # (B, f, 3, 1, W)
    dy = py - ay  # (B, f, 3, H, 1)
    cross = ex * dy - ey * dx  # (B, f, 3, H, W)
    inside = (cross > 0).all(dim=2) | (cross < 0).all(dim=2)  # (B, f, H, W)
    inside = inside & valid[..., None, None]
    if hard:
        return inside.any(dim=1).to(xy.dtype)
    t = ((dx * ex + dy * ey) * inv_len2).clamp(0.0, 1.0)
    qx = dx - t * ex
    qy = dy - t * ey
    d2 = (qx * qx + qy * qy).min(dim=2).values  # distance² to the boundary, (B, f, H, W)
    x = torch.where(inside, d2, -d2) * inv_sigma
    keep = valid[..., None, None] & (inside | (d2 <= cutoff_sq))
    return torch.where(keep, -_softplus(x), torch.zeros_like(x)).sum(dim=1)


def dense_silhouette(verts: torch.Tensor, faces: torch.Tensor, image_size: tuple[int, int],
                     sigma: float = 1e-4, eps: float = 1e-3, hard: bool = False, near: float = 1e-4
                     ) -> torch.Tensor:
    """Reference for `rasterize_silhouette` (same arguments, units and result up to float rounding)."""
    p = check_inputs(verts, faces, image_size, sigma, eps, near)
    batch = p.verts.shape[0]
    if p.empty:
        alpha = p.verts.new_zeros((batch, p.height, p.width))
        return alpha + 0 * p.verts.sum() if p.verts.requires_grad and not hard else alpha
    faces_b = p.faces.expand(batch, -1, -1)
    valid = (faces_b >= 0).all(dim=-1)
    rows = torch.arange(batch, device=p.verts.device)[:, None, None]
    tri = p.verts[rows, faces_b.clamp(min=0)]  # (B, F, 3, 3)
    valid = valid & (tri[..., 2] > p.near).all(dim=-1)
    xy = tri[..., :2]
    dtype, device = p.verts.dtype, p.verts.device
    px = (torch.arange(p.width, device=device, dtype=dtype) + 0.5).view(1, 1, 1, 1, -1)
    py = (torch.arange(p.height, device=device, dtype=dtype) + 0.5).view(1, 1, 1, -1, 1)
    chunk = max(1, _CHUNK_ELEMENTS // max(1, batch * 3 * p.height * p.width))
    use_checkpoint = torch.is_grad_enabled() and p.verts.requires_grad and not hard
    total = p.verts.new_zeros((batch, p.height, p.width))
    for start in range(0, xy.shape[1], chunk):
        args = (xy[:, start : start + chunk], valid[:, start : start + chunk], px, py)
        consts = (1.0 / p.sigma_px, p.cutoff_sq, hard)
        if use_checkpoint:
            part = checkpoint(_chunk_terms, *args, *consts, use_reentrant=False)
        else:
            part = _chunk_terms(*args, *consts)
        total = torch.maximum(total, part) if hard else total + part
    return total if hard else -torch.expm1(total)

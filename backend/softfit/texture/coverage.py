"""Which pixel centres each 2-D triangle covers, with barycentric coordinates: the one scan converter
behind the depth buffer (triangles in image space) and the texel map (triangles in texture space).

Pixel (row i, column j) has its centre at (j + 0.5, i + 0.5), the convention of `softfit.cameras`.
Every (pixel, triangle) pair inside the triangle's bounding box is enumerated at once (vectorised in
torch), so the cost follows the covered area, not triangles × pixels."""

from __future__ import annotations

import torch

CHUNK = 4_000_000  # candidate (pixel, triangle) pairs per batch


def covered_pixels(xy: torch.Tensor, height: int, width: int, grow: float = 0.0
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(pixel index (K,) = row·width + col, triangle index (K,), barycentrics (K, 3)).

    xy: (T, 3, 2) corner positions in pixels. grow: also accept pixel centres up to `grow` pixels outside
    a triangle (their barycentrics then extrapolate slightly): a texture needs the texels that its
    bilinear lookups touch along chart borders. Degenerate triangles cover nothing."""
    dev = xy.device
    t = len(xy)
    empty = (torch.zeros(0, dtype=torch.int64, device=dev), torch.zeros(0, dtype=torch.int64, device=dev),
             torch.zeros(0, 3, dtype=xy.dtype, device=dev))
    if t == 0:
        return empty
    lo = torch.floor(xy.amin(dim=1) - 0.5 - grow).long() + 1  # first column/row whose centre can be inside
    hi = torch.floor(xy.amax(dim=1) - 0.5 + grow).long()
    lo[:, 0].clamp_(min=0)
    lo[:, 1].clamp_(min=0)
    hi[:, 0].clamp_(max=width - 1)
    hi[:, 1].clamp_(max=height - 1)
    nx = (hi[:, 0] - lo[:, 0] + 1).clamp(min=0)
    ny = (hi[:, 1] - lo[:, 1] + 1).clamp(min=0)
    a, b, c = xy[:, 0], xy[:, 1], xy[:, 2]
    area = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    count = torch.where(area.abs() > 1e-12, nx * ny, torch.zeros_like(nx))
    out_p, out_t, out_b = [], [], []
    # Batches of whole triangles so no batch holds more than about CHUNK pairs.
    ends = torch.cumsum(count, 0)
    start = 0
    while start < t:
        base = int(ends[start - 1]) if start else 0
        stop = int(torch.searchsorted(ends, torch.tensor(base + CHUNK, device=dev), right=True))
        stop = max(stop, start + 1)
        idx = torch.arange(start, min(stop, t), device=dev)
        cnt = count[idx]
        start = min(stop, t)
        total = int(cnt.sum())
        if total == 0:
            continue
        tri = torch.repeat_interleave(idx, cnt)
        offset = torch.arange(total, device=dev) - torch.repeat_interleave(torch.cumsum(cnt, 0) - cnt, cnt)
        col = lo[tri, 0] + offset % nx[tri]
        row = lo[tri, 1] + torch.div(offset, nx[tri], rounding_mode="floor")
        px = col.to(xy.dtype) + 0.5
        py = row.to(xy.dtype) + 0.5
        ar = area[tri]
        # Barycentrics of the pixel centre (signed areas over the triangle's).
        w0 = ((b[tri, 0] - px) * (c[tri, 1] - py) - (b[tri, 1] - py) * (c[tri, 0] - px)) / ar
        w1 = ((c[tri, 0] - px) * (a[tri, 1] - py) - (c[tri, 1] - py) * (a[tri, 0] - px)) / ar
        w2 = 1.0 - w0 - w1
        bary = torch.stack([w0, w1, w2], dim=1)
        if grow > 0:
            # Distance outside, in pixels: the most negative barycentric times its corner's height.
            edge_len = torch.stack([(c - b).norm(dim=1), (a - c).norm(dim=1), (b - a).norm(dim=1)], 1)[tri]
            height_px = ar.abs()[:, None] / edge_len.clamp(min=1e-12)
            inside = (bary * height_px >= -grow).all(dim=1)
        else:
            inside = (bary >= 0).all(dim=1)
        out_p.append((row * width + col)[inside])
        out_t.append(tri[inside])
        out_b.append(bary[inside])
    if not out_p:
        return empty
    return torch.cat(out_p), torch.cat(out_t), torch.cat(out_b)

"""Which texture coordinate each pixel of a view shows: the hard z-buffer of a UV-unwrapped mesh.

For every pixel centre a face covers, the nearest face wins (perspective-correct depth, the fragments of
`zbuffer.depth_maps`), and its perspective-correct barycentrics give the (u, v) the renderer would
sample there. The geometry is fixed, so this is computed once per view; a texture can then be sampled
at those coordinates (differentiably: `refine.bilinear_taps`) as often as needed."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from softfit.cameras import Cameras
from softfit.texture.unwrap import UVMesh
from softfit.texture.zbuffer import fragments


@dataclass(frozen=True)
class UVRaster:
    """pixel (K,): index into the (N·H·W) stack of views' pixels; uv (K, 2) Blender convention (origin
    bottom-left, v up); face (K,): the mesh face seen there."""

    pixel: torch.Tensor
    uv: torch.Tensor
    face: torch.Tensor


def rasterize_uv(uv: UVMesh, cameras: Cameras) -> UVRaster:
    """The visible surface's (u, v) at every covered pixel centre of every view of `cameras`."""
    pix, face, bary, depth = fragments(uv.mesh, cameras, torch.float64)
    # Nearest per pixel: sort by depth, then (stably) by pixel, keep each pixel's first entry.
    order = torch.argsort(depth)
    order = order[torch.sort(pix[order], stable=True)[1]]
    p_sorted = pix[order]
    first = torch.ones(len(order), dtype=torch.bool)
    first[1:] = p_sorted[1:] != p_sorted[:-1]
    keep = order[first]
    corners = torch.as_tensor(uv.uvs, dtype=torch.float64)[torch.as_tensor(uv.uv_faces)[face[keep]]]
    coords = torch.einsum("kc,kcj->kj", bary[keep], corners)  # (K, 2)
    return UVRaster(pix[keep], coords.float(), face[keep])

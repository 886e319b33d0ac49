"""Depth buffers of a mesh seen by `Cameras`: the nearest surface's depth at every pixel centre.

The texture baker decides per texel and view whether the photo shows that point, by comparing the
texel's depth with this buffer. Depth is interpolated perspective-correctly (1/depth is linear in
screen space) and uses the same projection and pixel-centre rule as the hard rasteriser, so the
covered pixels are exactly `softfit.metrics.render_silhouettes`'."""

from __future__ import annotations

import torch

from softfit.cameras import Cameras
from softfit.mesh.types import Mesh
from softfit.projection import camera_tensors, project
from softfit.texture.coverage import covered_pixels

NEAR = 1e-4  # faces with a corner closer than this (or behind the camera) are not drawn


def fragments(mesh: Mesh, cameras: Cameras, dtype: torch.dtype = torch.float32
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Every (pixel centre, face) pair a face covers, in every view: (pixel index (K,) into the N·H·W
    stack of views, face index (K,), perspective-correct barycentrics (K, 3), depth (K,))."""
    like = torch.empty(0, dtype=dtype)
    verts = torch.as_tensor(mesh.verts, dtype=dtype)
    faces = torch.as_tensor(mesh.faces, dtype=torch.int64)
    w2c, intr = camera_tensors(cameras, like)
    h, w, n = cameras.height, cameras.width, len(cameras)
    screen = project(verts, w2c, intr)  # (N, V, 3)
    tri = screen[:, faces].reshape(-1, 3, 3)  # (N·F, 3, 3), view-major
    idx = torch.nonzero((tri[:, :, 2] > NEAR).all(dim=1)).squeeze(1)
    # All views at once: view k's image is rows [k·H, (k+1)·H) of one tall image.
    xy = tri[idx, :, :2].clone()
    view = torch.div(idx, len(faces), rounding_mode="floor")
    xy[:, :, 1] += (view * h).to(xy.dtype)[:, None]
    pix, t, bary = covered_pixels(xy, n * h, w)
    # Rows from a neighbouring view's band: a triangle only covers its own band (clip to it).
    own = torch.div(pix, h * w, rounding_mode="floor") == view[t]
    pix, t, bary = pix[own], t[own], bary[own]
    persp = bary / tri[idx[t], :, 2]
    depth = 1.0 / persp.sum(dim=1)
    return pix, idx[t] % len(faces), persp * depth[:, None], depth


def depth_maps(mesh: Mesh, cameras: Cameras) -> torch.Tensor:
    """(N, H, W) float32 depth along the viewing axis; +inf where no face covers the pixel centre."""
    pix, _, _, depth = fragments(mesh, cameras)
    return _per_pixel(pix, depth, cameras, "amin")


def depth_range(mesh: Mesh, cameras: Cameras) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, H, W) float32 depths of the nearest and the farthest surface along each pixel centre's ray
    (+inf and -inf where no face covers it): where a closed mesh's interior lies along the ray."""
    pix, _, _, depth = fragments(mesh, cameras)
    return _per_pixel(pix, depth, cameras, "amin"), _per_pixel(pix, depth, cameras, "amax")


def _per_pixel(pix: torch.Tensor, depth: torch.Tensor, cameras: Cameras, reduce: str) -> torch.Tensor:
    h, w, n = cameras.height, cameras.width, len(cameras)
    out = torch.full((n * h * w,), float("inf") if reduce == "amin" else float("-inf"), dtype=torch.float32)
    out.scatter_reduce_(0, pix, depth.to(torch.float32), reduce=reduce)
    return out.reshape(n, h, w)

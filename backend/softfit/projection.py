"""Differentiable projection of world vertices through `Cameras` into the rasteriser's screen space."""

from __future__ import annotations

import torch

from softfit.cameras import Cameras


def camera_tensors(cameras: Cameras, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(w2c (N, 4, 4), intrinsics (N, 4)) as tensors with `like`'s dtype and device."""
    w2c = torch.as_tensor(cameras.w2c, dtype=like.dtype, device=like.device)
    intr = torch.as_tensor(cameras.intrinsics, dtype=like.dtype, device=like.device)
    return w2c, intr


def project(verts: torch.Tensor, w2c: torch.Tensor, intrinsics: torch.Tensor) -> torch.Tensor:
    """Project world vertices to (x_px, y_px, depth) per camera.

    verts: (V, 3) shared by all cameras or (N, V, 3); w2c: (N, 4, 4); intrinsics: (N, 4) fx, fy, cx, cy.
    Returns (N, V, 3). depth is the distance in front of the camera (OpenGL camera looks down -Z); points
    at or behind the camera get a finite position (the rasteriser culls their faces by depth)."""
    r, t = w2c[:, :3, :3], w2c[:, :3, 3]
    if verts.dim() == 2:
        pc = torch.einsum("nij,vj->nvi", r, verts) + t[:, None, :]
    else:
        pc = torch.einsum("nij,nvj->nvi", r, verts) + t[:, None, :]
    depth = -pc[..., 2]
    tiny = torch.finfo(verts.dtype).eps
    safe = torch.where(depth.abs() < tiny, torch.full_like(depth, tiny), depth)
    fx, fy, cx, cy = (intrinsics[:, k, None] for k in range(4))
    x = cx + fx * pc[..., 0] / safe
    y = cy - fy * pc[..., 1] / safe
    return torch.stack([x, y, depth], dim=-1)


def to_ndc(screen: torch.Tensor, width: int, height: int) -> torch.Tensor:
    """Pixel coordinates to NDC where the longer image side spans [-1, 1] (y up), as the σ units use."""
    s = 2.0 / max(width, height)
    x = (screen[..., 0] - width / 2.0) * s
    y = (height / 2.0 - screen[..., 1]) * s
    return torch.stack([x, y], dim=-1)

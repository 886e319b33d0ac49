"""Checks and normalises rasteriser inputs once, in Python, so the kernels can trust their arguments
and every caller gets the same clear ValueError instead of a crash or NaN deep in C++."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class RasterInputs:
    """Validated inputs in the kernels' units (see csrc/raster.h)."""

    verts: torch.Tensor  # (B, V, 3) float32/float64, contiguous
    faces: torch.Tensor  # (Bf, F, 3) int64, Bf in {1, B}, contiguous; rows of -1 are padding
    height: int
    width: int
    sigma_px: float  # σ in pixels²
    cutoff_sq: float  # r² in pixels²: outside faces farther than r add < eps and are skipped
    near: float

    @property
    def empty(self) -> bool:
        """True when nothing can be drawn (no meshes, faces or vertices)."""
        return self.verts.shape[0] == 0 or self.verts.shape[1] == 0 or self.faces.shape[1] == 0


def sigma_to_pixels(sigma: float, height: int, width: int) -> float:
    """σ from NDC² (the longer image side spans [-1, 1], i.e. 2 NDC = max(H, W) px) to pixels²."""
    return sigma * max(height, width) ** 2 / 4.0


def cutoff_sq_pixels(sigma_px: float, eps: float) -> float:
    """r² in pixels² beyond which an outside face's sigmoid(-d²/σ) falls below eps."""
    return sigma_px * math.log(1.0 / eps - 1.0)


def _image_size(image_size: tuple[int, int] | list[int] | int) -> tuple[int, int]:
    if isinstance(image_size, int) and not isinstance(image_size, bool):
        image_size = (image_size, image_size)
    if not isinstance(image_size, tuple | list) or len(image_size) != 2:
        raise ValueError(f"image_size must be (H, W), got {image_size!r}")
    h, w = image_size
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (h, w)):
        raise ValueError(f"image_size must hold two ints, got {image_size!r}")
    if h <= 0 or w <= 0:
        raise ValueError(f"image_size must be positive, got (H, W) = ({h}, {w})")
    return h, w


def _finite_number(name: str, value: float) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a number, got {value!r}") from exc
    if not math.isfinite(out):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return out


def check_inputs(
    verts: torch.Tensor,
    faces: torch.Tensor,
    image_size: tuple[int, int] | list[int] | int,
    sigma: float,
    eps: float,
    near: float,
) -> RasterInputs:
    """Validates shapes, dtypes, devices, values and options; raises ValueError naming the problem."""
    if not isinstance(verts, torch.Tensor) or not isinstance(faces, torch.Tensor):
        raise ValueError("verts and faces must be torch tensors")
    if verts.dtype not in (torch.float32, torch.float64):
        raise ValueError(f"verts must be float32 or float64, got {verts.dtype}")
    if verts.dim() != 3 or verts.shape[2] != 3:
        raise ValueError(f"verts must be (B, V, 3) = (x_px, y_px, depth), got shape {tuple(verts.shape)}")
    if faces.dtype.is_floating_point or faces.dtype.is_complex or faces.dtype == torch.bool:
        raise ValueError(f"faces must be an integer tensor, got {faces.dtype}")
    if verts.device != faces.device:
        raise ValueError(f"verts and faces must be on the same device, got {verts.device} and {faces.device}")
    if faces.dim() == 2:
        faces = faces.unsqueeze(0)
    if faces.dim() != 3 or faces.shape[2] != 3:
        raise ValueError(f"faces must be (F, 3) or (B, F, 3), got shape {tuple(faces.shape)}")
    batch, nverts = verts.shape[0], verts.shape[1]
    if faces.shape[0] not in (1, batch):
        raise ValueError(f"faces batch {faces.shape[0]} does not match verts batch {batch}")
    height, width = _image_size(image_size)
    sigma = _finite_number("sigma", sigma)
    if sigma <= 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    eps = _finite_number("eps", eps)
    if not 0.0 < eps < 0.5:
        raise ValueError(f"eps must be in (0, 0.5), got {eps}")
    near = _finite_number("near", near)
    faces = faces.to(torch.int64)
    if faces.numel():
        if bool((faces < -1).any()):
            raise ValueError(f"faces hold an index < -1 (min {int(faces.min())}); only -1 marks padding")
        padding = faces < 0
        if bool((padding.any(dim=-1) & ~padding.all(dim=-1)).any()):
            raise ValueError("faces rows must be all -1 (padding) or all vertex indices, found a mixed row")
        if bool((faces >= nverts).any()):
            raise ValueError(f"faces index out of range: max {int(faces.max())} but V = {nverts}")
    if verts.numel() and not bool(torch.isfinite(verts).all()):
        raise ValueError("verts hold NaN or Inf")
    sigma_px = sigma_to_pixels(sigma, height, width)
    if sigma_px < 1e-12:
        raise ValueError(f"sigma {sigma} is below 1e-12 px² at this image size: 1/σ would overflow")
    return RasterInputs(
        verts=verts.contiguous(),
        faces=faces.contiguous(),
        height=height,
        width=width,
        sigma_px=sigma_px,
        cutoff_sq=cutoff_sq_pixels(sigma_px, eps),
        near=near,
    )

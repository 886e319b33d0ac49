"""The compiled soft silhouette as a torch autograd op: validation, then the `softfit._C` kernels
(CPU or CUDA, dispatched in C++), with the exact analytic backward recomputed from the per-pixel sum."""

from __future__ import annotations

from types import ModuleType

import torch
from torch.autograd.function import FunctionCtx, once_differentiable

from softfit.raster.validation import RasterInputs, check_inputs


def _kernels() -> ModuleType:
    """The compiled extension, imported on first use so that importing softfit stays light."""
    try:
        from softfit import _C
    except ImportError as exc:  # pragma: no cover - depends on the build
        raise ImportError("softfit._C is not built: run `make extension`") from exc
    return _C


class _SoftSilhouette(torch.autograd.Function):
    """alpha = 1 - exp(S), with S = Σ log(1 - D_j) kept from forward so backward needs no division."""

    @staticmethod
    def forward(
        ctx: FunctionCtx,
        verts: torch.Tensor,
        faces: torch.Tensor,
        height: int,
        width: int,
        sigma_px: float,
        cutoff_sq: float,
        near: float,
    ) -> torch.Tensor:
        alpha, logsum = _kernels().forward(verts, faces, height, width, sigma_px, cutoff_sq, near, False)
        ctx.save_for_backward(verts, faces, logsum)
        ctx.params = (height, width, sigma_px, cutoff_sq, near)  # type: ignore[attr-defined]
        return alpha

    @staticmethod
    @once_differentiable
    def backward(ctx: FunctionCtx, grad_alpha: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        verts, faces, logsum = ctx.saved_tensors  # type: ignore[attr-defined]
        grad_verts = None
        if ctx.needs_input_grad[0]:  # type: ignore[attr-defined]
            grad_verts = _kernels().backward(grad_alpha, logsum, verts, faces, *ctx.params)  # type: ignore[attr-defined]
        return grad_verts, None, None, None, None, None, None


def _run(p: RasterInputs, hard: bool) -> torch.Tensor:
    if p.empty:
        alpha = p.verts.new_zeros((p.verts.shape[0], p.height, p.width))
        # Keep the graph connected so `loss.backward()` works and gives zero gradients.
        return alpha + 0 * p.verts.sum() if p.verts.requires_grad and not hard else alpha
    if hard:
        with torch.no_grad():
            alpha, _ = _kernels().forward(
                p.verts, p.faces, p.height, p.width, p.sigma_px, p.cutoff_sq, p.near, True
            )
        return alpha
    return _SoftSilhouette.apply(p.verts, p.faces, p.height, p.width, p.sigma_px, p.cutoff_sq, p.near)


def rasterize_silhouette(
    verts: torch.Tensor,
    faces: torch.Tensor,
    image_size: tuple[int, int],
    sigma: float = 1e-4,
    eps: float = 1e-3,
    hard: bool = False,
    near: float = 1e-4,
) -> torch.Tensor:
    """Soft silhouettes A = 1 - ∏_j (1 - sigmoid(δ_j d_j² / σ)) of B meshes, as (B, H, W) alpha.

    verts: (B, V, 3) float32/float64 = (x_px, y_px, depth): pixel coordinates with the origin at the
    image's top-left corner, x right, y down, pixel (col i, row j) centred at (i + 0.5, j + 0.5); depth
    is the distance in front of the camera. Only x, y get gradients; a face with any vertex depth <= near
    is skipped. faces: int (F, 3) shared by all meshes, or (B, F, 3) per mesh padded with rows of -1.
    image_size: (H, W). sigma is in NDC² where the longer image side spans [-1, 1], so
    σ_px = sigma · max(H, W)² / 4 (1e-4 at 256² is 1.64 px²); an outside face farther than
    r = sqrt(σ_px · ln(1/eps - 1)) (≈ 3.4 px there) adds < eps and is skipped. d is the pixel's distance
    to the face's boundary, δ = +1 inside (either winding) / -1 outside. hard=True returns binary
    coverage of pixel centres (no gradient) for evaluation. Raises ValueError on malformed input.
    """
    return _run(check_inputs(verts, faces, image_size, sigma, eps, near), hard)

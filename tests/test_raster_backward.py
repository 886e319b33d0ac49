"""Compiled soft silhouette gradients against autograd through the dense reference, and gradcheck."""

from __future__ import annotations

import torch
from raster_isa import cpu_kernel_isa  # noqa: F401 - autouse: every test runs on each CPU instruction set

from softfit.bench.raster import icosphere, sphere_views
from softfit.raster import dense_silhouette, rasterize_silhouette


def _grads(op, verts: torch.Tensor, faces: torch.Tensor, size: tuple[int, int], weight: torch.Tensor, **kw):
    v = verts.detach().clone().requires_grad_(True)
    alpha = op(v, faces, size, **kw)
    (grad,) = torch.autograd.grad((alpha * weight).sum(), v)
    return alpha.detach(), grad


def test_gradients_match_reference_on_random_meshes() -> None:
    gen = torch.Generator().manual_seed(0)
    verts = torch.rand(2, 25, 3, generator=gen, dtype=torch.float64)
    verts[..., 0] *= 30
    verts[..., 1] *= 22
    verts[..., 2] += 0.5
    faces = torch.randint(0, 25, (2, 20, 3), generator=gen)
    faces[1, 15:] = -1
    weight = torch.randn(2, 22, 30, generator=gen, dtype=torch.float64)
    a, ga = _grads(rasterize_silhouette, verts, faces, (22, 30), weight, sigma=2e-3)
    r, gr = _grads(dense_silhouette, verts, faces, (22, 30), weight, sigma=2e-3)
    assert (a - r).abs().max().item() < 1e-12
    assert gr.abs().max().item() > 1e-2
    assert torch.allclose(ga, gr, rtol=1e-9, atol=1e-10)
    assert torch.all(ga[..., 2] == 0)  # depth gets no gradient


def test_gradients_match_reference_on_sphere() -> None:
    unit, faces = icosphere(2)
    verts = sphere_views(unit, 2, 40, 56)
    weight = torch.rand(2, 40, 56, dtype=torch.float64)
    _, ga = _grads(rasterize_silhouette, verts, faces, (40, 56), weight)
    _, gr = _grads(dense_silhouette, verts, faces, (40, 56), weight)
    assert torch.allclose(ga, gr, rtol=1e-9, atol=1e-10)


def test_float32_gradients_close_to_float64() -> None:
    unit, faces = icosphere(2)
    verts = sphere_views(unit, 1, 48, 48)
    weight = torch.rand(1, 48, 48, dtype=torch.float64)
    _, g64 = _grads(rasterize_silhouette, verts, faces, (48, 48), weight)
    _, g32 = _grads(rasterize_silhouette, verts.float(), faces, (48, 48), weight.float())
    assert torch.allclose(g32.double(), g64, rtol=1e-3, atol=1e-4 * g64.abs().max().item())


def test_gradcheck_small_meshes() -> None:
    gen = torch.Generator().manual_seed(5)
    verts = torch.rand(2, 5, 3, generator=gen, dtype=torch.float64)
    verts[..., :2] = verts[..., :2] * 10 + 1
    verts[..., 2] += 1.0
    faces = torch.tensor([[0, 1, 2], [2, 3, 4], [1, 4, 3]])
    # σ = 2e-2 NDC² at 12 px is 0.72 px²: soft bands of a few pixels, so every vertex matters.
    verts.requires_grad_(True)

    def op(v: torch.Tensor) -> torch.Tensor:
        return rasterize_silhouette(v, faces, (12, 11), sigma=2e-2)

    assert torch.autograd.gradcheck(op, (verts,), eps=1e-6, atol=1e-6, rtol=1e-4)

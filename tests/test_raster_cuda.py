"""The CUDA twin: compiled in wherever a toolkit and a CUDA torch exist, and equal to the CPU kernel
(forward and gradients) where a GPU is present."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import torch

from softfit import _C
from softfit.bench.raster import icosphere, sphere_views
from softfit.raster import rasterize_silhouette

needs_gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _toolkit_present() -> bool:
    """Mirrors setup.py's cuda_home(): a root holding bin/nvcc and lib64/libcudart.so."""
    roots = [os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH"), "/usr/local/cuda"]
    nvcc = shutil.which("nvcc")
    if nvcc:
        roots.append(str(Path(nvcc).resolve().parent.parent))
    return any(
        r and (Path(r) / "bin" / "nvcc").is_file() and list(Path(r).glob("lib64/libcudart.so*"))
        for r in roots
    )


@pytest.mark.skipif(
    torch.version.cuda is None or not _toolkit_present() or os.environ.get("SOFTFIT_NO_CUDA") == "1",
    reason="no CUDA toolkit or CPU-only torch: the extension is built without CUDA",
)
def test_cuda_kernels_were_compiled() -> None:
    assert _C.has_cuda(), "a CUDA toolkit exists but softfit._C was built without it: rebuild the extension"


def _pair(device: str, dtype: torch.dtype, size: tuple[int, int], sigma: float) -> tuple:
    unit, faces = icosphere(3)
    verts = sphere_views(unit, 3, *size).to(dtype)
    per_mesh = torch.full((3, faces.shape[0] + 7, 3), -1, dtype=torch.int64)
    per_mesh[:, : faces.shape[0]] = faces
    weight = torch.rand(3, *size, dtype=dtype, generator=torch.Generator().manual_seed(1))
    v = verts.to(device).requires_grad_(True)
    alpha = rasterize_silhouette(v, per_mesh.to(device), size, sigma=sigma)
    (grad,) = torch.autograd.grad((alpha * weight.to(device)).sum(), v)
    hard = rasterize_silhouette(v.detach(), per_mesh.to(device), size, hard=True)
    return alpha.detach().cpu(), grad.cpu(), hard.cpu()


@needs_gpu
@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_cuda_matches_cpu(dtype: torch.dtype) -> None:
    size, sigma = (72, 100), 3e-4
    a_cpu, g_cpu, h_cpu = _pair("cpu", dtype, size, sigma)
    a_gpu, g_gpu, h_gpu = _pair("cuda", dtype, size, sigma)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    assert (a_cpu - a_gpu).abs().max().item() <= tol
    scale = g_cpu.abs().max().item()
    assert (g_cpu - g_gpu).abs().max().item() <= (1e-4 if dtype == torch.float32 else 1e-10) * scale
    assert torch.equal(h_cpu, h_gpu)


@needs_gpu
@pytest.mark.gpu
def test_cuda_empty_and_degenerate_inputs() -> None:
    verts = torch.tensor([[[4.0, 4.0, 1.0], [12.0, 12.0, 1.0], [8.0, 8.0, 1.0]]], device="cuda")
    faces = torch.tensor([[0, 1, 2]], device="cuda")
    v = verts.clone().requires_grad_(True)
    alpha = rasterize_silhouette(v, faces, (16, 16), sigma=2e-2)
    alpha.sum().backward()
    assert torch.isfinite(alpha).all() and torch.isfinite(v.grad).all()
    empty = rasterize_silhouette(verts, faces[:0], (16, 16))
    assert empty.abs().sum().item() == 0

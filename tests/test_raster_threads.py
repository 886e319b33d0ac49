"""The CPU kernels really run on several threads, and their results do not depend on how many.

A build without a parallel backend compiles torch's `at::parallel_for` to a serial loop: everything still
works, one core does all of it, and a "same result on 1 and 2 threads" test passes trivially. So these
tests assert the fact, not a timing: the extension counts the threads that did work in its latest
forward and backward pass."""

from __future__ import annotations

import platform
import sys

import pytest
import torch

from softfit import _C
from softfit.bench.raster import icosphere, sphere_views
from softfit.bench.raster_fit import kernel_isa
from softfit.fit.engine import torch_threads
from softfit.raster import rasterize_silhouette


def large_input(dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor, tuple[int, int]]:
    """4 views of a 5 120-face sphere at 192×160: ~480 tiles, ~0.1 s of work on one thread."""
    unit, faces = icosphere(4)
    return sphere_views(unit, 4, 192, 160).to(dtype).requires_grad_(True), faces, (192, 160)


def run(verts: torch.Tensor, faces: torch.Tensor, size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    alpha = rasterize_silhouette(verts, faces, size, sigma=3e-4)
    (grad,) = torch.autograd.grad((alpha * alpha.detach()).sum(), verts)
    return alpha.detach(), grad


def test_extension_built_with_a_parallel_backend() -> None:
    if sys.platform.startswith("linux"):
        # gcc and clang have OpenMP and torch ships libgomp: anything else here is a broken build flag.
        assert _C.cpu_parallel_backend() == "openmp"
    else:
        assert _C.cpu_parallel_backend() in ("openmp", "std::thread")


@pytest.mark.parametrize("threads", [1, 2])
def test_forward_and_backward_use_the_requested_threads(threads: int) -> None:
    verts, faces, size = large_input()
    with torch_threads(threads):
        run(verts, faces, size)
        assert _C.cpu_threads_used() == [threads, threads]


@pytest.mark.parametrize("isa", _C.cpu_kernel_isas())
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_output_identical_across_thread_counts(dtype: torch.dtype, isa: str) -> None:
    verts, faces, size = large_input(dtype)
    results = []
    with kernel_isa(isa):
        for threads in (1, 2):
            with torch_threads(threads):
                results.append(run(verts, faces, size))
                # Only meaningful if the second run really was split between two threads.
                assert _C.cpu_threads_used() == [threads, threads]
    assert torch.equal(results[0][0], results[1][0])
    assert torch.equal(results[0][1], results[1][1])


def _cpu_flags() -> set[str]:
    with open("/proc/cpuinfo") as f:
        return {flag for line in f if line.startswith("flags") for flag in line.split(":", 1)[1].split()}


def test_cpu_kernels_use_avx2_where_the_cpu_has_it() -> None:
    """The AVX2 + FMA variant is built on x86-64 Linux and chosen by default when the CPU has both;
    "generic" (any CPU) is always there, and an unknown name is refused."""
    assert "generic" in _C.cpu_kernel_isas()
    if sys.platform.startswith("linux") and platform.machine() == "x86_64":
        has = {"avx2", "fma"} <= _cpu_flags()
        assert ("avx2" in _C.cpu_kernel_isas()) == has
        assert _C.cpu_kernel_isa() == ("avx2" if has else "generic")
    with pytest.raises(RuntimeError, match="not available"):
        _C.set_cpu_kernel_isa("avx9000")

"""Builds the `softfit._C` torch extension: the soft rasteriser's CPU kernels always, CUDA kernels when a
CUDA toolkit and a CUDA build of torch are both present (set SOFTFIT_NO_CUDA=1 to skip them)."""

from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path

from setuptools import setup
from torch.utils.cpp_extension import BuildExtension, CppExtension, CUDAExtension

HERE = Path(__file__).resolve().parent


def cuda_home() -> str | None:
    """The CUDA toolkit root (holding bin/nvcc and lib64/libcudart.so), or None.

    The `nvcc` on PATH may be a wrapper script, from whose folder torch would guess a wrong root, so
    candidates are checked for the real files instead of trusting PATH."""
    candidates = [os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH"), "/usr/local/cuda"]
    nvcc = shutil.which("nvcc")
    if nvcc:
        candidates.append(str(Path(nvcc).resolve().parent.parent))
    for root in candidates:
        if root and (Path(root) / "bin" / "nvcc").is_file() and list(Path(root).glob("lib64/libcudart.so*")):
            return root
    return None


def want_cuda() -> bool:
    import torch

    if os.environ.get("SOFTFIT_NO_CUDA") == "1" or torch.version.cuda is None:
        return False
    root = cuda_home()
    if root is None:
        return False
    os.environ["CUDA_HOME"] = root
    # No GPU on the build machine: torch cannot detect the architecture, so name it (H100/H200 native).
    os.environ.setdefault("TORCH_CUDA_ARCH_LIST", "9.0")
    return True


def extension():
    cpp = sorted(glob.glob("csrc/*.cpp"))
    cxx = ["-O3", "-std=c++20"]
    if want_cuda():
        import torch.utils.cpp_extension as ce

        ce.CUDA_HOME = os.environ["CUDA_HOME"]
        return CUDAExtension(
            "softfit._C",
            cpp + sorted(glob.glob("csrc/*.cu")),
            define_macros=[("SOFTFIT_WITH_CUDA", None)],
            extra_compile_args={"cxx": cxx, "nvcc": ["-O3", "-std=c++20"]},
        )
    return CppExtension("softfit._C", cpp, extra_compile_args={"cxx": cxx})


setup(ext_modules=[extension()], cmdclass={"build_ext": BuildExtension.with_options(use_ninja=True)})

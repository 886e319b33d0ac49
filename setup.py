"""Builds the `softfit._C` torch extension: the soft rasteriser's CPU kernels always, CUDA kernels when a
CUDA toolkit and a CUDA build of torch are both present (set SOFTFIT_NO_CUDA=1 to skip them).

The CPU kernels are compiled with OpenMP wherever the compiler supports it: torch's `at::parallel_for` is
an inline OpenMP region, and without the flag it silently compiles to a serial loop. Where OpenMP is not
available (or SOFTFIT_NO_OPENMP=1), the kernels fall back to their own std::thread workers."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
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


def _compiles(flags: list[str], link: list[str]) -> bool:
    """Whether the C++ compiler builds and links a tiny OpenMP program with these flags."""
    cxx = os.environ.get("CXX") or sysconfig.get_config_var("CXX") or "c++"
    src = "#include <omp.h>\nint main() { int n = 0;\n#pragma omp parallel\n{ n = omp_get_num_threads(); }\n"
    src += "return n > 0 ? 0 : 1; }\n"
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "t.cpp").write_text(src)
        cmd = [*cxx.split(), *flags, "t.cpp", "-o", "t", *link]
        try:
            return subprocess.run(cmd, cwd=tmp, capture_output=True, timeout=120).returncode == 0
        except (OSError, subprocess.SubprocessError):
            return False


def openmp_flags() -> tuple[list[str], list[str]]:
    """(compile, link) flags that make `at::parallel_for` run on threads, or ([], []) to fall back.

    Linux gcc/clang: -fopenmp (the extension then needs libgomp.so.1, which torch already loaded: one
    OpenMP runtime, whose thread count torch.set_num_threads sets). MSVC: /openmp. Apple clang has no
    OpenMP of its own: -Xpreprocessor -fopenmp with Homebrew's libomp (or SOFTFIT_LIBOMP=<prefix>)."""
    if os.environ.get("SOFTFIT_NO_OPENMP") == "1":
        return [], []
    if sys.platform == "win32":
        return ["/openmp"], []
    if sys.platform == "darwin":
        prefixes = [os.environ.get("SOFTFIT_LIBOMP"), "/opt/homebrew/opt/libomp", "/usr/local/opt/libomp"]
        for prefix in filter(None, prefixes):
            if (Path(prefix) / "include" / "omp.h").is_file():
                flags = ["-Xpreprocessor", "-fopenmp", f"-I{prefix}/include"]
                link = [f"-L{prefix}/lib", "-lomp", f"-Wl,-rpath,{prefix}/lib"]
                if _compiles(flags, link):
                    return flags, link
        print("softfit: no libomp found; CPU kernels use their std::thread fallback", file=sys.stderr)
        return [], []
    if _compiles(["-fopenmp"], ["-fopenmp"]):
        return ["-fopenmp"], ["-fopenmp"]
    print("softfit: the compiler lacks OpenMP; CPU kernels use their std::thread fallback", file=sys.stderr)
    return [], []


def extension():
    cpp = sorted(glob.glob("csrc/*.cpp"))
    omp_cxx, omp_link = openmp_flags()
    # -fno-trapping-math: no code here reads floating-point exception flags, and without it gcc keeps the
    # pixel loops' compares and selects scalar. It changes no result (no reassociation, unlike -ffast-math).
    if sys.platform == "win32":
        cxx = ["/O2", "/std:c++20", *omp_cxx]
    else:
        cxx = ["-O3", "-std=c++20", "-fno-trapping-math", *omp_cxx]
    if want_cuda():
        import torch.utils.cpp_extension as ce

        ce.CUDA_HOME = os.environ["CUDA_HOME"]
        return CUDAExtension(
            "softfit._C",
            cpp + sorted(glob.glob("csrc/*.cu")),
            define_macros=[("SOFTFIT_WITH_CUDA", None)],
            extra_compile_args={"cxx": cxx, "nvcc": ["-O3", "-std=c++20"]},
            extra_link_args=omp_link,
        )
    return CppExtension("softfit._C", cpp, extra_compile_args={"cxx": cxx}, extra_link_args=omp_link)


setup(ext_modules=[extension()], cmdclass={"build_ext": BuildExtension.with_options(use_ninja=True)})

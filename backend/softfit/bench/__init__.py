"""Benchmarks run by `softfit bench NAME`: one module per benchmark, each defining
`add_arguments(parser)` and `run(args) -> int`, and writing its tables under benchmarks/."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import torch

from softfit.sysinfo import cpu_model, machine_cpus

# name -> (module, help). Add `fit`, `wire`, ... here, each as softfit.bench.<name>.
BENCHES: dict[str, tuple[str, str]] = {
    "raster": ("softfit.bench.raster", "soft silhouette rasteriser: compiled kernels vs the dense reference"),
    "fit": ("softfit.bench.fit", "the default demo fit: time, held-out IoU, IoU vs time; other objects"),
    "thin": ("softfit.bench.thin", "adaptive resolution: thin parts, fits vs the visual hull"),
    "wire": ("softfit.bench.wire", "ZeroMQ service: ping latency, vertex-frame throughput, fit overhead"),
    "addon": ("softfit.bench.addon", "Blender add-on: main-thread time per artist action (real bpy)"),
    "texture": ("softfit.bench.texture", "textured result: held-out PSNR/SSIM, Blender renders vs photos"),
    "solve": ("softfit.bench.solve", "Large Steps solve: cholespy's sparse Cholesky vs SciPy's sparse LU"),
    "segment": ("softfit.bench.segment", "photo segmentation: time per view, one thread vs every core"),
    "silhouettes": ("softfit.bench.silhouettes",
                    "every silhouette method on photoreal Cycles scenes, scored against the true masks"),
    "masks": ("softfit.bench.masks", "the default masks on every photoreal scene against the true masks, "
              "no fits; --against an earlier run, with held-out seeds apart"),
    "drawn-summary": ("softfit.bench.drawn_summary",
                      "every drawn-scene run of `bench silhouettes` in one table (reads, fits nothing)"),
}


def choose(arg: str | None, known, what: str) -> list[str]:
    """The names a comma-separated `--objects`/`--scenes`/... option picks from `known` (all when None);
    an InputError names the unknown ones."""
    from softfit.errors import InputError

    names = list(known) if arg is None else [n.strip() for n in arg.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise InputError(f"unknown {what} {unknown}; choose from {list(known)}")
    return names


def repo_root() -> Path:
    """The checkout holding backend/ (benchmarks/ sits beside it)."""
    return Path(__file__).resolve().parents[3]


def machine_info() -> dict[str, object]:
    """What a reader needs to compare figures between machines."""
    info: dict[str, object] = {
        "cpu": cpu_model(),
        "logical_cpus": machine_cpus(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        # Other processes share the CPU: a high load average means noisy, pessimistic CPU figures.
        "load_average_1min_at_start": round(os.getloadavg()[0], 2),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["cuda"] = torch.version.cuda
    try:
        git = ["git", "rev-parse", "--short", "HEAD"]
        rev = subprocess.run(git, cwd=repo_root(), capture_output=True, text=True, timeout=5)
        if rev.returncode == 0:
            info["git"] = rev.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return info

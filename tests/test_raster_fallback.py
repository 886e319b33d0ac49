"""The std::thread fallback, for compilers without OpenMP: built for real (SOFTFIT_NO_OPENMP=1, into a
temporary folder) and run in a fresh process. It must report its backend, really use the requested
threads, and give results bit-identical across thread counts and to the OpenMP build's (the per-tile
maths is the same code; only who runs the tiles differs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a compile of the extension (a minute or two): CI runs it

ROOT = Path(__file__).resolve().parents[1]

# Loads the fallback build as `_C` next to the real one and compares the raw kernels.
CHECK = r"""
import importlib.util, json, sys
import torch
from softfit import _C as omp
from softfit.bench.raster import icosphere, sphere_views

spec = importlib.util.spec_from_file_location("_C", sys.argv[1])
fallback = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fallback)
unit, faces = icosphere(4)
verts = sphere_views(unit, 4, 192, 160).float()
faces = faces[None]
out = {"backend": fallback.cpu_parallel_backend(), "isas": fallback.cpu_kernel_isas(), "cases": []}
for isa in fallback.cpu_kernel_isas():
    runs = {}
    for name, mod in (("fallback", fallback), ("openmp", omp)):
        mod.set_cpu_kernel_isa(isa)
        for threads in (1, 2):
            torch.set_num_threads(threads)
            alpha, logsum = mod.forward(verts, faces, 192, 160, 4.0, 27.6, 1e-4, False)
            grad = mod.backward(alpha * 0.5 - 0.2, logsum, verts, faces, 192, 160, 4.0, 27.6, 1e-4)
            runs[name, threads] = (alpha, grad, mod.cpu_threads_used())
    ref = runs["openmp", 1]
    out["cases"].append({
        "isa": isa,
        "threads_used": [runs["fallback", n][2] for n in (1, 2)],
        "identical": all(torch.equal(runs[k][0], ref[0]) and torch.equal(runs[k][1], ref[1]) for k in runs),
        "nonzero": bool(ref[0].gt(0.5).any()) and bool(ref[1].abs().sum() > 0),
    })
print(json.dumps(out))
"""


def test_std_thread_fallback_builds_runs_in_parallel_and_matches(tmp_path: Path) -> None:
    env = os.environ | {"SOFTFIT_NO_OPENMP": "1", "SOFTFIT_NO_CUDA": "1"}
    build = subprocess.run(
        [sys.executable, "setup.py", "build_ext", "--build-lib", str(tmp_path / "lib"),
         "--build-temp", str(tmp_path / "tmp")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    (lib,) = (tmp_path / "lib" / "softfit").glob("_C*")
    run = subprocess.run([sys.executable, "-c", CHECK, str(lib)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["backend"] == "std::thread"
    assert "generic" in result["isas"]
    for case in result["cases"]:
        assert case["threads_used"] == [[1, 1], [2, 2]], case
        assert case["nonzero"] and case["identical"], case

"""`softfit bench solve`: the Large Steps solve (M = I + lambda L on a fitted sphere), cholespy's sparse
Cholesky (what `fit.parameterization.LargeSteps` uses) against SciPy's sparse LU (what it used before), side
by side in one process: factorisation once per fit, a forward + backward solve every step. Ratios are
LU time / Cholesky time (> 1: the Cholesky path is faster). Writes benchmarks/solve.{json,md}."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from softfit.bench import machine_info, repo_root

POLYS = (2_000, 20_000, 80_000)
SMOOTHING = 10.0  # FitParams' Large Steps lambda is of this order; the sparsity, not lambda, sets the cost


def _best(fn, repeat: int) -> float:
    """Fastest of `repeat` runs, in ms (the least disturbed by other work on a shared machine)."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1e3 * min(times)


def measure(polys: int, repeat: int) -> dict:
    import scipy.sparse as sp
    import scipy.sparse.linalg as spla
    import torch
    from cholespy import CholeskySolverD, MatrixType

    from softfit.fit.parameterization import combinatorial_laplacian
    from softfit.mesh.sphere import uv_sphere

    mesh = uv_sphere(polys)
    n = len(mesh.verts)
    m = (sp.identity(n, format="csr") + SMOOTHING * combinatorial_laplacian(n, mesh.faces)).tocoo()
    rows, cols = torch.as_tensor(m.row, dtype=torch.int32), torch.as_tensor(m.col, dtype=torch.int32)
    vals = torch.as_tensor(m.data, dtype=torch.float64)
    b = torch.randn(n, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    lu = spla.splu(m.tocsc())
    chol = CholeskySolverD(n, rows, cols, vals, MatrixType.COO)
    out = torch.empty_like(b)

    def lu_step() -> None:  # the old path: host round trip, forward and backward solve
        for _ in range(2):
            torch.as_tensor(lu.solve(b.numpy()))

    def chol_step() -> None:
        for _ in range(2):
            chol.solve(b, out)

    chol_step()
    err = float(np.abs(out.numpy() - lu.solve(b.numpy())).max())
    row = {"polys": len(mesh.faces), "verts": n,
           "factor_lu_ms": _best(lambda: spla.splu(m.tocsc()), max(1, repeat // 10)),
           "factor_chol_ms": _best(lambda: CholeskySolverD(n, rows, cols, vals, MatrixType.COO),
                                   max(1, repeat // 10)),
           "step_lu_ms": _best(lu_step, repeat), "step_chol_ms": _best(chol_step, repeat),
           "max_abs_difference": err}
    row["factor_ratio"] = row["factor_lu_ms"] / row["factor_chol_ms"]
    row["step_ratio"] = row["step_lu_ms"] / row["step_chol_ms"]
    return row


def markdown(rows: list[dict], info: dict, load: float) -> str:
    lines = ["# Large Steps solve: cholespy Cholesky vs SciPy LU", "",
             "Regenerate with `softfit bench solve`. One process, the two solvers interleaved on the same "
             f"matrix M = I + {SMOOTHING:g} L of a UV sphere; fastest of several runs. A step is a forward "
             "and a backward solve of (V, 3) right-hand sides, as every fit iteration does. Ratio = LU / "
             "Cholesky (> 1: Cholesky faster).", "",
             f"Machine: {info.get('cpu')}, {info.get('logical_cpus')} logical CPUs, torch "
             f"{info.get('torch')}, {info.get('torch_threads')} threads; load average {load:.1f} before the "
             "run (the machine is shared; the ratios are the figure to read).", "",
             "| faces | vertices | factor LU ms | factor Cholesky ms | ratio | step LU ms | step Cholesky ms "
             "| ratio | max abs difference |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['polys']} | {r['verts']} | {r['factor_lu_ms']:.1f} | {r['factor_chol_ms']:.1f} | "
                     f"{r['factor_ratio']:.2f}x | {r['step_lu_ms']:.2f} | {r['step_chol_ms']:.2f} | "
                     f"{r['step_ratio']:.2f}x | {r['max_abs_difference']:.1e} |")
    lines += ["", "The factorisation runs once per fit, the step's two solves every iteration (300 in the "
              "demo). The GPU path (factors on the CUDA device, no host copy per step) has not been "
              "measured: no GPU was available when this was run.", ""]
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repeat", type=int, default=30, help="timed runs per figure (the fastest counts)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: <repo>/benchmarks)")


def run(args: argparse.Namespace) -> int:
    import os

    load = os.getloadavg()[0]
    info = machine_info()
    rows = []
    for polys in POLYS:
        rows.append(measure(polys, args.repeat))
        r = rows[-1]
        print(f"{r['polys']} faces: factor {r['factor_ratio']:.2f}x, step {r['step_ratio']:.2f}x "
              f"({r['step_lu_ms']:.2f} -> {r['step_chol_ms']:.2f} ms)", flush=True)
    out = args.out or repo_root() / "benchmarks"
    out.mkdir(parents=True, exist_ok=True)
    (out / "solve.json").write_text(json.dumps({"machine": info, "load": load, "rows": rows}, indent=2))
    (out / "solve.md").write_text(markdown(rows, info, load))
    return 0

"""The fit step part of `softfit bench raster`: one step of the real fit engine on real data (by default
the demo dataset: Blender's Suzanne, 72 views at 256², from the demo cache), from a visual-hull initial
mesh of about 20 000 faces built from the training views, at a fixed σ and render size.

Each step is timed whole (the engine's own `step`) and part by part (the same calls one after the
other), with the CPU kernels' best instruction set and, side by side in the same process and call by
call in turn, with the baseline "generic" kernels that any CPU runs: their ratio is the speed-up the
vectorised kernels give the whole step, not only the rasteriser."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

STEP_PARTS = ("Large Steps solve", "projection", "raster forward", "loss", "backward", "optimiser")
SIGMAS = (1e-4, 1e-5, 1e-6)


@contextmanager
def kernel_isa(name: str):
    """Run the block with the CPU kernels of instruction set `name` (softfit._C.cpu_kernel_isas())."""
    from softfit import _C

    before = _C.cpu_kernel_isa()
    _C.set_cpu_kernel_isa(name)
    try:
        yield
    finally:
        _C.set_cpu_kernel_isa(before)


def demo_folder() -> Path:
    """The demo dataset, rendered into the demo cache on first use (as `softfit demo` does)."""
    from softfit.dataset.cache import DEFAULT_DATASET, cache_root, cached_dataset

    return cached_dataset(DEFAULT_DATASET, cache_root(), quiet=True)


def make_fit(folder: Path, faces: int, size: int, sigma: float):
    """The fit engine's state for `folder` at render size `size` and a constant σ, from a hull of ~faces."""
    from softfit.fit import FitParams
    from softfit.fit.engine import _Fit
    from softfit.pipeline import InitSpec, Inputs
    from softfit.pipeline.initial import initial_mesh, training_views

    data = Inputs(str(folder), image_size=size).load()
    params = FitParams(device="cpu", sigma=(sigma, sigma), resolutions=((0.0, size),))
    _, mesh = initial_mesh(InitSpec("hull", faces), data, params)
    fit = _Fit(data, mesh, params, torch.device("cpu"), np.zeros(0, dtype=np.int64),
               training_views(data, params))
    return fit, mesh


def step_parts(fit, it: int, clock: Callable[[], float]) -> dict[str, float]:
    """One step of `fit`, as `_Fit.step` runs it, timed part by part with `clock` (seconds)."""
    from softfit.fit.losses import silhouette_loss
    from softfit.fit.regularizers import regularizer_terms
    from softfit.projection import project
    from softfit.raster import rasterize_silhouette

    p = fit.p
    tg = fit.targets(p.resolution_at(it))
    idx = torch.as_tensor(fit.next_views(), device=fit.device)
    t = [clock()]
    x = fit.param.verts()
    t.append(clock())
    screen = project(x, tg.w2c[idx], tg.intrinsics[idx])
    t.append(clock())
    alpha = rasterize_silhouette(screen, fit.faces, (tg.height, tg.width), sigma=p.sigma_at(it))
    t.append(clock())
    loss, _ = silhouette_loss(alpha, tg.silhouettes[idx])
    loss = loss + sum((fit.weights[k] * v for k, v in regularizer_terms(x, fit.topo, fit.weights,
                                                                           p.laplacian).items()), 0.0)
    t.append(clock())
    fit.opt.zero_grad()
    loss.backward()
    t.append(clock())
    fit.opt.lr = p.lr_at(it) * fit.scale
    fit.opt.step()
    fit.param.after_step()
    t.append(clock())
    out = {name: t[k + 1] - t[k] for k, name in enumerate(STEP_PARTS)}
    return out | {"step": t[-1] - t[0]}


def whole_step(fit, it: int) -> tuple[float, float]:
    """(wall, CPU) seconds of the engine's own step, with the per-step read-back the fit loop does."""
    wall, cpu = time.perf_counter(), time.process_time()
    fit.step(it)
    fit.current_verts().numpy()
    return time.perf_counter() - wall, time.process_time() - cpu


def fit_step_rows(folder: Path | None, faces: int, size: int, repeats: int,
                  sigmas: tuple[float, ...] = SIGMAS) -> list[dict[str, object]]:
    """Per σ: the whole step's median wall and CPU time with the best and with the generic kernels
    (interleaved call by call), and the best kernels' step part by part (median CPU seconds)."""
    from softfit import _C

    folder = demo_folder() if folder is None else folder
    best = _C.cpu_kernel_isa()
    isas = [best] + (["generic"] if best != "generic" else [])
    rows = []
    for sigma in sigmas:
        fit, mesh = make_fit(folder, faces, size, sigma)
        it = fit.p.iterations - 1
        times: dict[str, dict[str, list[float]]] = {i: {"wall": [], "cpu": []} for i in isas}
        parts: dict[str, list[float]] = {}
        for r in range(repeats + 1):
            for isa in isas:
                with kernel_isa(isa):
                    wall, cpu = whole_step(fit, it)
                if r:  # the first round warms up
                    times[isa]["wall"].append(wall)
                    times[isa]["cpu"].append(cpu)
            with kernel_isa(best):
                sample = step_parts(fit, it, time.process_time)
            if r:
                for k, v in sample.items():
                    parts.setdefault(k, []).append(v)
        row: dict[str, object] = {
            "data": str(folder), "faces": mesh.n_faces, "verts": mesh.n_verts, "size": size, "sigma": sigma,
            "views": fit.p.views_per_step, "threads": torch.get_num_threads(), "isa": best,
            "cpu_s": {k: statistics.median(v) for k, v in parts.items()},
        }
        for isa in isas:
            row[f"{isa}_wall_s"] = statistics.median(times[isa]["wall"])
            row[f"{isa}_cpu_s"] = statistics.median(times[isa]["cpu"])
        if best != "generic":
            row["speedup_vs_generic"] = row["generic_wall_s"] / row[f"{best}_wall_s"]
            row["speedup_vs_generic_cpu"] = row["generic_cpu_s"] / row[f"{best}_cpu_s"]
        rows.append(row)
    return rows


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f}"


def markdown(rows: list[dict[str, object]]) -> list[str]:
    """The fit step section of raster.md."""
    if not rows:
        return []
    best = rows[0]["isa"]
    lines = [
        "",
        "## One fit step on real data",
        "",
        f"The fit engine's step (`_Fit.step`, Large Steps λ = 5, uniform Adam, {rows[0]['views']} training "
        "views per step, silhouette loss) on `" + Path(str(rows[0]["data"])).name + "`, from a visual hull "
        f"of {rows[0]['faces']:,} faces built from the training views, at {rows[0]['size']}² and a fixed σ "
        "(a default fit anneals σ from 1e-4 to 1e-6). Whole step: median wall and CPU time on "
        f"{rows[0]['threads']} threads with the `{best}` kernels and, call by call in turn in the same "
        "process, with the `generic` kernels (any CPU); the ratio is generic / best. Parts: median CPU ms "
        f"with the `{best}` kernels; `backward` holds the raster backward and the backward Large Steps "
        "solve.",
        "",
    ]
    head = ["σ", f"{best} step ms", f"{best} step CPU ms"]
    if best != "generic":
        head += ["generic step ms", "generic step CPU ms", "speed-up vs generic"]
    head += [*STEP_PARTS, "parts total"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    for r in rows:
        cells = [f"{r['sigma']:g}", _ms(r[f"{best}_wall_s"]), _ms(r[f"{best}_cpu_s"])]
        if best != "generic":
            cells += [_ms(r["generic_wall_s"]), _ms(r["generic_cpu_s"]), f"{r['speedup_vs_generic']:.2f}×"]
        parts = r["cpu_s"]
        cells += [_ms(parts[k]) for k in (*STEP_PARTS, "step")]
        lines.append("| " + " | ".join(cells) + " |")
    return lines

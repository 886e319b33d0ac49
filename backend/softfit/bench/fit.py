"""`softfit bench fit`: the default demo fit (time, held-out IoU, Chamfer, held-out IoU against time),
the same defaults on other objects (do they generalise?), and each design choice against its
alternative on the demo dataset. Writes benchmarks/fit.json and benchmarks/fit.md.

Datasets are rendered with Blender once (cached like the demo's). Times are wall-clock seconds of the fit
loop on the CPU; the machine's load average is recorded beside them, since other processes slow a
shared machine down. The IoU-vs-time curve costs nothing during the fit: vertex snapshots are kept and
scored on the held-out views afterwards."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from softfit.bench import choose, machine_info, repo_root
from softfit.dataset.cache import DEFAULT_DATASET

# Render specs: the demo's camera layout (72 views on three rings, 256 px) for every object.

DEMO = dict(DEFAULT_DATASET)
OBJECTS: dict[str, dict] = {
    "suzanne (demo)": DEMO,
    "suzanne at scale 1 (a third of the frame)": DEMO | {"scale": 1.0},
    "suzanne small and off-centre": DEMO | {"scale": 0.5, "offset": "0.35,-0.25,0.15"},
    "torus": DEMO | {"source": "torus", "scale": 1.0},
    "cube": DEMO | {"source": "cube", "scale": 1.0},
    "bucket": DEMO | {"source": "bucket", "scale": 1.0},
    "torus knot": DEMO | {"source": "torus_knot", "scale": 1.0},
}
# Design choices, each changed alone from the defaults, on the demo dataset: (FitParams overrides, init).
VARIANTS: dict[str, tuple[dict, str | None]] = {
    "defaults": ({}, None),
    "start from the bbox ellipsoid": ({}, "bbox"),
    "start from a sphere (r 0.5)": ({}, "sphere"),
    "Adam on raw vertices (no Large Steps)": ({"parameterization": "vertices", "optimizer": "adam"}, None),
    "per-coordinate Adam on Large Steps": ({"optimizer": "adam"}, None),
    "full size from the start (no resolution schedule)": ({"resolutions": [[0, 0]]}, None),
    "σ from 3e-4 (wider start)": ({"sigma": [3e-4, 1e-6]}, None),
    "σ annealed only to 3e-5": ({"sigma": [1e-4, 3e-5]}, None),
    "σ fixed at 1e-4 (SoftRas)": ({"sigma": [1e-4, 1e-4]}, None),
}


def run_one(spec: dict, overrides: dict, init_name: str | None, polys: int | str, cache: Path, seed: int = 0,
            snapshot_every: int = 10) -> dict:
    """Fit one dataset through the pipeline with FitParams defaults + overrides, finished as `softfit fit
    --no-texture` writes it (`run(finish=True)`: the repaired mesh is what is scored); score held-out IoU
    along the way."""
    from softfit.dataset.cache import cached_dataset
    from softfit.fit import FitParams
    from softfit.mesh.io import load_mesh
    from softfit.mesh.types import Mesh
    from softfit.metrics import view_iou
    from softfit.pipeline import InitSpec, Inputs, run

    folder = cached_dataset(spec, cache, quiet=True)
    params = FitParams.from_dict(FitParams(device="cpu", seed=seed).to_dict() | overrides)
    snaps: list[tuple[int, float, np.ndarray, np.ndarray | None]] = []

    def keep(p) -> None:
        if p.iteration % snapshot_every == 0 or p.iteration == p.iterations - 1:
            snaps.append((p.iteration, p.elapsed, p.verts.copy(), p.faces))  # faces change if it remeshes

    load0 = os.getloadavg()[0]
    out = run(Inputs(str(folder), image_size=spec["size"]), InitSpec(init_name, polys), params,
              load_mesh(folder / "gt_mesh.obj"), on_progress=keep, finish=True)
    m, init = out.metrics.raw, out.init
    cams, sil = out.data.cameras.subset(out.held), out.data.silhouettes[out.held]
    curve = [{"iteration": -1, "time": 0.0, "heldout_iou": float(view_iou(init, sil, cams).mean())}]
    for it, t, v, f in snaps:
        snap = Mesh(v, init.faces if f is None else f)
        iou = float(view_iou(snap, sil, cams).mean())
        curve.append({"iteration": it, "time": round(t, 3), "heldout_iou": iou})
    return {"dataset": spec, "overrides": overrides, "init": out.init_name, "init_faces": init.n_faces,
            "init_time": out.init_seconds,
            "fit_time": m["fit_time"], "fit_cpu_time": m["fit_cpu_time"], "wall_time": m["wall_time"],
            "iterations": m["iterations"],
            "stop_reason": m["stop_reason"], "train_iou": m["train_iou"], "heldout_iou": m["heldout_iou"],
            "heldout_iou_min": min(m["heldout_iou_per_view"]), "faces": m["mesh"]["faces"],
            "fit_heldout_iou": m.get("topology", {}).get("fit_scores", {}).get("heldout_iou"),
            "crossings_left": m.get("topology", {}).get("after", {}).get("self_intersections"),
            "chamfer": out.metrics.chamfer,
            "chamfer_rel": out.metrics.chamfer_rel, "loadavg_before": load0,
            "loadavg_after": os.getloadavg()[0], "curve": curve}


def _row(name: str, r: dict) -> str:
    before = r.get("fit_heldout_iou")
    return (f"| {name} | {r['fit_time']:.1f} | {r['fit_cpu_time']:.1f} | "
            f"{r['iterations']} ({r['stop_reason']}) | {r.get('faces', '?')} | {r['train_iou']:.4f} | "
            f"**{r['heldout_iou']:.4f}** | {'=' if before is None else f'{before:.4f}'} | "
            f"{r.get('crossings_left', '?')} | {r['heldout_iou_min']:.4f} | {100 * r['chamfer_rel']:.2f} % | "
            f"{r['loadavg_before']:.1f} |")


HEADER = ("| run | fit s | CPU s | iterations | faces written | train IoU | held-out IoU | before the repair "
          "| crossing pairs left | worst held-out view | Chamfer / size | load avg |\n|---|" + "---:|" * 11)


def markdown(results: dict, info: dict, command: str) -> str:
    demo = results["demo"]
    lines = [
        "# Fit benchmark", "",
        f"Regenerate with `{command}` (datasets are rendered with Blender on first use and cached). "
        "Why each default was chosen is written in the docstring of `backend/softfit/fit/__init__.py`; the "
        "last table measures each choice against its alternative.", "",
        f"Machine: {info.get('cpu')}, {info.get('logical_cpus')} logical CPUs, torch {info.get('torch')} "
        f"with {info.get('torch_threads')} threads, git {info.get('git', '?')}. The machine is shared with "
        "other work: \"fit s\" is wall-clock time and grows with the load average listed beside it; "
        "\"CPU s\" (process time over all threads) is the steadier figure for comparing rows. Chamfer is "
        "relative to the diagonal of the ground truth's bounding box.", "",
        "Every IoU and Chamfer distance is the mesh written (`softfit fit` repairs the fitted mesh before "
        "writing it: crossing folds smoothed open, `softfit.fit.repair`); \"before the repair\" is the fit's "
        "own held-out IoU where the repair moved the surface, \"=\" where it did not; \"crossing pairs "
        "left\" counts the faces that still cross (a repair that would more than double the fit's error, or "
        "a tangle of more crossing pairs than faces, is not written: the fit is, with this count and a "
        "warning). Held-out IoU is "
        "measured against the true silhouettes (the renders' alpha) of views the fit never saw.", "",
        "## Default demo (`softfit demo`)", "",
        f"Suzanne, 72 views on three rings (elevation 10/35/60 deg) at 256x256, Blender Workbench renders; "
        f"initial mesh `{demo['init']}` ({demo['init_faces']} triangles, built in "
        f"{demo['init_time']:.1f} s); FitParams defaults on the CPU; 7 views held out.", "",
        HEADER, _row("demo", demo), "",
        "Held-out IoU against fit time (hard raster, held-out views only):", "",
        "| iteration | time s | held-out IoU |", "|---:|---:|---:|",
    ]
    curve = demo["curve"]
    pick = sorted({0, len(curve) - 1, *np.linspace(0, len(curve) - 1, 12).round().astype(int).tolist()})
    for k in pick:
        c = curve[k]
        lines.append(f"| {'start' if c['iteration'] < 0 else c['iteration']} | {c['time']:.1f} | "
                     f"{c['heldout_iou']:.4f} |")
    if results.get("objects"):
        lines += ["", "## Same defaults, other objects", "",
                  "Nothing was tuned per object: the same command line, the demo's camera layout.", "",
                  HEADER]
        lines += [_row(n, r) for n, r in results["objects"].items()]
    if results.get("variants"):
        lines += ["", "## Design choices (demo dataset, one change at a time)", "", HEADER]
        lines += [_row(n, r) for n, r in results["variants"].items()]
    lines.append("")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="the demo fit only")
    parser.add_argument("--objects", default=None, help="comma-separated subset of: " + "; ".join(OBJECTS))
    parser.add_argument("--no-variants", dest="variants", action="store_false",
                        help="skip the design choices")
    parser.add_argument("--init", default=None, help="initial mesh (default: the demo's)")
    parser.add_argument("--polys", default=None, help="initial mesh triangles (default: the demo's)")
    parser.add_argument("--cache", default=None, help="dataset cache (default: the demo's)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: <repo>/benchmarks)")


def run(args: argparse.Namespace) -> int:
    import torch

    from softfit.dataset.cache import cache_root
    from softfit.pipeline import DEFAULT_POLYS

    if args.threads:
        torch.set_num_threads(args.threads)
    cache = cache_root(args.cache)
    init = args.init
    polys = args.polys if args.polys in (None, "auto") else int(args.polys)
    polys = DEFAULT_POLYS if polys is None else polys
    t0 = time.perf_counter()

    def go(name: str, spec: dict, overrides: dict, init_name: str | None = None) -> dict:
        r = run_one(spec, overrides, init_name or init, polys, cache)
        print(f"{name}: {r['fit_time']:.1f} s, held-out IoU {r['heldout_iou']:.4f}, "
              f"Chamfer {100 * r['chamfer_rel']:.2f} % (load {r['loadavg_before']:.1f})", flush=True)
        return r

    results: dict = {"demo": go("demo", DEMO, {})}
    if not args.quick:
        names = choose(args.objects, OBJECTS, "benchmark object(s)")
        results["objects"] = {n: results["demo"] if OBJECTS[n] is DEMO else go(n, OBJECTS[n], {})
                              for n in names}
        if args.variants:
            results["variants"] = {n: results["demo"] if not (o or i) else go(n, DEMO, o, i)
                                   for n, (o, i) in VARIANTS.items()}
    info = machine_info()
    command = "softfit bench fit" + (" --quick" if args.quick else "") + (
        f" --polys {args.polys}" if args.polys else "") + ("" if args.variants else " --no-variants")
    out = args.out or repo_root() / "benchmarks"
    out.mkdir(parents=True, exist_ok=True)
    doc = {"command": command, "machine": info, "total_time": time.perf_counter() - t0, "results": results,
           "argv": sys.argv[1:]}
    (out / "fit.json").write_text(json.dumps(doc, indent=1))
    (out / "fit.md").write_text(markdown(results, info, command))
    print(f"wrote {out / 'fit.json'} and {out / 'fit.md'}")
    return 0

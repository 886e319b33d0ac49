"""`softfit bench addon`: how long the Blender add-on holds Blender's main thread per artist action.

The built extension runs in real Blender (the bpy module, its own process, a temporary user profile)
against a real backend; scripts/bench_addon_blender.py performs each action as the UI would and times
every main-thread call it causes (the operator, then each timer call until the action is complete).
Reported per action: the longest call and the 99th percentile, against the 50 ms budget of issue 11
(a UI that reacts within 50 ms feels immediate); the wall time shows how long the work itself took
off the main thread.

Writes benchmarks/addon.json and benchmarks/addon.md."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from softfit.bench import machine_info, repo_root

BUDGET_MS = 50.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default=None, help="folder for addon.json/.md (default benchmarks/)")


def write_dataset(folder: Path, views: int = 16, size: int = 64) -> Path:
    """16 RGBA views of an ellipsoid (alpha = its silhouette, rendered by softfit's own renderer)."""
    from PIL import Image

    from softfit.cameras import save_transforms, turntable
    from softfit.mesh.sphere import uv_sphere
    from softfit.mesh.types import Mesh
    from softfit.metrics import render_silhouettes

    cams = turntable(np.arange(views) * 360.0 / views, distance=3.0,
                     elevation_deg=[20.0, -10.0] * (views // 2), fov_deg=40.0, width=size, height=size)
    s = uv_sphere(800, 1.0)
    mesh = Mesh(s.verts * np.array([0.55, 0.4, 0.3]), s.faces)
    sil = render_silhouettes(mesh, cams) > 0.5
    (folder / "images").mkdir(parents=True, exist_ok=True)
    names = []
    for i, m in enumerate(sil):
        rgba = np.zeros((size, size, 4), np.uint8)
        rgba[..., :3] = 128
        rgba[..., 3] = m * 255
        names.append(f"images/view_{i:02d}.png")
        Image.fromarray(rgba).save(folder / names[-1])
    save_transforms(folder / "transforms.json", cams, names)
    return folder / "transforms.json"


def run(args: argparse.Namespace) -> int:
    root = repo_root()
    sys.path.insert(0, str(root / "scripts"))
    import build_extension

    info = machine_info()
    with tempfile.TemporaryDirectory(prefix="softfit-bench-addon-") as tmp:
        work = Path(tmp)
        zip_path = build_extension.build(work / "dist", work / "stage" / "softfit")
        dataset = write_dataset(work / "data")
        report = work / "addon.json"
        env = dict(os.environ, BLENDER_USER_RESOURCES=str(work / "user"), PYTHONUNBUFFERED="1")
        env.pop("SOFTFIT_PYTHON", None)
        cmd = [sys.executable, str(root / "scripts" / "bench_addon_blender.py"), str(zip_path), str(dataset),
               str(report)]
        proc = subprocess.run(cmd, env=env, cwd=work, timeout=3600)
        if proc.returncode != 0 or not report.is_file():
            print(f"bench addon: the Blender side failed (exit {proc.returncode})", file=sys.stderr)
            return 1
        actions = json.loads(report.read_text())
    info["load_average_1min_at_end"] = round(os.getloadavg()[0], 2)
    out = Path(args.out) if args.out else root / "benchmarks"
    out.mkdir(parents=True, exist_ok=True)
    (out / "addon.json").write_text(json.dumps({"machine": info, "budget_ms": BUDGET_MS, "actions": actions},
                                               indent=1))
    (out / "addon.md").write_text(markdown(info, actions))
    print((out / "addon.md").read_text())
    return 0 if all(a["max_ms"] <= BUDGET_MS for a in actions.values()) else 2


def _row(name: str, a: dict) -> str:
    within = "yes" if a["max_ms"] <= BUDGET_MS else "**no**"
    return (f"| {name} | {a['calls']} | {a.get('over_50ms', '?')} | {a['max_ms']:.1f} ms | "
            f"{a['p99_ms']:.1f} ms | {a['total_ms']:.0f} ms | {a['wall_s']:.1f} s | {within} | "
            f"{a['outcome']} |")


def markdown(info: dict, actions: dict) -> str:
    machine = ", ".join(f"{k} {v}" for k, v in info.items())
    rows = "\n".join(_row(name, a) for name, a in actions.items())
    return f"""# Add-on main-thread benchmark (`softfit bench addon`)

Regenerate: `softfit bench addon`

Machine: {machine}

Each artist action performed in real Blender (the bpy 5.0.1 module, the built extension installed in a
fresh user profile, a real local backend), timing every call Blender's main thread makes into the
add-on for it: the operator, then every timer call (task pump, fit tick, backend watch) until the action
is complete. *max* and *p99* are per call; the budget is {BUDGET_MS:.0f} ms per call (issue 11). *wall*
is how long the action took in all, nearly all of it in worker threads or the backend while Blender stayed
responsive. Data: 16 RGBA views of 64x64 of an ellipsoid. Timers are called by the benchmark at their
own intervals (background mode has no event loop), exactly the functions Blender would call.

| action | main-thread calls | calls > 50 ms | max | p99 | sum | wall | within budget | outcome |
|---|---:|---:|---:|---:|---:|---:|:---:|---|
{rows}
"""

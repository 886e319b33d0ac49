"""`softfit demo`: the README's main command. Renders the default dataset with Blender (once; cached),
fits it on the CPU with the default parameters and writes out/demo/.

The dataset is rendered by `softfit dataset render` in a subprocess (one `bpy` per process, and a Blender
crash cannot take the demo with it) into a cache folder keyed by the render options, so later runs start
fitting at once."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from softfit.commands.fit import DEFAULT_POLYS, add_texture_argument
from softfit.errors import InputError

# The default dataset: Blender's Suzanne, 72 views on three rings (elevations 10/35/60 deg, 24 azimuths
# each) at 256x256, transparent background; scaled so the head fills about half of the frame, as a
# photographer would frame it (at scale 1 it covers only a third of the image width).
DEFAULT_DATASET = {"source": "suzanne", "views": 72, "cameras": "rings", "size": 256, "scale": 1.6}
DEMO_POLYS = DEFAULT_POLYS  # triangles of the initial mesh


def cache_root(explicit: str | None = None) -> Path:
    """--cache, else $SOFTFIT_CACHE, else $XDG_CACHE_HOME/softfit or ~/.cache/softfit."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get("SOFTFIT_CACHE"):
        return Path(os.environ["SOFTFIT_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "softfit"


def render_command(spec: dict, out: Path) -> list[str]:
    return [sys.executable, "-m", "softfit", "dataset", "render", spec["source"], "--out", str(out),
            "--views", str(spec["views"]), "--cameras", spec["cameras"], "--size", str(spec["size"]),
            "--scale", f"{spec['scale']:g}", *(["--offset", spec["offset"]] if spec.get("offset") else []),
            *[a for k in ("background", "engine", "texture", "samples") if k in spec
              for a in (f"--{k}", str(spec[k]))]]


def cached_dataset(spec: dict, cache: Path, quiet: bool = False) -> Path:
    """The rendered dataset for `spec`, rendering it into the cache on first use."""
    from softfit import __version__

    key = hashlib.sha256(json.dumps({**spec, "softfit": __version__}, sort_keys=True).encode()).hexdigest()
    folder = cache / "datasets" / f"{spec['source']}-{key[:12]}"
    if (folder / "transforms.json").is_file() and (folder / "gt_mesh.obj").is_file():
        return folder
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.tmp-"))
    except OSError as exc:
        raise InputError(f"cannot write the dataset cache {folder.parent}: {exc.strerror or exc}") from exc
    try:
        render_out = tmp / "data"
        if not quiet:
            print(f"rendering the demo dataset with Blender into {folder} (first run only) ...", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run(render_command(spec, render_out), capture_output=True, text=True)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            raise InputError("rendering the demo dataset failed: " + " | ".join(tail))
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(render_out, folder)
        if not quiet:
            print(f"rendered {spec['views']} views in {time.perf_counter() - t0:.1f} s", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="out/demo", help="output folder (default out/demo; a previous demo "
                        "result there is replaced)")
    parser.add_argument("--force", action="store_true",
                        help="replace a non-empty folder that is not a demo result")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    parser.add_argument("--cache", help="dataset cache folder (default $SOFTFIT_CACHE or ~/.cache/softfit)")
    parser.add_argument("--source", default=DEFAULT_DATASET["source"], help="built-in mesh to render")
    parser.add_argument("--views", type=int, default=DEFAULT_DATASET["views"], help="number of views (72)")
    parser.add_argument("--size", type=int, default=DEFAULT_DATASET["size"], help="image size in px (256)")
    parser.add_argument("--scale", type=float, default=DEFAULT_DATASET["scale"], help="object scale (1.6)")
    parser.add_argument("--init", default=None, help="initial mesh (default: as softfit fit: the visual "
                        "hull)")
    parser.add_argument("--polys", default=None, help="triangles of the initial mesh")
    parser.add_argument("--iterations", type=int, default=None, help="override the fit's iteration count")
    parser.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"), help="default cpu")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0 = torch's default)")
    parser.add_argument("--no-turntable", dest="turntable", action="store_false", help="skip turntable.gif")
    add_texture_argument(parser)


def _out_ok(out: Path, force: bool) -> bool:
    """A previous demo result (it has metrics.json) may be replaced without --force."""
    return force or not out.is_dir() or (out / "metrics.json").is_file() or not any(out.iterdir())


def run(args: argparse.Namespace) -> int:
    from softfit.commands.fit import choose_init, fit_and_report, summary
    from softfit.data.load import load_dataset
    from softfit.fit import FitParams
    from softfit.mesh.io import load_mesh
    from softfit.report import check_output_dir

    out = Path(args.out)
    check_output_dir(out, _out_ok(out, args.force))
    args.force = _out_ok(out, args.force)
    spec = {"source": args.source, "views": args.views, "cameras": DEFAULT_DATASET["cameras"],
            "size": args.size, "scale": args.scale}
    folder = cached_dataset(spec, cache_root(args.cache), args.quiet)
    data = load_dataset(folder, image_size=args.size)
    polys = DEMO_POLYS if args.polys is None else args.polys if args.polys == "auto" else int(args.polys)
    params = FitParams(device=args.device, threads=args.threads)
    if args.iterations is not None:
        params = FitParams.from_dict(params.to_dict() | {"iterations": args.iterations})
    init_name, init = choose_init(args.init, data, polys, quiet=args.quiet, params=params)
    gt = load_mesh(folder / "gt_mesh.obj")
    args.turntable = getattr(args, "turntable", True)
    extra = {"data": str(folder), "dataset": spec, "init": init_name, "polys": polys,
             "gt_mesh": "gt_mesh.obj"}
    result, written = fit_and_report(args, data, init, params, gt, extra)
    if not args.quiet:
        print(summary(result, written))
        extra_files = " and turntable.gif" if args.turntable else ""
        print(f"look at {written / 'overlays.png'}, {written / 'loss.png'}{extra_files}; "
              f"import mesh.obj into Blender with Forward Y, Up Z")
    return 130 if result.metrics["stop_reason"] == "interrupted" else 0


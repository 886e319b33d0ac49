"""`softfit bench segment`: the photo segmentation's time per view (`--silhouette auto` on photoreal
scenes, through the real loader as `softfit fit` runs it), its per-view work on one thread against every
core torch may use, side by side in one process. The runs alternate (one thread, all, all, one: drift in
the machine's load falls on both alike) and the faster of each pair counts. Ratio = one thread / all
(> 1: the threads help). The masks of the two must be identical: the threads change the time, never the
result. Writes benchmarks/segment.{json,md}."""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from softfit.bench import machine_info, repo_root
from softfit.bench.silhouettes import IMAGE_SIZE, _load, scene_names, truth_view
from softfit.silhouettes.confidence import WARN_MEDIAN

TARGET = 1.0  # s per view at 400x300 on the 2-core CPU (issue "Photos in")


def measure(folder: Path, tmp: Path) -> dict:
    """One scene: the seconds per view segmentation adds to loading the photos with their true masks, with
    one thread and with all; whether the masks agree; the photo size."""
    from softfit.silhouettes import common

    truth = truth_view(folder, tmp)
    base = min(_load(truth, "mask", IMAGE_SIZE)[2] for _ in range(2))  # reading and resizing alone
    runs: dict[str, list[float]] = {"one": [], "all": []}
    masks: dict[str, np.ndarray] = {}
    try:
        for which in ("one", "all", "all", "one"):
            common.WORKERS = 1 if which == "one" else None
            data, err, secs = _load(folder, "auto", IMAGE_SIZE)
            if data is None:
                return {"error": err}
            sil = np.asarray(data.silhouettes)
            runs[which].append(max(0.0, secs - base) / len(sil))
            masks.setdefault(which, sil)
    finally:
        common.WORKERS = None
    one, every = min(runs["one"]), min(runs["all"])
    return {"views": len(masks["one"]), "one_s_per_view": one, "all_s_per_view": every, "ratio": one / every,
            "threads": common.workers(), "identical": bool(np.array_equal(masks["one"], masks["all"])),
            "photo_size": _photo_size(folder)}


def _photo_size(folder: Path) -> str:
    import cv2

    first = sorted((folder / "images").glob("*"))[0]
    h, w = cv2.imread(str(first), cv2.IMREAD_UNCHANGED).shape[:2]
    return f"{w}x{h}"


def markdown(rows: dict[str, dict], info: dict, command: str = "softfit bench segment") -> str:
    lines = ["# Photo segmentation: time per view, one thread vs every core", "",
             f"Regenerate with `{command}`. `--silhouette auto` on each photoreal scene through "
             "the real loader; the time is what it adds to loading the same photos with their true masks "
             "(as in benchmarks/silhouettes.md). Its per-view work (GrabCut, the voxel hull's projections, "
             "the plane sweep, the support cuts, the full-size edges) runs on one thread and on every core "
             "torch may use, interleaved in one process (one, all, all, one; the faster of each pair). "
             "Ratio = one thread / all. Identical: the masks of the two are "
             f"the same bit for bit. Target: at most {TARGET:g} s per view at 400x300 on 2 cores.", "",
             f"Machine: {info.get('cpu')}, {info.get('logical_cpus')} logical CPUs, torch "
             f"{info.get('torch_threads')} threads; load average {info.get('load_average_1min_at_start')} "
             "before the run (shared machine: the ratios are the figure to read).", "",
             "| scene | photos | views | s/view, one thread | s/view, all | ratio | identical | target met |",
             "|---|---|---:|---:|---:|---:|---|---|"]
    for name, r in rows.items():
        if "error" in r:
            lines.append(f"| {name} | | | | | | | error: {r['error']} |")
            continue
        met = "yes" if r["all_s_per_view"] <= TARGET else "no"
        lines.append(f"| {name} | {r['photo_size']} | {r['views']} | {r['one_s_per_view']:.2f} | "
                     f"{r['all_s_per_view']:.2f} | {r['ratio']:.2f}x | {'yes' if r['identical'] else 'NO'} "
                     f"| {met} |")
    lines += ["", "A capture whose masks sit off the point the cameras aim at, or agree poorly with each "
              f"other (median relative agreement below {WARN_MEDIAN}, the level that warns), is segmented "
              "twice (a second first-round seed half the size, `seedretry.with_smaller_seed`); both runs "
              "count. The "
              "threads cannot reach 2x on two cores: part of each view's work holds Python's lock (the "
              "mask cleaning, the colour models' bookkeeping), OpenCV already spreads some of its calls "
              "over the cores in the one-thread runs, and the steps between the rounds (the voxel "
              "hull's votes, the support and disc searches) run once for all views.", ""]
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from softfit.dataset.suite import SCENES

    parser.add_argument("--scenes", default=None, help="comma-separated subset of: " + ", ".join(SCENES)
                        + "; or drawn-SEED-INDEX names (scenes drawn at random)")
    parser.add_argument("--views", type=int, default=None, help="override the scenes' view count")
    parser.add_argument("--size", default=None, help="override the scenes' image size WxH")
    parser.add_argument("--samples", type=int, default=None, help="override the scenes' Cycles samples")
    parser.add_argument("--cache", default=None, help="scene cache (default: the demo's)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: <repo>/benchmarks)")


def run(args: argparse.Namespace) -> int:
    from softfit.dataset.cache import cache_root, cached_scene

    info = machine_info()  # with the load average at the start
    rows: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="softfit-segment-") as tmp:
        for name in scene_names(args.scenes, None, 1):
            folder = cached_scene(name, cache_root(args.cache), quiet=False, views=args.views, size=args.size,
                                  samples=args.samples)
            rows[name] = r = measure(folder, Path(tmp))
            print(f"{name}: " + (r["error"] if "error" in r else
                                 f"{r['one_s_per_view']:.2f} -> {r['all_s_per_view']:.2f} s/view "
                                 f"({r['ratio']:.2f}x, {r['threads']} threads), masks identical: "
                                 f"{r['identical']}"), flush=True)
    out = args.out or repo_root() / "benchmarks"
    out.mkdir(parents=True, exist_ok=True)
    command = "softfit bench segment" + "".join(
        f" --{k} {v}" for k, v in (("scenes", args.scenes), ("views", args.views), ("size", args.size),
                                   ("samples", args.samples)) if v is not None)
    doc = {"command": command, "machine": info, "rows": rows}
    (out / "segment.json").write_text(json.dumps(doc, indent=2))
    (out / "segment.md").write_text(markdown(rows, info, command))
    return 0 if all(r.get("identical", True) for r in rows.values()) else 1

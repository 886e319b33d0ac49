"""`softfit bench masks`: the default segmentation's masks on every photoreal scene against the true masks,
and nothing else: no fits, so all 89 scenes (five named, 12 per drawn seed) take minutes, not hours.

A change to the segmentation is judged on scenes it was not shaped on. The way to do that is to shape it
on some seeds' scenes and then look at the others once: `--against` an earlier run (the committed
benchmarks/masks.json, from the same machine's renders) prints every scene's change in mask IoU, and
`--holdout` keeps the named seeds' scenes apart, so a rule that only helps where it was tuned shows it.
Round 45's contact-shadow peel is the example: +0.09 over the 37 scenes it was shaped on, -0.07 over the
24 held out (benchmarks/silhouettes.md).

Mask IoU is the masks against the true masks (mean over views, at the fit's 256 px), the same figure as
`softfit bench silhouettes`' and computed the same way; the error kinds are `maskerrors`'. The fit's
held-out IoU, which the issue's targets are about, needs `softfit bench silhouettes`. Renders differ a
little between processors (benchmarks/silhouettes.md, round 40): compare runs from the same machine."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from softfit.bench import machine_info, maskerrors, repo_root
from softfit.bench.silhouettes import IMAGE_SIZE, _load, truth_view
from softfit.dataset import drawn
from softfit.metrics import silhouette_iou

SEEDS = "2,4,5,6,7,8,9"  # the seeds `softfit bench silhouettes --drawn 12` has run (benchmarks/drawn)
DRAWN = 12  # scenes per seed
TARGET = 0.93  # the quality bar, read here against the masks (the fit's figure is another)
CHANGED = 0.001  # a scene's mask IoU moved by more than this counts as better or worse


def scene_list(seeds: str, drawn: int, named: str | None) -> list[str]:
    """The five benchmark scenes (or `named`, comma-separated; 'none' for none) and `drawn` scenes of each
    seed in `seeds`."""
    from softfit.bench.silhouettes import scene_names
    from softfit.dataset.suite import SCENES

    out = [] if named == "none" else (list(SCENES) if named is None else scene_names(named, None, 0))
    for seed in [s.strip() for s in seeds.split(",") if s.strip()]:
        out += scene_names(None, drawn, int(seed))
    return out


def measure(folder: Path, tmp: Path, silhouette: str = "auto") -> dict:
    """One scene: the default (`auto`) masks, or those of `silhouette` (a `--silhouette` spec, to measure
    an option before it becomes the default), against the true masks, or the error that refused it."""
    truth, err, t_truth = _load(truth_view(folder, tmp), "mask", IMAGE_SIZE)
    if truth is None:
        raise RuntimeError(f"{folder}: the true masks do not load: {err}")
    data, err, secs = _load(folder, silhouette, IMAGE_SIZE)
    if data is None:
        return {"refused": err}
    masks, true = np.asarray(data.silhouettes) > 0.5, np.asarray(truth.silhouettes) > 0.5
    ious = silhouette_iou(masks, true)
    seg = data.info.get("segmentation") or {}
    return {"mask_iou": float(ious.mean()), "worst_view": float(ious.min()),
            "errors": maskerrors.classify(masks, true).info(),
            "seconds_per_view": max(0.0, secs - t_truth) / len(masks),
            "warnings": len(seg.get("warnings", []))}


def seed_of(scene: str) -> str | None:
    """The drawn scene's seed as --holdout names it; None for a benchmark scene."""
    seed = drawn.seed_of(scene)
    return None if seed is None else str(seed)


def compare(now: dict, before: dict, holdout: set[str]) -> dict:
    """Per scene in both runs, the change in mask IoU (a scene refused in either counts as 0 there); per
    group (scenes of the `holdout` seeds apart from the rest): scenes, sum and mean of the changes, how
    many moved up and down by more than CHANGED, the largest loss; and the scenes in one run only."""
    def iou(row: dict) -> float:
        return row.get("mask_iou", 0.0)

    rows = {n: (iou(before[n]), iou(now[n])) for n in now if n in before}
    groups: dict[str, dict] = {}
    for group in ("shaped on", "held out"):
        names = [n for n in rows if (seed_of(n) in holdout) == (group == "held out")]
        if not names:
            continue
        d = np.array([rows[n][1] - rows[n][0] for n in names])
        worst = names[int(np.argmin(d))]
        groups[group] = {"scenes": len(names), "sum": float(d.sum()), "mean": float(d.mean()),
                         "better": int((d > CHANGED).sum()), "worse": int((d < -CHANGED).sum()),
                         "worst": worst, "worst_change": float(d.min())}
    return {"scenes": {n: {"before": a, "now": b} for n, (a, b) in rows.items()}, "groups": groups,
            "one_run_only": sorted(set(now) ^ set(before))}


def machine_caveat(now: dict, before: dict) -> str | None:
    """A line for a comparison across processors: the renders themselves differ a little between them
    (benchmarks/silhouettes.md, round 40: up to 0.02 of a scene's mask IoU), which the comparison would
    put down to the change."""
    a, b = before.get("cpu"), now.get("cpu")
    if a == b:
        return None
    return (f"the baseline ran on {a}, this run on {b}: the scenes were rendered on each machine and the "
            "renders differ a little, so part of each change is the renders'; run the baseline again here")


def _totals(scenes: dict) -> str:
    ok = [r for r in scenes.values() if "mask_iou" in r]
    mean = np.mean([r["mask_iou"] for r in ok]) if ok else float("nan")
    return (f"{len(scenes)} scenes: mean mask IoU {mean:.4f} over the {len(ok)} segmented, "
            f"{sum(r['mask_iou'] >= TARGET for r in ok)} reach {TARGET:g}, {len(scenes) - len(ok)} refused "
            "(a refused scene counts as 0 in `--against`).")


def markdown(doc: dict) -> str:
    info = doc["machine"]
    spec = doc.get("silhouette", "auto")
    which = "the default (`auto`) masks" if spec == "auto" else f"the `--silhouette {spec}` masks"
    lines = [f"# {'Default masks' if spec == 'auto' else spec} against the true masks (no fits)", "",
             *([doc["note"], ""] if doc.get("note") else []),
             f"Regenerate with `{doc['command']}`; see `softfit.bench.masks` for what it is for. Mask IoU: "
             f"{which} against the true masks, mean over the views (worst view), at 256 "
             "px. Errors: `maskerrors`' shares of the union (missed / extra at the edge, in a hole, far). "
             "The fits' figures are in silhouettes.md and drawn/summary.md.", "",
             f"Machine: {info.get('cpu')}, {info.get('logical_cpus')} logical CPUs, git {info.get('git')}, "
             f"load average {info.get('load_average_1min_at_start')} at the start (a shared machine: the "
             "seconds are pessimistic; the masks do not depend on load).",
             "", _totals(doc["scenes"]), "",
             "| scene | mask IoU (worst view) | missed edge / hole / far | extra edge / hole / far "
             "| warnings | seg s/view |", "|---|---:|---|---|---:|---:|"]
    for name, r in doc["scenes"].items():
        if "refused" in r:
            lines.append(f"| {name} | refused: {r['refused'][:160]} | | | | |")
            continue
        e = r["errors"]
        lines.append(f"| {name} | {r['mask_iou']:.4f} ({r['worst_view']:.3f}) | {e['missed_edge']:.3f} / "
                     f"{e['missed_hole']:.3f} / {e['missed_far']:.3f} | {e['extra_edge']:.3f} / "
                     f"{e['extra_hole']:.3f} / {e['extra_far']:.3f} | {r['warnings']} | "
                     f"{r['seconds_per_view']:.2f} |")
    if doc.get("against"):
        lines += ["", *against_lines(doc["against"])]
    return "\n".join(lines) + "\n"


def against_lines(against: dict) -> list[str]:
    """The `--against` comparison as markdown: the groups, then every scene that moved."""
    lines = [f"## Against {against['file']}", ""]
    if against.get("caveat"):
        lines += [f"**Warning:** {against['caveat']}.", ""]
    if against.get("one_run_only"):
        alone = against["one_run_only"]
        more = f" and {len(alone) - 8} more" if len(alone) > 8 else ""
        lines += [f"Left out, in one run only ({len(alone)}): {', '.join(alone[:8])}{more}.", ""]
    lines += ["| group | scenes | sum of changes | mean | better | worse | largest loss |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for group, g in against["groups"].items():
        lines.append(f"| {group} | {g['scenes']} | {g['sum']:+.4f} | {g['mean']:+.4f} | {g['better']} | "
                     f"{g['worse']} | {g['worst']} {g['worst_change']:+.4f} |")
    moved = sorted(((r["now"] - r["before"], n, r) for n, r in against["scenes"].items()
                    if abs(r["now"] - r["before"]) > CHANGED))
    if moved:
        lines += ["", "| scene | before | now | change |", "|---|---:|---:|---:|"]
        lines += [f"| {n} | {r['before']:.4f} | {r['now']:.4f} | {d:+.4f} |" for d, n, r in moved]
    return lines


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seeds", default=SEEDS, help=f"drawn seeds, comma-separated (default {SEEDS}; "
                        "'' for none)")
    parser.add_argument("--drawn", type=int, default=DRAWN, help=f"scenes per seed (default {DRAWN})")
    parser.add_argument("--scenes", default=None,
                        help="named scenes, comma-separated (default: the five benchmark scenes; 'none')")
    parser.add_argument("--against", default=None, metavar="JSON",
                        help="an earlier run's masks.json: every scene's change in mask IoU, by group")
    parser.add_argument("--holdout", default="", metavar="SEEDS",
                        help="with --against: drawn seeds whose scenes are counted apart (held out)")
    parser.add_argument("--silhouette", default="auto", metavar="SPEC",
                        help="the masks measured, as `softfit fit --silhouette` takes them (default auto; "
                             "e.g. multiview:zoom=2 for an option that is not the default yet)")
    parser.add_argument("--cache", default=None, help="scene cache (default: the demo's)")
    parser.add_argument("--out", default=None,
                        help="output folder (default: <repo>/benchmarks, or with --against <repo>/out/masks, "
                        "so that a trial never overwrites the run it is compared with)")


def run(args: argparse.Namespace) -> int:
    from softfit.dataset.cache import cache_root, cached_scene
    from softfit.errors import InputError

    before = None
    if args.against:
        path = Path(args.against)
        if not path.is_file():
            raise InputError(f"--against {path}: no such file (a masks.json `softfit bench masks` wrote)")
        try:
            baseline = json.loads(path.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise InputError(f"--against {path}: not JSON ({e}); give a masks.json that "
                             "`softfit bench masks` wrote") from None
        before = baseline.get("scenes") if isinstance(baseline, dict) else None
        if not isinstance(before, dict):
            raise InputError(f"--against {path}: not a masks.json (no 'scenes' table)")
    names = scene_list(args.seeds, args.drawn, args.scenes)
    cache = cache_root(args.cache)
    scenes: dict[str, dict] = {}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            folder = cached_scene(name, cache, quiet=False)
            scenes[name] = measure(folder, Path(tmp), args.silhouette)
            r = scenes[name]
            print(f"{name}: " + (f"refused: {r['refused'][:120]}" if "refused" in r else
                                 f"mask IoU {r['mask_iou']:.4f}"), flush=True)
    given = (("seeds", args.seeds), ("drawn", args.drawn), ("scenes", args.scenes),
             ("silhouette", args.silhouette))
    command = "softfit bench masks" + "".join(
        f" --{k} {v if v != '' else repr(v)}" for k, v in given
        if v is not None and (k, v) not in (("seeds", SEEDS), ("drawn", DRAWN), ("silhouette", "auto")))
    doc = {"command": command, "machine": machine_info(), "seconds": time.perf_counter() - t0,
           "silhouette": args.silhouette, "scenes": scenes}
    if before is not None:
        holdout = {s.strip() for s in args.holdout.split(",") if s.strip()}
        doc["against"] = {"file": str(args.against), "holdout": sorted(holdout),
                          "caveat": machine_caveat(doc["machine"], baseline.get("machine") or {}),
                          **compare(scenes, before, holdout)}
    out = Path(args.out) if args.out else repo_root() / ("out/masks" if args.against else "benchmarks")
    out.mkdir(parents=True, exist_ok=True)
    (out / "masks.json").write_text(json.dumps(doc, indent=1) + "\n")
    (out / "masks.md").write_text(markdown(doc))
    print(_totals(scenes))
    if doc.get("against"):
        print("\n".join(against_lines(doc["against"])))
    print(f"wrote {out / 'masks.json'} and {out / 'masks.md'}")
    return 0

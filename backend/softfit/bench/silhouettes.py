"""`softfit bench silhouettes`: every silhouette method on the photoreal scenes, scored against the TRUE
masks. Writes benchmarks/silhouettes.json and benchmarks/silhouettes.md.

For each scene of `softfit.dataset.suite` (rendered with Cycles once, cached like the demo's datasets)
and each method: the photos are loaded through the real loader (`load_dataset(folder, silhouette=M)`),
exactly as `softfit fit` would; the resulting masks are compared with the true masks (the object alone,
rendered separately, loaded through the same loader from a copy of the scene whose masks/ holds them);
then the default fit runs on the method's masks and the fitted mesh is scored on the held-out views
against the true masks. The same fit from the true masks is the ceiling each method is measured against.
The fit's own held-out figure (against the masks it was given) is reported beside it and labelled
agreement, because it is not accuracy.

Methods are discovered, not listed: "auto" (what `softfit fit` does by default), "segment" (the
segmentation package's own choice) and every method in `softfit.silhouettes.METHODS`, so a newly
registered method appears in the next run. A method that cannot run on a scene (no weights, no backdrop
photo, no object found) gets its one-line error in the table instead of numbers."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from softfit.bench import choose, machine_info, maskerrors, repo_root
from softfit.bench.targets import FLATTER, TARGET, held_out, verdict
from softfit.silhouettes.confidence import ADVICE

IMAGE_SIZE = 256  # the fit's working size (long side), as `softfit fit` uses by default
DIAGNOSED = ("auto",)  # methods whose fit is run again with each kind of mask error put right, and
# scored over SPLITS held-out splits
SPLITS = 3  # distinct held-out splits the target figures average: one split's two views are noisy (the
# auto fit's held-out IoU over five seeds spread 0.876-0.931 on small-desk, 0.955-0.978 on handheld-room)


def method_names() -> list[str]:
    """Loader-level names of every silhouette method available now (see the module docstring)."""
    from softfit import silhouettes

    return ["auto", "segment", *[m for m in silhouettes.METHODS if m not in ("auto", "segment")]]


def truth_view(folder: Path, tmp: Path) -> Path:
    """A copy of the scene whose masks/ folder holds the true masks, so the loader reads them as given
    masks (copies, not links: nothing may point outside a dataset folder)."""
    out = tmp / f"{folder.name}-truth"
    if not out.exists():
        shutil.copytree(folder / "images", out / "images")
        shutil.copytree(folder / "truth" / "masks", out / "masks")
        shutil.copy2(folder / "transforms.json", out / "transforms.json")
    return out


def _load(path: Path, silhouette: str, image_size: int):
    """(data or None, one-line error or None, seconds)."""
    from softfit.data.load import load_dataset
    from softfit.errors import InputError

    t0 = time.perf_counter()
    try:
        data = load_dataset(path, silhouette=silhouette, image_size=image_size)
    except (InputError, RuntimeError, OSError) as exc:
        return None, str(exc).splitlines()[0][:300], time.perf_counter() - t0
    return data, None, time.perf_counter() - t0


def fit_scored(data, truth, gt_mesh, seed: int = 0) -> dict:
    """The default fit (`softfit.pipeline.run`) on `data`'s masks, finished as `softfit fit --no-texture`
    writes it (`run(finish=True)`: the mesh scored is the repaired one a user gets), scored against the
    true masks `truth` (same cameras, hence the same held-out views)."""
    from softfit.errors import InputError
    from softfit.fit import FitParams
    from softfit.metrics import view_iou
    from softfit.pipeline import DEFAULT_POLYS, InitSpec, Inputs, run

    t0 = time.perf_counter()
    try:
        out = run(Inputs(data), InitSpec(None, DEFAULT_POLYS), FitParams(device="cpu", seed=seed), gt_mesh,
                  finish=True)
    except InputError as exc:
        return {"error": str(exc).splitlines()[0][:300]}
    held = np.asarray(out.held, dtype=np.int64)
    vs_truth = view_iou(out.mesh, truth.silhouettes, truth.cameras)
    return {
        "init": out.init_name,
        "seconds": time.perf_counter() - t0,
        "heldout_views": held.tolist(),
        "heldout_iou_vs_true_masks": float(vs_truth[held].mean()),
        "heldout_iou_vs_true_masks_per_view": vs_truth[held].tolist(),
        "all_views_iou_vs_true_masks": float(vs_truth.mean()),
        "heldout_agreement_with_own_masks": out.metrics.heldout_iou,
        "chamfer_rel": out.metrics.chamfer_rel,
        "crossings_left": out.metrics.raw.get("topology", {}).get("after", {}).get("self_intersections"),
    }


def split_seeds(cameras, k: int, holdout: float | None = None) -> list[int]:
    """The first `k` fit seeds, from 0 up, whose held-out views differ (nearby seeds often pick the same
    views: seeds 0 and 2 both hold out views 5 and 13 of a 16-view turntable), so that every split scores
    the fit on views the others did not. Fewer when the capture has fewer distinct splits to give."""
    from softfit.fit import FitParams
    from softfit.fit.views import split_views

    frac = FitParams().holdout if holdout is None else holdout
    seen: set[tuple[int, ...]] = set()
    seeds: list[int] = []
    for seed in range(32 * k):
        held = tuple(int(i) for i in split_views(cameras, frac, seed)[1])
        if held and held not in seen:
            seen.add(held)
            seeds.append(seed)
            if len(seeds) == k:
                break
    return seeds


def fit_over_splits(data, truth, gt_mesh, seeds: list[int], first: dict) -> dict:
    """The default fit scored against the true masks on each split of `seeds` (`first`: the fit already
    run with seed 0, reused): per split the held-out views, IoU and agreement, and their mean and range."""
    fits = [first if s == 0 else fit_scored(data, truth, gt_mesh, seed=s) for s in seeds]
    if any("error" in f for f in fits):
        return {"error": next(f["error"] for f in fits if "error" in f)}
    held = [f["heldout_iou_vs_true_masks"] for f in fits]
    agree = [f["heldout_agreement_with_own_masks"] for f in fits]
    return {"seeds": list(seeds), "heldout_views": [f["heldout_views"] for f in fits],
            "heldout_iou_vs_true_masks": held, "heldout_agreement_with_own_masks": agree,
            "mean": float(np.mean(held)), "min": float(np.min(held)), "max": float(np.max(held))}


def put_right(data, truth, gt_mesh, seeds: list[int]) -> dict:
    """For each kind of error (`maskerrors.KINDS`): the fit from `data`'s masks with that kind put right
    from the true masks, over the same splits as the targets (`seeds`; the default split alone when there
    are none), so that the diagnosis compares like with like (one split moves a fit by up to 0.05)."""
    out = {}
    for kind in maskerrors.KINDS:
        fixed = replace(data, silhouettes=maskerrors.corrected(data.silhouettes, truth.silhouettes, kind))
        first = fit_scored(fixed, truth, gt_mesh)
        out[kind] = fit_over_splits(fixed, truth, gt_mesh, seeds or [0], first)
    return out


def bench_scene(folder: Path, methods: list[str], tmp: Path, image_size: int = IMAGE_SIZE) -> dict:
    """Every method on one rendered scene folder (see the module docstring)."""
    from softfit.mesh.io import load_mesh
    from softfit.metrics import silhouette_iou

    info = json.loads((folder / "dataset.json").read_text())
    gt = load_mesh(folder / "truth" / "gt_mesh.obj")
    truth, err, t_truth = _load(truth_view(folder, tmp), "mask", image_size)
    if truth is None:
        raise RuntimeError(f"{folder}: the true masks do not load: {err}")
    n = len(truth.names)
    out: dict = {"scene": info["scene"], "folder": str(folder), "views": n,
                 "render_seconds_per_view": info["seconds_per_view"],
                 "working_size": list(truth.info["image_size"]), "methods": {}}
    print("  true masks: fitting ...", flush=True)
    out["true_masks"] = {"fit": fit_scored(truth, truth, gt)}
    seeds = split_seeds(truth.cameras, SPLITS)
    if seeds and any(m in DIAGNOSED for m in methods):
        out["true_masks"]["fit_splits"] = fit_over_splits(truth, truth, gt, seeds, out["true_masks"]["fit"])
    fits: dict[str, dict] = {}  # identical masks (e.g. 'segment' choosing grabcut) share one fit
    for name in methods:
        data, err, secs = _load(folder, name, image_size)
        if data is None:
            out["methods"][name] = {"error": err}
            print(f"  {name}: not run: {err}", flush=True)
            continue
        ious = silhouette_iou(data.silhouettes, truth.silhouettes)
        seg = data.info.get("segmentation") or {}
        row = {
            "chose": seg.get("method", data.info.get("silhouette")),
            "reason": seg.get("reason", ""),
            "mask_iou_vs_true_masks": float(ious.mean()),
            "mask_iou_vs_true_masks_worst": float(ious.min()),
            "mask_iou_vs_true_masks_per_view": ious.tolist(),
            # Loading with segmentation minus loading the same photos with given masks: the segmentation.
            "segmentation_seconds_per_view": max(0.0, secs - t_truth) / n,
            "load_seconds": secs,
            # What the segmentation told the user: its warnings are what stands between a flattering
            # agreement and a user who believes it.
            "warnings": list(seg.get("warnings", [])),
            "median_view_agreement": seg.get("median_agreement"),
            "aim_offset": seg.get("aim_offset"),
            "segmentation_seconds_per_view_reported": (seg.get("multiview") or {}).get("seconds_per_view"),
        }
        key = hashlib.sha256(np.ascontiguousarray(data.silhouettes).tobytes()).hexdigest()
        if key not in fits:
            fits[key] = fit_scored(data, truth, gt)
        row["fit"] = fits[key]
        row["mask_errors"] = maskerrors.classify(data.silhouettes, truth.silhouettes).info()
        if name in DIAGNOSED:  # what each kind of error costs the fit (a diagnosis: it needs the truth)
            if seeds:
                row["fit_splits"] = fit_over_splits(data, truth, gt, seeds, row["fit"])
            row["fit_with_errors_put_right"] = put_right(data, truth, gt, seeds)
        row["targets"] = verdict(row, out["true_masks"])
        out["methods"][name] = row
        f = row["fit"]
        print(f"  {name}: mask IoU {row['mask_iou_vs_true_masks']:.3f}, fit held-out IoU vs truth "
              f"{f.get('heldout_iou_vs_true_masks', float('nan')):.3f}", flush=True)
    return out


def _f(v, digits: int = 3) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def _range(splits: dict) -> str:
    return f" ({splits['min']:.3f}–{splits['max']:.3f})" if "mean" in splits else " (default split)"


def _yes(v) -> str:
    return "—" if v is None else ("yes" if v else "**no**")


def _summary(scenes: dict) -> list[str]:
    """One line that counts the targets table's verdicts (and says where the scenes came from when they
    were drawn at random: figures on captures no default was tuned on)."""
    from softfit.dataset.drawn import is_drawn

    verdicts = [verdict(s["methods"].get("auto", {}), s["true_masks"]) for s in scenes.values()]
    ran = [v for v in verdicts if v]
    if not ran:
        return []
    where = (" The scenes were drawn at random (`softfit.dataset.drawn`): a seed nobody developed on gives "
             "captures no default was tuned on." if all(is_drawn(n) for n in scenes) else "")
    return ["", f"Of {len(ran)} scenes, {sum(v['meets_target'] for v in ran)} reach {TARGET}, "
                f"{sum(bool(v['within_gap']) for v in ran)} are within {FLATTER} of the true-mask fit, "
                f"{sum(v['flatters'] for v in ran)} flatter by more than {FLATTER} on some split, "
                f"{sum(v['flatters_unwarned'] for v in ran)} of them unwarned.{where}"]


def _diagnosis(scenes: dict) -> list[str]:
    """The section on where `auto`'s masks go wrong and what each kind of error costs its fit."""
    lines = [
        "", "## Where `auto`'s masks go wrong, and what that costs the fit (a diagnosis with the truth)", "",
        "Wrong pixels as shares of the union of mask and true mask, by place (`softfit.bench.maskerrors`): "
        f"**edge** within {maskerrors.EDGE_PX:g} px of the other outline, **hole** inside a hole the mask "
        "opened (missed) or a true hole (extra), **far** the rest; **inward** = the edge errors' balance per "
        "pixel of true outline (px; positive: the masks sit inside the true outline). The last columns fit "
        "again from `auto`'s masks with one kind of error put right from the true masks: an oracle that says "
        "what that kind costs, not something a user can get. Every fit figure here is the mean over the same "
        "held-out splits as the targets table.", "",
        "| scene | missed edge / hole / far | extra edge / hole / far | inward (px) | fit held-out vs true "
        "masks | edges put right | holes put right | far put right | true masks |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, s in scenes.items():
        r = s["methods"].get("auto", {})
        e, fixed = r.get("mask_errors"), r.get("fit_with_errors_put_right", {})
        if not e:
            lines.append(f"| {name} | not run | | | | | | | |")
            continue
        lines.append(
            f"| {name} | {e['missed_edge']:.3f} / {e['missed_hole']:.3f} / {e['missed_far']:.3f} | "
            f"{e['extra_edge']:.3f} / {e['extra_hole']:.3f} / {e['extra_far']:.3f} | {e['inward_px']:+.2f} | "
            f"{_f(held_out(r))} | "
            + " | ".join(_f((fixed.get(k) or {}).get("mean")) for k in maskerrors.KINDS)
            + f" | {_f(held_out(s['true_masks']))} |")
    return lines


def markdown(doc: dict) -> str:
    info, scenes = doc["machine"], doc["scenes"]
    methods = doc["methods"]
    lines = [
        "# Silhouette benchmark (photoreal scenes, scored against the TRUE masks)", "",
        f"Regenerate with `{doc['command']}` (scenes are rendered with Cycles on first use and cached).", "",
        "Every number here is measured against the **true masks**: the object alone, rendered separately "
        "by Blender and never given to a method or a fit (the scene's `truth/` folder). The only exception "
        "is the column *agreement*, the fit's own held-out IoU against the masks it was fitted to, shown "
        "to expose how much a self-scored figure flatters; it is not accuracy.", "",
        "- **mask IoU**: the method's masks against the true masks, mean over all views (worst view), at "
        "the fit's working size.",
        "- **fit held-out IoU**: the default fit (`softfit fit` defaults) on the method's masks, its mesh "
        "rendered into the held-out views and compared with the true masks; **all views** the same over "
        "every view.",
        "- **true-mask fit**: the same fit from the true masks (the ceiling); **gap** = method − ceiling.",
        "- **seg s/view**: loading with the method minus loading the same photos with given masks, per view.",
        "",
        f"Machine: {info.get('cpu')}, {info.get('logical_cpus')} logical CPUs, torch {info.get('torch')}, "
        f"git {info.get('git', '?')}, load average {info.get('load_average_1min_at_start')} at start and "
        f"{_f(doc.get('loadavg_end'), 2)} at the end (a shared machine: times are pessimistic; the quality "
        "figures do not depend on load).", "",
        "## Mask IoU against the true masks (mean over views), side by side", "",
        "| scene | " + " | ".join(methods) + " |",
        "|---|" + "---:|" * len(methods),
    ]
    for name, s in scenes.items():
        cells = [_f(s["methods"].get(m, {}).get("mask_iou_vs_true_masks")).replace("—", "not run")
                 for m in methods]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "", "## Fit held-out IoU against the true masks, side by side", "",
        "| scene | true masks | " + " | ".join(methods) + " |",
        "|---|---:|" + "---:|" * len(methods),
    ]
    for name, s in scenes.items():
        ceiling = s["true_masks"]["fit"].get("heldout_iou_vs_true_masks")
        cells = []
        for m in methods:
            r = s["methods"].get(m, {})
            v = r.get("fit", {}).get("heldout_iou_vs_true_masks")
            cells.append("not run" if v is None else f"{v:.3f}")
        lines.append(f"| {name} | {_f(ceiling)} | " + " | ".join(cells) + " |")
    lines += [
        "", "## Targets for `auto` (what `softfit fit` does with photos)", "",
        f"Held-out IoU against the true masks ≥ {TARGET}; within {FLATTER} of the true-mask fit; and the "
        f"fit's agreement with its own masks above its true held-out IoU by more than {FLATTER} only with a "
        f"warning from the segmentation. The held-out figures here are means over {SPLITS} fits whose "
        "held-out views differ (seeds with distinct splits; range in brackets), for `auto` and the true "
        "masks alike: the tables above show the default split's fit only, and two views are a noisy "
        "sample. *agreement* is the mean of the same fits' agreement with their own masks; a fit flatters "
        "when any split's agreement exceeds its true figure by more than the bound.", "",
        f"| scene | held-out vs true masks (range) | true-mask fit (range) | ≥ target | within gap | "
        f"agreement | flatters by > {FLATTER} | warned | seg s/view (method's own clock) | warnings |",
        "|---|---:|---:|---|---|---:|---|---|---:|---|",
    ]
    for name, s in scenes.items():
        r = s["methods"].get("auto", {})
        v = verdict(r, s["true_masks"])
        if not v:
            lines.append(f"| {name} | not run | | | | | | | | |")
            continue
        a, t = r.get("fit_splits") or {}, s["true_masks"].get("fit_splits") or {}
        agree = (np.mean(a["heldout_agreement_with_own_masks"]) if "mean" in a
                 else r["fit"]["heldout_agreement_with_own_masks"])
        warn = "; ".join(w.split(":")[0][:70] for w in r.get("warnings", []) if w != ADVICE) or "none"
        lines.append(f"| {name} | {_f(v['held_out'])}{_range(a)} | {_f(v['ceiling'])}{_range(t)} | "
                     f"{_yes(v['meets_target'])} | {_yes(v['within_gap'])} | {_f(agree)} | "
                     f"{'yes' if v['flatters'] else 'no'} | {'yes' if v['warned'] else 'no'}"
                     f"{' (**unwarned**)' if v['flatters_unwarned'] else ''} | "
                     f"{_f(r.get('segmentation_seconds_per_view_reported'), 2)} | {warn.replace('|', '/')} |")
    lines += _summary(scenes)
    lines += _diagnosis(scenes)
    for name, s in scenes.items():
        sc = s["scene"]
        tf = s["true_masks"]["fit"]
        lines += [
            "", f"## {name}", "",
            f"{sc['description']}. {s['views']} views at {sc['size'][0]}x{sc['size'][1]} (fit at "
            f"{s['working_size'][0]}x{s['working_size'][1]}), Cycles {sc['samples']} samples, "
            f"{s['render_seconds_per_view']['image']:.1f} s per photo and "
            f"{s['render_seconds_per_view']['mask']:.2f} s per true mask to render.", "",
            "| method | chose | mask IoU vs true masks (worst) | seg s/view | "
            "fit held-out IoU vs true masks | gap to true-mask fit | all views vs true masks | "
            "agreement (own masks, not accuracy) | Chamfer / size |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|",
            f"| true masks (ceiling) | — | 1.000 | — | {_f(tf.get('heldout_iou_vs_true_masks'))} | — | "
            f"{_f(tf.get('all_views_iou_vs_true_masks'))} | {_f(tf.get('heldout_agreement_with_own_masks'))} "
            f"| {_f(100 * tf['chamfer_rel'] if tf.get('chamfer_rel') is not None else None, 2)} % |",
        ]
        ceiling = tf.get("heldout_iou_vs_true_masks")
        for m in methods:
            r = s["methods"].get(m, {})
            if "error" in r:
                lines.append(f"| {m} | not run: {r['error'].replace('|', '/')} | | | | | | | |")
                continue
            f = r["fit"]
            if "error" in f:
                lines.append(f"| {m} | {r['chose']} | {_f(r['mask_iou_vs_true_masks'])} "
                             f"({_f(r['mask_iou_vs_true_masks_worst'])}) | "
                             f"{_f(r['segmentation_seconds_per_view'], 2)} | fit failed: "
                             f"{f['error'].replace('|', '/')} | | | | |")
                continue
            held = f["heldout_iou_vs_true_masks"]
            gap = None if ceiling is None else held - ceiling
            lines.append(
                f"| {m} | {r['chose']} | {_f(r['mask_iou_vs_true_masks'])} "
                f"({_f(r['mask_iou_vs_true_masks_worst'])}) | {_f(r['segmentation_seconds_per_view'], 2)} | "
                f"**{_f(held)}** | {'—' if gap is None else f'{gap:+.3f}'} | "
                f"{_f(f['all_views_iou_vs_true_masks'])} | {_f(f['heldout_agreement_with_own_masks'])} | "
                f"{_f(100 * f['chamfer_rel'], 2)} % |")
    lines.append("")
    return "\n".join(lines)


def scene_names(scenes: str | None, drawn: int | None, seed: int) -> list[str]:
    """The scenes to run: `drawn` drawn at random with `seed`, else the named ones `scenes` picks (drawn
    names allowed), else every benchmark scene."""
    from softfit.dataset import drawn as drawn_scenes
    from softfit.dataset.suite import SCENES
    from softfit.errors import InputError

    if drawn is not None:
        if scenes is not None:
            raise InputError("give --scenes or --drawn, not both")
        if not 1 <= drawn <= 1000:
            raise InputError(f"--drawn must be between 1 and 1000, got {drawn}")
        return drawn_scenes.names(drawn, seed)
    if scenes is None:
        return list(SCENES)
    names = [n.strip() for n in scenes.split(",") if n.strip()]
    unknown = [n for n in names if n not in SCENES and not drawn_scenes.is_drawn(n)]
    if unknown or not names:
        raise InputError(f"unknown scene(s) {unknown}; choose from {list(SCENES)} or drawn-SEED-INDEX")
    return names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from softfit.dataset.suite import SCENES

    parser.add_argument("--scenes", default=None, help="comma-separated subset of: " + ", ".join(SCENES)
                        + "; or drawn-SEED-INDEX names (scenes drawn at random)")
    parser.add_argument("--drawn", type=int, default=None, metavar="N",
                        help="instead of --scenes: N scenes drawn at random (drawn-SEED-0 ...), new ones for "
                             "a seed nobody has used: figures on captures no default was tuned on")
    parser.add_argument("--drawn-seed", type=int, default=1, metavar="SEED", help="the seed of --drawn")
    parser.add_argument("--methods", default=None,
                        help="comma-separated subset of the methods found (default: all of them)")
    parser.add_argument("--views", type=int, default=None, help="override the scenes' view count")
    parser.add_argument("--size", default=None, help="override the scenes' image size WxH")
    parser.add_argument("--samples", type=int, default=None, help="override the scenes' Cycles samples")
    parser.add_argument("--image-size", type=int, default=IMAGE_SIZE, help="the fit's working size")
    parser.add_argument("--cache", default=None, help="scene cache (default: the demo's)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: <repo>/benchmarks; with --drawn, benchmarks/drawn)")


def run(args: argparse.Namespace) -> int:
    from softfit.dataset.cache import cache_root, cached_scene

    names = scene_names(args.scenes, args.drawn, args.drawn_seed)
    methods = choose(args.methods, method_names(), "method(s)")
    cache = cache_root(args.cache)
    info = machine_info()
    t0 = time.perf_counter()
    scenes = {}
    with tempfile.TemporaryDirectory(prefix="softfit-bench-sil-") as tmp:
        for name in names:
            folder = cached_scene(name, cache, quiet=False, views=args.views, size=args.size,
                                  samples=args.samples)
            print(f"{name}:", flush=True)
            scenes[name] = bench_scene(folder, methods, Path(tmp), args.image_size)
    command = "softfit bench silhouettes" + "".join(
        f" --{k.replace('_', '-')} {v}" for k, v in (("scenes", args.scenes), ("drawn", args.drawn),
                                                     ("drawn_seed", None if args.drawn is None
                                                      else args.drawn_seed), ("methods", args.methods),
                                                     ("views", args.views), ("size", args.size),
                                                     ("samples", args.samples)) if v is not None)
    doc = {"command": command, "machine": info, "methods": methods, "total_time": time.perf_counter() - t0,
           "loadavg_end": os.getloadavg()[0], "scenes": scenes, "argv": sys.argv[1:]}
    out = args.out or repo_root() / "benchmarks" / ("drawn" if args.drawn is not None else "")
    out.mkdir(parents=True, exist_ok=True)
    (out / "silhouettes.json").write_text(json.dumps(doc, indent=1))
    (out / "silhouettes.md").write_text(markdown(doc))
    print(f"wrote {out / 'silhouettes.json'} and {out / 'silhouettes.md'}")
    if args.drawn is not None:
        from softfit.bench.drawn_summary import refresh_after

        summary = refresh_after(out)
        if summary is not None:
            print(f"wrote {summary} (every drawn run in one table)")
    return 0

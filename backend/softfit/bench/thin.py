"""`softfit bench thin`: adaptive resolution (remeshing during the fit, `--polys auto`) against fixed-size
fits and the visual hull. Writes benchmarks/thin.json and benchmarks/thin.md.

Two tables. Thin parts: Blender renders of an airplane-like object (thin wings, tail), a chair (thin
legs) and a mug (thin handle), 24 views on a ring at elevation 30 deg as SoftRas renders its data, at 64²
and 256²; each fitted at a sweep of fixed `--polys` and adaptively. The `softfit bench fit` objects: the
visual hull built at full resolution (marching cubes on the carving grid, no decimation) from the
training views, the default fixed fit and the adaptive fit. Every row is scored the same way: hard-raster
IoU against the true Blender masks of the mesh `softfit fit` writes (the pipeline's finished run: the
fit after its topology repair, `repair_fitted`; the fit's own held-out IoU is given beside it where the
repair moved it), and `check_mesh` on the raw fitted mesh (the crossings the repair had to open) and on
the written one, as the repair's report holds them.

A thin object's 24 views leave 2 held out, too few to rank fits whose IoU differs in the third decimal
(round 16: the 2-view figure put the 64² airplane's fixed 2 000-face fit above its 3 000-face one and
the adaptive fit ahead of a fixed fit with fewer faces). So its rows are also scored on views rendered
for scoring only: 24 on the training ring halfway between the training azimuths (the held-out sense of
SoftRas' layout, twelve times as many views) and 72 on three rings at 10/35/60 deg (elevations the fit
never saw). The verdict reads the fixed fits as a curve: how many faces a fixed fit needs for the
adaptive fit's IoU, interpolated between the two fixed fits that bracket it."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from softfit.bench import choose, machine_info, repo_root
from softfit.bench.fit import OBJECTS as FIT_OBJECTS

THIN = {"airplane": "airplane", "chair": "chair", "mug": "mug"}
SIZES = (64, 256)
FIXED_POLYS = (500, 1000, 1500, 2000, 3000)  # a curve dense enough to interpolate the adaptive fit on
LARGE_POLYS = (4000, 8000)  # also at 256² and up, where the adaptive fits land in the thousands
# Every thin fit is run with these seeds (which views each step draws, and so the path the fit takes): on
# the 256² airplane one seed's adaptive fit scored 0.9795 and another's 0.9828 between the training views,
# wider than the gaps the verdict has to rank (round 17), so rows are means and verdicts are also given
# seed by seed
SEEDS = (0, 1, 2)
SCORES = ("heldout_iou", "train_iou", "between_iou", "novel_iou", "chamfer_rel")


def thin_spec(source: str, size: int) -> dict:
    """SoftRas' layout: 24 azimuths at elevation 30, distance 2.732; SoftRas' 30 deg field of view framed
    with our 60 deg one by scaling the object 2x (it fills about 60 % of the frame)."""
    return {"source": source, "views": 24, "cameras": "turntable", "size": size, "scale": 2.0}


def scoring_specs(source: str, size: int) -> dict[str, dict]:
    """The datasets a thin object's fits are scored on, never fitted: a 48-view turntable at the training
    elevation (its odd views lie halfway between the 24 training azimuths) and three rings of 24."""
    return {"between_iou": thin_spec(source, size) | {"views": 48},
            "novel_iou": thin_spec(source, size) | {"views": 72, "cameras": "rings"}}


class Scorer:
    """Hard-raster IoU of a mesh against the true masks of the scoring views (`scoring_specs`)."""

    def __init__(self, source: str, size: int, cache: Path):
        from softfit.data.load import load_dataset
        from softfit.dataset.cache import cached_dataset

        self.sets = {}
        for key, spec in scoring_specs(source, size).items():
            data = load_dataset(cached_dataset(spec, cache, quiet=True), image_size=size)
            n = len(data.cameras)
            keep = list(range(1, n, 2)) if key == "between_iou" else list(range(n))
            self.sets[key] = (data.silhouettes[keep], data.cameras.subset(keep))

    def __call__(self, mesh) -> dict:
        from softfit.metrics import view_iou

        return {k: float(view_iou(mesh, sil, cams).mean()) for k, (sil, cams) in self.sets.items()}


def _fit_row(folder: Path, size: int, polys: int | str, remesh: str, scorer: Scorer | None = None,
             seed: int = 0) -> dict:
    """One fit, finished as `softfit fit` writes it (`run(finish=True)`), every score taken on the written
    mesh; where the repair moved it, the fit's own scores beside them (`fit_*`)."""
    from softfit.fit import FitParams
    from softfit.mesh.io import load_mesh
    from softfit.metrics import chamfer_distance
    from softfit.pipeline import InitSpec, Inputs, run

    params = FitParams(device="cpu", remesh=remesh, seed=seed)
    load0 = os.getloadavg()[0]
    gt = load_mesh(folder / "gt_mesh.obj")
    out = run(Inputs(str(folder), image_size=size), InitSpec("hull", polys), params, gt, finish=True)
    m, topology = out.metrics.raw, out.metrics.raw["topology"]
    row = {"polys": polys, "remesh": remesh, "init_faces": out.init.n_faces, "faces": out.mesh.n_faces,
           "heldout_iou": m["heldout_iou"], "train_iou": m["train_iou"], "fit_time": m["fit_time"],
           "fit_cpu_time": m["fit_cpu_time"], "chamfer_rel": out.metrics.chamfer_rel,
           "loadavg": load0, "seed": seed, "remesh_steps": m["remesh"]["steps"],
           "simplify": m["remesh"].get("simplify")} | _checks(topology, out.mesh.n_faces) | (
               scorer(out.mesh) if scorer else {})
    if "fit_scores" in topology:  # the repair moved it: the fit's own scores beside the written mesh's
        own = topology["fit_scores"]
        row |= {"fit_heldout_iou": own["heldout_iou"], "fit_train_iou": own["train_iou"],
                "fit_chamfer_rel": chamfer_distance(out.fitted, gt, seed=params.seed)["chamfer_rel"]} | (
                    {f"fit_{k}": v for k, v in scorer(out.fitted).items()} if scorer else {})
    return row


def _seeded_row(folder: Path, size: int, polys: int | str, remesh: str, scorer: Scorer,
                seeds: tuple[int, ...]) -> dict:
    return mean_row([_fit_row(folder, size, polys, remesh, scorer, seed) for seed in seeds])


def mean_row(runs: list[dict]) -> dict:
    """One row for the same fit run with several seeds: the scores, faces and times averaged, the checks
    held only if every run passes them, each run kept under "runs" (the verdict is also read seed by
    seed)."""
    first = runs[0]
    if len(runs) == 1:
        return first | {"runs": runs}

    def mean(key: str) -> float | None:
        vals = [r.get(key) for r in runs]
        return None if any(v is None for v in vals) else float(sum(vals)) / len(vals)

    out = dict(first)
    out.update({k: mean(k) for k in (*SCORES, "fit_time", "fit_cpu_time", "loadavg", "repair_time")
                if k in first})
    out["faces"] = round(mean("faces"))
    out["repaired_faces"] = round(mean("repaired_faces"))
    out["init_faces"] = round(mean("init_faces"))
    for k in ("closed_manifold_oriented", "check_ok", "repaired_ok"):
        out[k] = all(r[k] for r in runs)
    out["self_intersections"] = max(r["self_intersections"] for r in runs)
    out["repair_moved_rel"] = max(r["repair_moved_rel"] for r in runs)
    out["seed"] = [r["seed"] for r in runs]  # remesh_steps: the first seed's, as `first` gave them
    return out | {"runs": runs}


def _checks(report: dict, faces: int) -> dict:
    """What a topology repair's report (`repair_fitted`) says, as a row's columns: `check_mesh` of the
    raw mesh (`before`: closed, manifold, oriented; crossings counted) and of the written one (`after`),
    how far the repair moved it and how long it took; `faces`: the written mesh's."""
    raw = report["before"]
    return {"closed_manifold_oriented": bool(raw["watertight"] and raw["manifold"]
                                             and raw["winding_consistent"] and raw["outward"]),
            "self_intersections": int(raw["self_intersections"]), "check_ok": bool(raw["ok"]),
            "repaired_ok": bool(report["after"]["ok"]), "repaired_faces": faces,
            "repair_moved_rel": report["max_displacement_rel"], "repair_time": report["time"],
            "repair_crossings_left": int(report["after"]["self_intersections"]),
            "coarsening_refused": "coarsening_refused" in report}


def _hull_row(folder: Path, size: int, scorer: Scorer | None = None) -> dict:
    """The full-resolution visual hull of the training views, scored on the held-out views."""
    from softfit.data.load import load_dataset
    from softfit.fit import FitParams
    from softfit.init.hull import hull_mesh
    from softfit.metrics import view_iou
    from softfit.pipeline import training_views

    data = load_dataset(folder, image_size=size)
    train, held = training_views(data, FitParams())
    t0 = time.perf_counter()
    mesh = hull_mesh(data.subset(train), None)
    iou = view_iou(mesh, data.silhouettes[held], data.cameras.subset(held))
    return {"polys": "hull (full resolution)", "remesh": "-", "init_faces": mesh.n_faces,
            "faces": mesh.n_faces, "heldout_iou": float(iou.mean()), "train_iou": None,
            "fit_time": time.perf_counter() - t0, "fit_cpu_time": None, "chamfer_rel": None,
            "loadavg": os.getloadavg()[0], "remesh_steps": []} | _repair_checks(mesh) | (
                scorer(mesh) if scorer else {})


def _repair_checks(mesh) -> dict:
    """`_checks` of the repair `softfit fit` would run on `mesh` (no fit to keep: no error bound)."""
    from softfit.fit.repair import repair_fitted

    t0 = time.perf_counter()
    repaired, report = repair_fitted(mesh, None)
    return _checks(report | {"time": time.perf_counter() - t0}, repaired.n_faces)


def _committed_fit_row(name: str) -> list[dict]:
    """The default fixed fit of `name` as benchmarks/fit.json recorded it (`softfit bench fit`, same data,
    same scoring), instead of fitting it again; none if that file lacks it."""
    path = repo_root() / "benchmarks" / "fit.json"
    try:
        r = json.loads(path.read_text())["results"]["objects"][name]
    except (OSError, KeyError, ValueError):
        return []
    return [{"polys": f"{r['init_faces']} (fixed; benchmarks/fit.json)", "remesh": "off",
             "init_faces": r["init_faces"], "faces": r["init_faces"], "heldout_iou": r["heldout_iou"],
             "train_iou": r["train_iou"], "fit_time": r["fit_time"], "fit_cpu_time": r["fit_cpu_time"],
             "chamfer_rel": r["chamfer_rel"], "check_ok": None, "closed_manifold_oriented": None,
             "self_intersections": "-", "repaired_ok": None,
             "loadavg": r["loadavg_before"], "remesh_steps": []}]


def _line(name: str, r: dict) -> str:
    chamfer = "-" if r["chamfer_rel"] is None else f"{100 * r['chamfer_rel']:.2f} %"
    train, between, novel = (_iou(r.get(k), _spread(r, k)) for k in ("train_iou", "between_iou", "novel_iou"))
    return (f"| {name} | {r['polys']} | {r['remesh']} | {r['faces']} | **{r['heldout_iou']:.4f}** | "
            f"{between} | {novel} | {train} | {chamfer} | {_yes(r['closed_manifold_oriented'])} | "
            f"{r['self_intersections']} | {_repaired(r)} | {r['fit_time']:.1f} | {r['loadavg']:.1f} |")


def _iou(v: float | None, spread: tuple[float, float] | None = None) -> str:
    if v is None:
        return "-"
    return f"{v:.4f}" + ("" if spread is None else f" ({spread[0]:.4f}-{spread[1]:.4f})")


def _spread(r: dict, key: str) -> tuple[float, float] | None:
    """(lowest, highest) of `key` over the row's seeds, None for a single run."""
    vals = [run.get(key) for run in r.get("runs", [])]
    if len(vals) < 2 or any(v is None for v in vals):
        return None
    return min(vals), max(vals)


def _repaired(r: dict) -> str:
    """'yes'/'no', and when the repair moved the surface: how far (of the bounding-box diagonal), the
    faces it left and its time."""
    cell = _yes(r.get("repaired_ok"))
    before = _fit_own(r, "heldout_iou")
    if r.get("repair_moved_rel"):
        cell += (f" (moved ≤ {100 * r['repair_moved_rel']:.2f} %, {r['repaired_faces']} faces, "
                 f"{r['repair_time']:.0f} s"
                 + (f", the fit's own held-out IoU {before:.4f}" if before is not None else "")
                 + (f"; {r['repair_crossings_left']} crossing pairs left: coarsening them away cost the "
                    "fit" if r.get("coarsening_refused") else "") + ")")
    return cell


def _fit_own(r: dict, key: str) -> float | None:
    """The fit's own `key` before the repair (mean over the row's seeds, each seed's written figure where
    its repair did not move it); None when no seed's repair moved its fit."""
    runs = r.get("runs") or [r]
    if not any(f"fit_{key}" in run for run in runs):
        return None
    return sum(run.get(f"fit_{key}", run.get(key)) for run in runs) / len(runs)


def _yes(ok: bool | None) -> str:
    return "-" if ok is None else "yes" if ok else "no"


HEADER = ("| object | --polys | remesh | final faces | held-out IoU | between the training views (24) | "
          "other elevations (72) | training views' IoU | Chamfer / size | closed, manifold, oriented | "
          "crossing face pairs | clean after repair | s | load avg |\n"
          "|---|---|---|---:|---:|---:|---:|---:|---:|---|---:|---|---:|---:|")


def faces_needed(rows: list[dict], key: str, target: float) -> tuple[float, dict | None, dict] | None:
    """(faces a fixed fit needs for IoU `target` on `key`, the fixed fits that bracket it: (below or None
    when the smallest already reaches it, at or above)), read off the fixed fits as a curve: the best IoU
    reached with at most so many faces, linear between its points; None when no fixed fit reaches it."""
    fixed = sorted((r for r in rows if r["remesh"] == "off" and r.get(key) is not None),
                   key=lambda r: r["faces"])
    below = None
    for r in fixed:
        if r[key] >= target:
            if below is None:
                return float(r["faces"]), None, r
            share = (target - below[key]) / (r[key] - below[key])
            return below["faces"] + share * (r["faces"] - below["faces"]), below, r
        if below is None or r[key] > below[key]:
            below = r
    return None


def verdict(rows: list[dict], key: str = "heldout_iou") -> str:
    """Does the adaptive fit need fewer faces than a fixed fit of its IoU (`key`)?"""
    ada = next(r for r in rows if r["remesh"] == "on")
    need = faces_needed(rows, key, ada[key])
    if need is None:
        best = max((r for r in rows if r["remesh"] == "off"), key=lambda r: r[key])
        return (f"adaptive IoU {ada[key]:.4f} ({ada['faces']} faces) above every fixed fit (best "
                f"{best[key]:.4f}, {best['faces']} faces)")
    faces, lo, hi = need
    word = "fewer" if ada["faces"] < faces else "MORE"
    how = (f"the smallest fixed fit reaches it ({hi['faces']} faces, {hi[key]:.4f})" if lo is None else
           f"interpolated between {lo['faces']} faces at {lo[key]:.4f} and {hi['faces']} at {hi[key]:.4f}")
    return (f"adaptive {ada['faces']} faces, {word} than the {faces:.0f} a fixed fit needs for its IoU "
            f"{ada[key]:.4f} ({how})")


def seed_rows(rows: list[dict]) -> list[list[dict]]:
    """The rows as each seed's runs gave them; a row of one run (the hull) stands in every list."""
    n = max(len(r.get("runs", [])) for r in rows)
    return [[r["runs"][i] if len(r.get("runs", [])) == n else r for r in rows] for i in range(n)]


def met(rows: list[dict], key: str) -> bool:
    """The face-count half of the target: the adaptive fit has fewer faces than a fixed fit needs for its
    IoU on `key`, or an IoU above every fixed fit."""
    ada = next(r for r in rows if r["remesh"] == "on")
    need = faces_needed(rows, key, ada[key])
    return need is None or ada["faces"] < need[0]


def seed_verdicts(rows: list[dict], key: str) -> str:
    """'met (IoU, faces), ...' for each seed, judged on that seed's own fixed fits; '' for one seed."""
    runs = seed_rows(rows)
    if len(runs) < 2:
        return ""
    words = []
    for seed_rows_ in runs:
        ada = next(r for r in seed_rows_ if r["remesh"] == "on")
        words.append(f"{'met' if met(seed_rows_, key) else 'NOT met'} (seed {ada.get('seed', '?')}: "
                     f"{ada[key]:.4f}, {ada['faces']} faces)")
    return "; seed by seed, each against its own fixed fits: " + ", ".join(words)


def markdown(results: dict, info: dict, command: str) -> str:
    lines = ["# Adaptive resolution benchmark", "",
             f"Regenerate with `{command}`. Machine: {info.get('cpu')}, {info.get('logical_cpus')} logical "
             f"CPUs, torch {info.get('torch')} with {info.get('torch_threads')} threads, git "
             f"{info.get('git', '?')}; shared with other work, so times grow with the load average beside "
             "them (IoU does not depend on load). Every IoU and Chamfer distance is the mesh `softfit fit` "
             "writes (the fit after its topology repair; where the repair moved it, the fit's own held-out "
             "IoU is given in the repair column). Held-out IoU: hard raster against the true Blender masks "
             "of views neither the initial mesh nor the loss saw; training views' IoU: the same on the "
             "views the fit was given (how well it fits, not how it generalises). `check_mesh` on the raw "
             "fitted mesh "
             "(watertight, edge- and vertex-manifold, consistently and outward wound; crossing face pairs "
             "counted) and on the mesh `softfit fit` writes (`repair_mesh` untangles crossings, by smoothing "
             "or by pushing a collapsed thin part's sides apart, remeshing coarser around folds neither "
             "opens; where it moved the surface: how far, as a "
             "share of the bounding-box diagonal, the faces it left and its time).", "",
             "## Thin parts", "", "24 views on a ring at elevation 30 deg (SoftRas' layout), "
             "initial mesh: visual hull of the training views; FitParams defaults. With 24 views the "
             "default 10 % hold-out leaves 2 held-out views, too few to rank fits a few thousandths apart; "
             "every thin row is also scored on views rendered for scoring only, never fitted: 24 on the "
             "training ring halfway between the training azimuths, and 72 on three rings at 10/35/60 deg "
             "(elevations the fit never saw: what a silhouette ring at 30 deg cannot pin down, such as "
             "concavities seen from above, counts there).", ""]
    seeds = sorted({run.get("seed") for rows in results.get("thin", {}).values() for r in rows
                    for run in r.get("runs", [])} - {None})
    if len(seeds) > 1:
        lines += [f"Every fixed and adaptive fit is run with seeds {', '.join(map(str, seeds))} (which views "
                  "each step draws, and so the path the fit takes): the rows give their means (faces, "
                  "IoU, times), the IoU cells the lowest and highest seed in brackets, and each verdict "
                  "below is given for the means and then seed by seed, against that seed's own fixed fits.",
                  ""]
    lines.append(HEADER)
    for name, rows in results.get("thin", {}).items():
        lines += [_line(name, r) for r in rows]
    thin = results.get("thin", {})
    readings = [("between_iou", "the 24 views between the training azimuths (the target's reading: held "
                 "out on the training ring, twelve times as many views as the held-out column)"),
                ("novel_iou", "the 72 views at other elevations"),
                ("heldout_iou", "the 2 held-out views"),
                ("train_iou", "the 22 training views (the fit saw these: how well it fits, not how it "
                 "generalises)")]
    for key, what in readings:
        scored = {name: rows for name, rows in thin.items() if all(r.get(key) is not None
                                                                   for r in rows if r["remesh"] != "-")}
        if not scored:
            continue
        lines += ["", f"Adaptive against the fixed fits' curve, on {what}: the faces a fixed fit needs for "
                  "the adaptive fit's IoU, interpolated between the fixed fits that bracket it:", ""]
        lines += [f"- {name}: {verdict(rows, key)}{seed_verdicts(rows, key)}"
                  for name, rows in scored.items()]
    if results.get("fit"):
        lines += ["", "## The `softfit bench fit` objects against their visual hull", "",
                  "72 views on three rings at 256². Target: held-out IoU >= the hull's at <= 1/8 of its "
                  "faces.", "", HEADER]
        for name, rows in results["fit"].items():
            lines += [_line(name, r) for r in rows]
        lines += [""]
        for name, rows in results["fit"].items():
            hull = rows[0]
            for r in rows[1:]:
                ok = r["heldout_iou"] >= hull["heldout_iou"] and 8 * r["faces"] <= hull["faces"]
                ratio = hull["faces"] / r["faces"]
                lines.append(f"- {name}, {r['polys']}: {r['faces']} faces = 1/{ratio:.1f}"
                             f" of the hull's, IoU {r['heldout_iou'] - hull['heldout_iou']:+.4f} against it: "
                             f"{'met' if ok else 'NOT met'}")
    lines.append("")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--objects", default=None,
                        help="thin objects, comma-separated ('none' skips): " + ", ".join(THIN))
    parser.add_argument("--sizes", default="64,256", help="image sizes for the thin objects")
    parser.add_argument("--seeds", default=",".join(map(str, SEEDS)),
                        help="seeds each thin fit is run with (rows are their means; verdicts also per seed)")
    parser.add_argument("--fit-objects", default=None,
                        help="`bench fit` objects to compare with the hull (default all; 'none' skips); "
                        "their default fixed fit is read from benchmarks/fit.json")
    parser.add_argument("--cache", default=None, help="dataset cache (default: the demo's)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: <repo>/benchmarks)")


def run(args: argparse.Namespace) -> int:
    from softfit.dataset.cache import cache_root, cached_dataset

    cache = cache_root(args.cache)
    t0 = time.perf_counter()
    results: dict = {"thin": {}, "fit": {}}
    out = args.out or repo_root() / "benchmarks"
    out.mkdir(parents=True, exist_ok=True)
    command = "softfit bench thin"

    def write() -> None:  # after every object: a long run interrupted keeps what it measured
        info = machine_info()
        doc = {"command": command, "machine": info, "total_time": time.perf_counter() - t0,
               "results": results, "argv": sys.argv[1:]}
        (out / "thin.json").write_text(json.dumps(doc, indent=1))
        (out / "thin.md").write_text(markdown(results, info, command))

    seeds = tuple(int(x) for x in str(args.seeds).split(","))
    for obj in [] if args.objects == "none" else choose(args.objects, THIN, "thin object(s)"):
        for size in (int(s) for s in args.sizes.split(",")):
            folder = cached_dataset(thin_spec(THIN[obj], size), cache, quiet=True)
            scorer = Scorer(THIN[obj], size, cache)
            rows = [_hull_row(folder, size, scorer)]
            rows += [_seeded_row(folder, size, p, "off", scorer, seeds)
                     for p in FIXED_POLYS + (LARGE_POLYS if size >= 256 else ())]
            rows.append(_seeded_row(folder, size, "auto", "on", scorer, seeds))
            name = f"{obj} {size}²"
            results["thin"][name] = rows
            print(name, [(r["polys"], r["faces"], round(r["heldout_iou"], 4)) for r in rows], flush=True)
            write()
    if args.fit_objects != "none":
        for name in choose(args.fit_objects, FIT_OBJECTS, "benchmark object(s)"):
            spec = FIT_OBJECTS[name]
            folder = cached_dataset(spec, cache, quiet=True)
            rows = [_hull_row(folder, spec["size"]), *_committed_fit_row(name),
                    _fit_row(folder, spec["size"], "auto", "on")]
            results["fit"][name] = rows
            print(name, [(r["polys"], r["faces"], round(r["heldout_iou"], 4)) for r in rows], flush=True)
            write()
    write()
    print(f"wrote {out / 'thin.json'} and {out / 'thin.md'}")
    return 0

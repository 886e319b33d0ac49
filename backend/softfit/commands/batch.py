"""`softfit batch ROOT --out DIR [--address ADDR] [fit options]`: fit every object under ROOT as Ray tasks.

Objects: ALOI png2/<obj> folders, folders with transforms.json, SoftRas source.npy/camera.npy folders and
every object of .npz archives. Each lands in DIR/<name>/ exactly as `softfit fit` writes it; DIR/summary.json
and DIR/summary.md hold the aggregate table. Rerunning skips objects already done (--force refits them);
failed objects are retried. Exit code 0 when every object is fitted, 1 when some failed, 130 on Ctrl-C."""

from __future__ import annotations

import argparse
import sys

from softfit.commands.options import (
    add_fit_params,
    add_init_arguments,
    add_input_arguments,
    add_texture_argument,
    params_from_args,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("root", metavar="ROOT", help="folder (searched recursively) or one .npz archive")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="output folder (created; reused to resume)")
    parser.add_argument("--force", action="store_true", help="refit objects that are already done")
    parser.add_argument("--quiet", action="store_true", help="no per-object progress lines")
    g = parser.add_argument_group("Ray")
    g.add_argument("--address", default=None, help="an existing Ray cluster (auto, HOST:PORT or "
                   "ray://HOST:PORT); default: start a local Ray on this machine")
    g.add_argument("--num-cpus", type=int, default=None, help="CPUs of the local Ray (default: all of them)")
    g.add_argument("--cpus-per-task", type=float, default=1.0,
                   help="CPUs reserved per object (default 1; also its torch threads unless --threads)")
    g.add_argument("--gpus-per-task", type=float, default=0.0, help="GPUs reserved per object (default 0)")
    add_input_arguments(parser.add_argument_group("input (for every object)"))
    add_init_arguments(parser.add_argument_group("initial mesh (for every object)"))
    g = parser.add_argument_group("fit")
    g.add_argument("--params", metavar="FILE",
                   help="JSON object of fit parameters (options below override it)")
    add_fit_params(g)
    add_texture_argument(g)


def _line(rec: dict, done: int, total: int) -> str:
    head = f"[{done}/{total}] {rec['name']}: {rec['status']}"
    if rec["status"] == "failed":
        return f"{head} ({rec.get('error_type')}: {rec.get('error')})"
    parts = [f"held-out IoU {rec['heldout_iou']:.4f}" if rec.get("heldout_iou") is not None else None,
             f"Chamfer {rec['chamfer']:.4g}" if rec.get("chamfer") is not None else None,
             f"{rec['seconds']:.1f} s" if rec.get("seconds") is not None else None]
    return f"{head}, " + ", ".join(p for p in parts if p)


def run(args: argparse.Namespace) -> int:
    from softfit.batch import BatchSettings, run_batch

    params = params_from_args(args)
    settings = BatchSettings(
        params=params.to_dict(), cameras=args.cameras, silhouette=args.silhouette,
        image_size=args.image_size or None, init=args.init,
        polys=args.polys, radius=args.radius, center=args.center,
        threads=params.threads or max(1, int(args.cpus_per_task)),
        allow_outside_paths=args.allow_outside_paths, texture=args.texture,
        texture_refine=args.texture_refine)

    def show(rec: dict, done: int, total: int) -> None:
        if not args.quiet:
            print(_line(rec, done, total), flush=True)

    try:
        outcome = run_batch(args.root, args.out, settings, address=args.address, num_cpus=args.num_cpus,
                            cpus_per_task=args.cpus_per_task, gpus_per_task=args.gpus_per_task,
                            force=args.force, on_record=show)
    except KeyboardInterrupt:
        print(f"softfit batch: interrupted; finished objects are kept in {args.out} and skipped when you "
              "rerun the same command", file=sys.stderr)
        return 130
    s = outcome.stats
    if not args.quiet:
        iou = s["heldout_iou"]
        mean = f", mean held-out IoU {iou['mean']:.4f} (median {iou['median']:.4f})" if iou["n"] else ""
        print(f"{s['objects']} objects: {s['done']} fitted, {s['skipped']} skipped (done before), "
              f"{s['failed']} failed{mean}\nsummary: {outcome.summary_md}")
    return 1 if s["failed"] else 0

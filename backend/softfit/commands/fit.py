"""`softfit fit DATA --out DIR`: translate the options into `softfit.pipeline.run` and show its outcome.

Every FitParams field is an option of the same name (commands/options.py). Ctrl-C stops the fit
cleanly and still writes the current result (metrics.json: "stop_reason": "interrupted"); exit code 130."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from softfit.commands.options import (
    add_fit_params,
    add_init_arguments,
    add_input_arguments,
    add_quads_argument,
    add_texture_argument,
    init_from_args,
    inputs_from_args,
    params_from_args,
)
from softfit.errors import InputError
from softfit.fit import FitParams, Progress
from softfit.mesh.types import Mesh
from softfit.pipeline import InitSpec, Inputs, Outcome, ReportSpec


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", metavar="DATA",
                        help="transforms.json folder, image folder, video (evenly spaced frames), ALOI "
                        "object folder, COLMAP project (images/ + sparse/0/), SoftRas source.npy/camera.npy "
                        "folder or ShapeNet .npz")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder (must be empty or new)")
    parser.add_argument("--force", action="store_true", help="replace a non-empty output folder")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    g = parser.add_argument_group("input")
    add_input_arguments(g)
    g.add_argument("--object", type=int, default=None, help="object index in a SoftRas/ShapeNet .npz archive")
    g.add_argument("--gt-mesh", help="ground-truth mesh (.obj/.ply, world frame): adds the Chamfer distance")
    add_init_arguments(parser.add_argument_group("initial mesh"))
    g = parser.add_argument_group("fit")
    g.add_argument("--params", metavar="FILE",
                   help="JSON object of fit parameters (the options below override it)")
    add_fit_params(g)
    g = parser.add_argument_group("output")
    g.add_argument("--turntable", action="store_true", help="also write turntable.gif of the result")
    add_texture_argument(g)
    add_quads_argument(g)


class Interrupt(threading.Event):
    """The CLI's cancel event: set only by Ctrl-C, so the pipeline records the stop as "interrupted"."""

    stop_reason = "interrupted"


@contextlib.contextmanager
def sigint_cancels(cancel: threading.Event) -> Iterator[None]:
    """First Ctrl-C sets `cancel` (the fit stops after the current step and the result is written);
    a second one interrupts at once. Only possible in the main thread; elsewhere a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):  # noqa: ARG001
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def run_with_progress(inputs: Inputs, init: InitSpec, params: FitParams, report: ReportSpec,
                      gt: Mesh | None = None, quiet: bool = False, record: dict | None = None,
                      callback: Callable[[Progress], None] | None = None) -> Outcome:
    """`pipeline.run` with a tqdm progress bar (iteration, loss, IoU) and Ctrl-C as a clean stop."""
    from tqdm import tqdm

    from softfit.pipeline import run

    cancel = Interrupt()
    bar = None  # opened at the first step: an input error before the fit prints no empty bar above it

    def on_progress(p: Progress) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=params.iterations, disable=quiet, unit="it", dynamic_ncols=True, file=sys.stderr,
                       desc="fit")
        bar.update(1)
        if p.iteration % 5 == 0 or p.iteration == p.iterations - 1:
            bar.set_postfix(loss=f"{p.loss:.4f}", iou=f"{p.iou:.4f}", refresh=False)
        if callback is not None:
            callback(p)

    try:
        with sigint_cancels(cancel):
            return run(inputs, init, params, gt, on_progress, cancel, report=report, record=record,
                       quiet=quiet)
    finally:
        if bar is not None:
            bar.close()


def summary(outcome: Outcome) -> str:
    """What the user reads after a fit: where the silhouettes came from (auto's choice, agreement,
    warnings), the fit, its IoUs and what they were measured against."""
    from softfit.data.silhouette import notes
    from softfit.mesh.quadriflow import describe

    m = outcome.metrics.raw
    lines = notes(outcome.data.info) + [f"warning: {w}" for w in m.get("silhouette_warnings", [])]
    lines += [f"warning: {w}" for w in m.get("view_warnings", [])]
    misses = m.get("input", {}).get("init_hull_max_misses")
    if misses:
        lines.append(f"initial mesh: the visual hull of the training views, keeping what falls outside at "
                     f"most {misses} of the segmented masks (one view's spurious hole carves no tunnel)")
    lines += [f"fitted {m['mesh']['verts']} vertices in {m['iterations']} iterations, {m['fit_time']:.1f} s "
              f"on {m['device']} ({m['stop_reason']})",
              f"train IoU {m['train_iou']:.4f}"]
    simplified = m.get("remesh", {}).get("simplify")
    if simplified:
        lines.append(_simplified(simplified))
    if m.get("heldout_iou") is not None:
        what = "agreement with the segmentation" if "segmentation" in m.get("iou_against", "") else "IoU"
        lines.append(f"held-out {what} {m['heldout_iou']:.4f} over {len(m['heldout_views'])} views "
                     f"(min {min(m['heldout_iou_per_view']):.4f}; against "
                     f"{m.get('iou_against', 'the input')})")
    if m.get("chamfer"):
        c = m["chamfer"]
        rel = f" ({100 * c['chamfer_rel']:.2f} % of the object's size)" if c.get("chamfer_rel") else ""
        lines.append(f"Chamfer distance {c['chamfer']:.4g}{rel}")
    topo = m.get("topology", {}).get("after")
    if topo:
        lines.append(f"mesh {'clean' if topo['ok'] else 'NOT clean'}: watertight {topo['watertight']}, "
                     f"manifold {topo['manifold']}, self-intersections {topo['self_intersections']}")
    before = m.get("topology", {}).get("fit_scores", {}).get("heldout_iou")
    if before is not None and m.get("heldout_iou") is not None:
        lines.append(f"the repair moved the fitted surface: held-out {m['heldout_iou']:.4f} is the written "
                     f"mesh's ({before:.4f} before the repair)")
    lines += [f"warning: {w}" for w in m.get("mesh_warnings", [])]
    tex = m.get("texture", {})
    textured = bool(tex) and "skipped" not in tex
    if textured:
        refined = tex.get("refine", {})
        photos = tex.get("photo_size")
        lines.append(f"texture {tex['size'][0]}x{tex['size'][1]} baked in {tex['time']:.1f} s"
                     + (f" from the photos at {photos[0]}x{photos[1]}" if photos else "")
                     + f" ({100 * tex['seen_fraction']:.1f} % of texels seen by a training view)"
                     + (f", refined in {refined['time']:.1f} s" if "time" in refined else ""))
    elif tex:
        lines.append(f"no texture: {tex['skipped']}")
    files = "mesh.glb, mesh.obj + mesh.mtl + texture.png" if textured else "mesh.obj"
    quads = m.get("quads")
    if quads:
        lines.append(describe(quads))
        if "error" not in quads:
            textured_quads = "size" in (quads.get("texture") or {})
            files += ", mesh_quads.obj" + (" + mesh_quads.mtl + texture_quads.png" if textured_quads else "")
    lines.append(f"results in {outcome.report}: {files}, mesh.ply, metrics.json, loss.png, overlays.png")
    return "\n".join(lines)


def load_gt(path: str | Path | None) -> Mesh | None:
    if not path:
        return None
    from softfit.mesh.io import load_mesh

    if not Path(path).is_file():
        raise InputError(f"ground-truth mesh not found: {path}")
    return load_mesh(path)


def run(args: argparse.Namespace) -> int:
    from softfit.report import check_output_dir

    params = params_from_args(args)
    check_output_dir(args.out, args.force)
    gt = load_gt(args.gt_mesh)
    report = ReportSpec(args.out, args.force, args.turntable, args.texture,
                        texture_refine=args.texture_refine, quads=args.quads)
    outcome = run_with_progress(inputs_from_args(args), init_from_args(args), params, report, gt,
                                args.quiet, {"gt_mesh": args.gt_mesh})
    if not args.quiet:
        print(summary(outcome))
    return 130 if outcome.metrics.stop_reason == "interrupted" else 0


__all__ = ["add_arguments", "run", "run_with_progress", "sigint_cancels", "summary"]


def _simplified(s: dict) -> str:
    """The adaptive fit's last step in a line: how far the decimation went, and why it stopped there."""
    written = s.get("written_error")
    base = s["error_before"] if written is None else written
    what = "the fit's" if written is None else "the repaired fit's"
    bound = (f"the training views' silhouette error within {s['max_error']:.4f} ({what} {base:.4f}"
             + (f" + {100 * (s['max_error'] / base - 1):.0f} %)" if base > 0 else ")"))
    if s["faces_after"] == s["faces_before"]:
        return f"kept all {s['faces_before']} remeshed faces: no decimation kept {bound}"
    line = f"decimated {s['faces_before']} -> {s['faces_after']} faces, keeping {bound}"
    polish = s.get("polish")
    if polish:
        line += (f"; then refitted for {polish['steps']} steps: training error "
                 f"{polish['error_before']:.4f} -> {polish['error_after']:.4f}"
                 + ("" if polish["kept"] else ", not kept"))
    return line

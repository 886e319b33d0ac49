"""`softfit demo`: the README's main command. Renders the default dataset with Blender (once; cached in
`softfit.dataset.cache`), fits it on the CPU with the default parameters and writes out/demo/."""

from __future__ import annotations

import argparse
from pathlib import Path

from softfit.commands.options import add_texture_argument
from softfit.dataset.cache import DEFAULT_DATASET


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
    from softfit.commands.fit import load_gt, run_with_progress, summary
    from softfit.dataset.cache import cache_root, cached_dataset
    from softfit.fit import FitParams
    from softfit.pipeline import DEFAULT_POLYS, InitSpec, Inputs, ReportSpec
    from softfit.report import check_output_dir

    out = Path(args.out)
    force = _out_ok(out, args.force)
    check_output_dir(out, force)
    spec = {"source": args.source, "views": args.views, "cameras": DEFAULT_DATASET["cameras"],
            "size": args.size, "scale": args.scale}
    folder = cached_dataset(spec, cache_root(args.cache), args.quiet)
    polys = DEFAULT_POLYS if args.polys is None else args.polys if args.polys == "auto" else int(args.polys)
    params = FitParams(device=args.device, threads=args.threads)
    if args.iterations is not None:
        params = FitParams.from_dict(params.to_dict() | {"iterations": args.iterations})
    turntable = getattr(args, "turntable", True)
    outcome = run_with_progress(Inputs(str(folder), image_size=args.size), InitSpec(args.init, polys),
                                params, ReportSpec(out, force, turntable, getattr(args, "texture", True),
                                                   getattr(args, "texture_refine", False)),
                                load_gt(folder / "gt_mesh.obj"),
                                args.quiet, {"dataset": spec, "gt_mesh": "gt_mesh.obj"})
    if not args.quiet:
        print(summary(outcome))
        extra_files = " and turntable.gif" if turntable else ""
        print(f"look at {outcome.report / 'overlays.png'}, {outcome.report / 'loss.png'}{extra_files}; "
              "open mesh.glb in Blender (File > Import > glTF, or the add-on's Import SoftFit Result), "
              "or import mesh.obj with Forward Y, Up Z")
    return 130 if outcome.metrics.stop_reason == "interrupted" else 0

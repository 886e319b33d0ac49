"""`softfit fit DATA --out DIR`: load views and cameras, build the initial mesh, fit, write the report.

Every FitParams field is an option of the same name (`views_per_step` -> `--views-per-step`), so the CLI
never drifts from the engine. Ctrl-C stops the fit cleanly and still writes the current result
(metrics.json: "stop_reason": "interrupted"); the exit code is then 130."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from collections.abc import Iterator
from dataclasses import MISSING, fields
from pathlib import Path

from softfit.data.types import MultiViewData
from softfit.errors import InputError
from softfit.fit import FitParams, FitResult, Progress, fit
from softfit.mesh.types import Mesh

DEFAULT_POLYS = 2000  # initial-mesh triangles (benchmarks/fit.md)


def default_inits() -> tuple[str, ...]:
    """Initial meshes tried in order when --init is not given: the visual hull (right topology and
    placement from the start: the best held-out IoU on every benchmark object, and the only start that
    fits a torus), then the bbox ellipsoid, then the sphere. softfit.init provides the first two."""
    try:
        import softfit.init  # noqa: F401
    except ImportError:
        return ("sphere",)
    return ("hull", "bbox", "sphere")


# -- options ----------------------------------------------------------------------------------------


def _pair(text: str) -> list[float]:
    try:
        a, b = (float(x) for x in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected two numbers A,B, got {text!r}") from exc
    return [a, b]


def _schedule(text: str) -> list[list[float]]:
    """'0:64,0.3:128,0.7:full' -> [[0, 64], [0.3, 128], [0.7, 0]]."""
    out = []
    try:
        for item in text.split(","):
            frac, size = item.split(":")
            out.append([float(frac), 0 if size.strip() in ("full", "0") else int(size)])
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected FRACTION:SIZE,... (SIZE a number or 'full'), got {text!r}"
                                         ) from exc
    return out


def _polys(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected an integer or 'auto', got {text!r}") from exc


def _show(v: object) -> str:
    if isinstance(v, tuple) and v and isinstance(v[0], tuple):
        return ",".join(f"{f:g}:{s or 'full'}" for f, s in v)
    if isinstance(v, tuple):
        return ",".join(f"{x:g}" for x in v)
    return str(v)


def add_fit_params(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """One option per FitParams field (default None = the field's default, shown in the help)."""
    converters = {"betas": _pair, "sigma": _pair, "resolutions": _schedule}
    for f in fields(FitParams):
        default = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
        kind = converters.get(f.name) or (type(default) if not isinstance(default, bool) else int)
        kw: dict = {"type": kind, "default": None, "metavar": f.name.upper(),
                    "help": f"{f.metadata['help']} (default {_show(default)})"}
        if "choices" in f.metadata:
            kw["choices"] = f.metadata["choices"]
        parser.add_argument("--" + f.name.replace("_", "-"), dest=f"p_{f.name}", **kw)


def params_from_args(args: argparse.Namespace) -> FitParams:
    """FitParams from --params FILE (if any) overridden by the individual options."""
    base: dict = {}
    if getattr(args, "params", None):
        try:
            base = json.loads(Path(args.params).read_text())
        except OSError as exc:
            raise InputError(f"cannot read parameter file {args.params}: {exc.strerror}") from exc
        except json.JSONDecodeError as exc:
            raise InputError(f"parameter file {args.params} is not valid JSON: {exc}") from exc
        if not isinstance(base, dict):
            raise InputError(f"parameter file {args.params} must hold a JSON object")
    for f in fields(FitParams):
        v = getattr(args, f"p_{f.name}", None)
        if v is not None:
            base[f.name] = v
    return FitParams.from_dict(base)


def add_input_arguments(g: argparse._ArgumentGroup) -> None:
    """How images become silhouettes and cameras (shared with `softfit batch`)."""
    g.add_argument("--cameras", help="for plain image folders: turntable[:views=72,distance=2.732,"
                   "elevation=0,fov=60], sfm[:...] (structure-from-motion), colmap:DIR (a COLMAP sparse "
                   "model, read directly) or a transforms.json")
    g.add_argument("--silhouette", default="auto",
                   help="alpha | mask | auto, or a segmentation method for plain photos: threshold | "
                   "grabcut | backdrop:backdrop=EMPTY.png | deeplab:weights=FILE,sha256=HEX | segment "
                   "(lets softfit choose); default auto (alpha, else masks)")
    g.add_argument("--image-size", type=int, default=256,
                   help="long side in pixels after downsizing (0 = as stored; never enlarged)")


def add_init_arguments(g: argparse._ArgumentGroup) -> None:
    """The initial mesh (shared with `softfit batch`)."""
    g.add_argument("--init", default=None,
                   help="sphere, bbox2d, bbox, hull, or a mesh file (.obj/.ply); "
                   "default: hull, falling back to bbox, then sphere")
    g.add_argument("--polys", type=_polys, default=DEFAULT_POLYS,
                   help=f"triangles of a generated initial mesh, or auto (default {DEFAULT_POLYS})")
    g.add_argument("--radius", type=float, default=0.5, help="sphere radius in world units (default 0.5)")
    g.add_argument("--center", type=_csv3, default=(0.0, 0.0, 0.0),
                   help="sphere centre X,Y,Z (default 0,0,0)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", metavar="DATA",
                        help="transforms.json folder, image folder, ALOI object folder, "
                        "SoftRas source.npy/camera.npy folder or ShapeNet .npz")
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


def _csv3(text: str) -> tuple[float, float, float]:
    try:
        x, y, z = (float(v) for v in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected X,Y,Z, got {text!r}") from exc
    return x, y, z


# -- steps ------------------------------------------------------------------------------------------


def load_data(args: argparse.Namespace) -> MultiViewData:
    from softfit.data.load import load_dataset

    size = args.image_size if args.image_size and args.image_size > 0 else None
    return load_dataset(args.data, cameras=args.cameras, silhouette=args.silhouette, image_size=size,
                        object_index=args.object)


def choose_init(name: str | None, data: MultiViewData, polys: int | str | None, radius: float = 0.5,
                center: tuple[float, float, float] = (0.0, 0.0, 0.0), quiet: bool = True,
                params: FitParams | None = None) -> tuple[str, Mesh]:
    """(name, mesh): `name` if given (its errors are the user's to see), else the first default that
    works on these silhouettes (a visual hull needs every view to see the whole object, for one).

    With `params`, the mesh is built from the fit's training views only: a hull or box carved from the
    held-out views too would have seen them, and their IoU would no longer be held out."""
    if params is not None:
        from softfit.fit.views import split_views

        data = data.subset(split_views(data.cameras, params.holdout, params.seed)[0])
    if name is not None:
        return name, make_init(name, data, polys, radius, center)
    problems = []
    for cand in default_inits():
        try:
            return cand, make_init(cand, data, polys, radius, center)
        except InputError as exc:
            problems.append(f"{cand}: {exc}")
            if not quiet:
                print(f"initial mesh {cand} failed ({exc}); trying the next one", file=sys.stderr)
    raise InputError("no initial mesh could be built: " + "; ".join(problems))


def make_init(name: str, data: MultiViewData, polys: int | str | None, radius: float,
              center: tuple[float, float, float]) -> Mesh:
    """sphere and mesh files are built here; any other name is looked up in softfit.init."""
    suffix = Path(name).suffix.lower()
    if name == "sphere":
        from softfit.mesh.sphere import uv_sphere

        if polys == "auto":
            from softfit.init import resolve_polys

            polys = resolve_polys("auto", data.silhouettes)
        return uv_sphere(DEFAULT_POLYS if polys is None else int(polys), radius, center)
    if suffix in (".obj", ".ply"):
        from softfit.mesh.io import load_mesh

        if not Path(name).is_file():
            raise InputError(f"initial mesh file not found: {name}")
        return load_mesh(name)
    try:
        from softfit.init import make_initial_mesh
    except ImportError as exc:
        raise InputError(f"unknown initial mesh {name!r}: use sphere or a .obj/.ply file") from exc
    return make_initial_mesh(name, data, DEFAULT_POLYS if polys is None else polys)


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


def run_fit(data: MultiViewData, init: Mesh, params: FitParams, quiet: bool = False,
            callback=None) -> FitResult:
    """fit() with a tqdm progress bar (iteration, loss, IoU) and Ctrl-C as a clean stop."""
    from tqdm import tqdm

    cancel = threading.Event()
    bar = tqdm(total=params.iterations, disable=quiet, unit="it", dynamic_ncols=True, file=sys.stderr,
               desc="fit")

    def on_progress(p: Progress) -> None:
        bar.update(1)
        if p.iteration % 5 == 0 or p.iteration == p.iterations - 1:
            bar.set_postfix(loss=f"{p.loss:.4f}", iou=f"{p.iou:.4f}", refresh=False)
        if callback is not None:
            callback(p)

    try:
        with sigint_cancels(cancel):
            result = fit(data, init, params, callback=on_progress, cancel=cancel)
    finally:
        bar.close()
    if cancel.is_set() and result.metrics.get("stop_reason") == "cancelled":
        result.metrics["stop_reason"] = "interrupted"  # the only way the CLI cancels is Ctrl-C
    return result


def summary(result: FitResult, out: Path) -> str:
    m = result.metrics
    lines = [f"fitted {m['mesh']['verts']} vertices in {m['iterations']} iterations, {m['fit_time']:.1f} s "
             f"on {m['device']} ({m['stop_reason']})",
             f"train IoU {m['train_iou']:.4f}"]
    if m.get("heldout_iou") is not None:
        lines.append(f"held-out IoU {m['heldout_iou']:.4f} over {len(m['heldout_views'])} views "
                     f"(min {min(m['heldout_iou_per_view']):.4f})")
    if m.get("chamfer"):
        c = m["chamfer"]
        rel = f" ({100 * c['chamfer_rel']:.2f} % of the object's size)" if c.get("chamfer_rel") else ""
        lines.append(f"Chamfer distance {c['chamfer']:.4g}{rel}")
    lines.append(f"results in {out}: mesh.obj, mesh.ply, metrics.json, loss.png, overlays.png")
    return "\n".join(lines)


def fit_and_report(args: argparse.Namespace, data: MultiViewData, init: Mesh, params: FitParams,
                   gt: Mesh | None, extra: dict, callback=None) -> tuple[FitResult, Path]:
    """The part shared with `softfit demo`: fit, add Chamfer and inputs to the metrics, write DIR."""
    from softfit.metrics import chamfer_distance
    from softfit.report import write_report

    result = run_fit(data, init, params, quiet=args.quiet, callback=callback)
    if gt is not None:
        result.metrics["chamfer"] = chamfer_distance(result.mesh, gt, seed=params.seed)
    result.metrics["input"] = extra | {"views": len(data), "data_info": data.info,
                                       "init_verts": init.n_verts, "init_faces": init.n_faces}
    out = write_report(args.out, result, data, force=args.force, turntable=args.turntable,
                       device=result.metrics["device"])
    return result, out


def run(args: argparse.Namespace) -> int:
    from softfit.report import check_output_dir

    params = params_from_args(args)
    check_output_dir(args.out, args.force)
    data = load_data(args)
    init_name, init = choose_init(args.init, data, args.polys, args.radius, args.center, args.quiet,
                                  params=params)
    gt = None
    if args.gt_mesh:
        from softfit.mesh.io import load_mesh

        if not Path(args.gt_mesh).is_file():
            raise InputError(f"ground-truth mesh not found: {args.gt_mesh}")
        gt = load_mesh(args.gt_mesh)
    extra = {"data": str(args.data), "cameras": args.cameras, "silhouette": args.silhouette,
             "image_size": args.image_size, "object": args.object, "init": init_name, "polys": args.polys,
             "gt_mesh": args.gt_mesh}
    result, out = fit_and_report(args, data, init, params, gt, extra)
    if not args.quiet:
        print(summary(result, out))
    return 130 if result.metrics["stop_reason"] == "interrupted" else 0


__all__ = ["add_arguments", "add_fit_params", "choose_init", "default_inits", "fit_and_report", "load_data",
           "make_init", "params_from_args", "run", "run_fit", "summary"]

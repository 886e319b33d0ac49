"""Options shared by `softfit fit`, `softfit batch` and `softfit demo`: one per FitParams field
(`views_per_step` -> `--views-per-step`), so the CLI never drifts from the engine, plus the input and
initial-mesh options."""

from __future__ import annotations

import argparse
import json
from dataclasses import MISSING, fields
from pathlib import Path

from softfit.errors import InputError
from softfit.fit import FitParams
from softfit.pipeline import DEFAULT_POLYS, InitSpec, Inputs


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


def polys_option(text: str) -> int | str:
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
                   "model, read directly) or a transforms.json; for SoftRas data: softras:viewing_angle=DEG "
                   "(default 15, as SoftRas renders its data)")
    g.add_argument("--silhouette", default="auto",
                   help="alpha | mask | auto, or a segmentation method for plain photos: threshold | "
                   "grabcut | backdrop:backdrop=EMPTY.png | deeplab:weights=FILE,sha256=HEX | segment "
                   "(lets softfit choose); default auto (alpha, else masks)")
    g.add_argument("--image-size", type=int, default=256,
                   help="long side in pixels after downsizing (0 = as stored; never enlarged)")
    g.add_argument("--allow-outside-paths", action="store_true",
                   help="let a transforms.json name images and masks outside its own folder (absolute or "
                   "../ paths); refused by default")


def add_init_arguments(g: argparse._ArgumentGroup) -> None:
    """The initial mesh (shared with `softfit batch`)."""
    g.add_argument("--init", default=None,
                   help="sphere, bbox2d, bbox, hull, or a mesh file (.obj/.ply in the cameras' world: Z up, "
                   "same units; checked against the silhouettes); default: hull, falling back to bbox, "
                   "then sphere")
    g.add_argument("--polys", type=polys_option, default=DEFAULT_POLYS,
                   help="triangles of a generated initial mesh (a fixed topology), or auto: as many as the "
                   "images support (the initial size from the silhouettes, then remeshing during the fit "
                   f"decides the final count; see --remesh) (default {DEFAULT_POLYS})")
    g.add_argument("--radius", type=float, default=0.5, help="sphere radius in world units (default 0.5)")
    g.add_argument("--center", type=_csv3, default=(0.0, 0.0, 0.0),
                   help="sphere centre X,Y,Z (default 0,0,0)")


def add_quads_argument(g: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """--quads [FACES] (softfit fit): also a quad mesh, kept within a stated distance of the fit."""
    g.add_argument("--quads", type=_quad_count, nargs="?", const=0, default=None, metavar="FACES",
                   help="also write mesh_quads.obj, a QuadriFlow quad remesh of the fit (Blender's, needs "
                        "the bpy module: pip install 'softfit[blender]'), checked to stay within 0.5 %% of "
                        "the object's size; FACES: quads to aim for (default half the triangles, doubled "
                        "until within tolerance)")


def _quad_count(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of faces, got {text!r}") from None
    if not 0 <= n <= 1_000_000:
        raise argparse.ArgumentTypeError(f"quad faces must be between 1 and 1000000 (0 = automatic), got {n}")
    return n


def add_texture_argument(g: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """--no-texture, --texture-refine (softfit fit, demo and batch): the texture is baked by default; its
    refinement against the photos is opt-in (on the texture benchmark it moved held-out PSNR by ≤ 0.2 dB
    for seconds of CPU: `benchmarks/texture.md`)."""
    g.add_argument("--no-texture", dest="texture", action="store_false",
                   help="skip the texture (mesh.glb, mesh.mtl, texture.png): an untextured mesh only")
    g.add_argument("--texture-refine", dest="texture_refine", action="store_true",
                   help="refine the baked texture by differentiable rendering against the training photos "
                   "(a few seconds more)")


def _csv3(text: str) -> tuple[float, float, float]:
    try:
        x, y, z = (float(v) for v in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected X,Y,Z, got {text!r}") from exc
    return x, y, z


def inputs_from_args(args: argparse.Namespace, data: str | None = None) -> Inputs:
    return Inputs(data if data is not None else args.data, args.cameras, args.silhouette, args.image_size,
                  getattr(args, "object", None), getattr(args, "allow_outside_paths", False))


def init_from_args(args: argparse.Namespace) -> InitSpec:
    return InitSpec(args.init, args.polys, args.radius, args.center)

"""`softfit dataset render SOURCE... --out DIR`: ground-truth datasets rendered with Blender (bpy)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from softfit.dataset.options import BACKGROUNDS, BUILTINS, ENGINES, FINISHES, LAYOUTS, TEXTURES
from softfit.dataset.suite import ALL_SCENES, DEV_SCENES, SCENES, scene_spec
from softfit.errors import InputError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="dataset_command", metavar="ACTION", required=True)
    add_render_arguments(sub.add_parser("render", help="render a mesh into a dataset folder"))


def scene_name(value: str) -> str:
    """A `--scene` value: a named scene or a drawn one (`drawn-SEED-INDEX`), as `scene_spec` knows them."""
    try:
        scene_spec(value)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def add_render_arguments(p: argparse.ArgumentParser) -> None:
    """The `render` options; scripts/render_dataset.py (inside Blender) parses the same ones."""
    p.add_argument("source", nargs="*", metavar="SOURCE",
                   help=f"mesh file (.obj/.ply/.stl, Z up) or built-in: {', '.join(BUILTINS)}; "
                        "several only with --layout softras --npz; none with --scene")
    names = ",".join([*ALL_SCENES, "drawn-SEED-INDEX"])  # listed whole in the usage line, as choices are
    p.add_argument("--scene", type=scene_name, metavar=f"{{{names}}}",
                   help="a photoreal Cycles scene instead of a mesh: " + "; ".join(
                       f"{k}: {v.description}" for k, v in SCENES.items()).replace("%", "%%")
                   + f" (development scenes, never benchmarked: {', '.join(DEV_SCENES)}; drawn-SEED-INDEX: "
                     "a scene drawn at random, the same for the same name)"
                   + ". RGB photos + transforms.json; true masks and mesh under truth/ (never read by a "
                     "fit). --views, --size, --samples, --seed override the scene's own")
    p.add_argument("--out", required=True, type=Path, help="output folder (must be empty unless --force)")
    p.add_argument("--force", action="store_true", help="replace a non-empty output folder")
    p.add_argument("--layout", choices=LAYOUTS, default="transforms",
                   help="transforms (default): images/, masks/, transforms.json; aloi: png2/, mask2/; "
                        "softras: source.npy + camera.npy (or objects.npz with --npz)")
    p.add_argument("--npz", action="store_true",
                   help="softras: one objects.npz, arr_0 (K, 24, 4, S, S), for K sources")
    p.add_argument("--views", type=int, help="number of views (transforms 36, aloi 72, softras 120)")
    p.add_argument("--size", help="image size W or WxH (transforms 256, aloi 384x288, softras 64)")
    p.add_argument("--cameras", default="turntable",
                   help="turntable | rings | random (seeded) | a transforms.json to render at (its "
                        "cameras, count and image size replace --views, --size, --elevation, --fov)")
    p.add_argument("--elevation",
                   help="degrees: turntable one value (default 30, aloi 0); rings one per ring "
                        "(default 10,35,60); random MIN,MAX (default -90,90)")
    p.add_argument("--distance", type=float, default=2.732, help="camera distance from the origin")
    p.add_argument("--fov", type=float, default=None, help="field of view across the longer side, degrees "
                   "(default 60; 30 for the softras layout, as SoftRas renders its data)")
    p.add_argument("--scale", type=float, default=1.0, help="object scale (after normalisation)")
    p.add_argument("--offset", default="0,0,0", help="object offset X,Y,Z in world units")
    p.add_argument("--normalize", action="store_true",
                   help="fit a mesh file into a unit box at the origin first (built-ins always are)")
    p.add_argument("--background", choices=BACKGROUNDS,
                   help="transparent (RGBA), black, or backdrop (textured walls and floor, shadows)")
    p.add_argument("--engine", choices=ENGINES, default="auto",
                   help="image renderer: workbench (fast, no shadows without a GPU) or cycles (CPU path "
                        "tracing); auto: cycles for the backdrop, else workbench")
    p.add_argument("--texture", choices=TEXTURES, default="none",
                   help="none: one flat colour; noise: high-contrast colour noise fixed to the object, the "
                        "same from every view (what structure-from-motion needs); paint: smooth colour "
                        "blotches (the texture benchmark's surface); masks stay exact")
    p.add_argument("--finish", choices=FINISHES, default="satin",
                   help="the object's surface: satin (default; a Fresnel sheen at grazing angles) or matte "
                        "(diffuse only)")
    p.add_argument("--plates", action="store_true",
                   help="with --background backdrop: also render every view without the object (plates/), "
                        "to lay renders of a fitted object into the scene")
    p.add_argument("--samples", type=int, help="Cycles samples per pixel (default 8; a --scene its own)")
    p.add_argument("--seed", type=int,
                   help="seed of --cameras random and of --texture (default 0; a --scene its own)")
    p.add_argument("--name", help="object name (ALOI folder and file names); default: the source's name")


def options_from_args(args: argparse.Namespace) -> dict:
    """render_dataset keyword options from parsed arguments."""
    keys = ("layout", "npz", "views", "size", "cameras", "elevation", "distance", "fov", "scale", "offset",
            "background", "engine", "texture", "finish", "samples", "seed", "name")
    opts = {k: getattr(args, k) for k in keys}
    opts["normalize"] = True if args.normalize else None
    opts["plates"] = True if args.plates else None
    return {k: v for k, v in opts.items() if v is not None}


def run(args: argparse.Namespace, in_process: bool = False) -> int:
    from softfit.dataset.render import render_dataset

    t0 = time.perf_counter()
    if args.scene:
        from softfit.dataset.render import render_scene

        if args.source:
            raise InputError("--scene renders its own object: give no SOURCE")
        out = render_scene(args.scene, args.out, force=args.force, in_process=in_process, views=args.views,
                           size=args.size, samples=args.samples, seed=args.seed)
        print(f"wrote {out} in {time.perf_counter() - t0:.1f} s")
        return 0
    if not args.source:
        raise InputError("give a SOURCE mesh (or --scene NAME)")
    out = render_dataset(args.source, args.out, force=args.force, in_process=in_process,
                         **options_from_args(args))
    print(f"wrote {out} in {time.perf_counter() - t0:.1f} s")
    return 0

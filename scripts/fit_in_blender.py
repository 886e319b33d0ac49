"""Fit from the command line inside Blender, through the same add-on code and backend as the panel.

    blender --background --python scripts/fit_in_blender.py -- INPUT [options] --save result.blend
    .venv/bin/python scripts/fit_in_blender.py INPUT [options] --save result.blend   (the bpy module)

Sets up the cameras, adds the initial mesh (--init: auto = the visual hull when the views allow it,
sphere, hull or bbox), runs the fit on a backend with a blocking loop, since timers do not fire in
background mode, then saves the .blend (cameras + fitted object) and, with --out, mesh.obj, mesh.ply
and metrics.json. The objects already in the opened file are kept (--clear-scene removes them first).

The add-on is used as installed in Blender when it is enabled there, and then so is its backend from
the preferences (local interpreter or remote address); --python or --address (with --token-file or
$SOFTFIT_TOKEN) override them. Otherwise
it is staged from this checkout by build_extension.stage (addon/ + the backend's wire and core files, as
the zip holds them) and imported from there, with the checkout's .venv as the backend.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sys
import zipfile
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
# Per-run staging inside the checkout (so the add-on finds the checkout's .venv), removed at the end.
RUN_DIR = ROOT / "build" / "extension" / f"run-{os.getpid()}"
PACKAGE = "softfit_addon"


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="fit_in_blender.py", description=__doc__.splitlines()[0])
    ap.add_argument("input", help="image folder, transforms.json, ALOI object folder or SoftRas file")
    ap.add_argument("--kind", default="AUTO", choices=["AUTO", "TRANSFORMS", "ALOI", "FOLDER", "SOFTRAS"])
    ap.add_argument("--cameras", default="file", choices=["file", "turntable"])
    ap.add_argument("--distance", type=float, default=2.732, help="turntable distance")
    ap.add_argument("--elevation", type=float, default=0.0, help="turntable elevation (degrees)")
    ap.add_argument("--fov", type=float, default=60.0, help="turntable field of view over the longer side")
    ap.add_argument("--start", type=float, default=0.0, help="turntable: azimuth of the first view")
    ap.add_argument("--clockwise", action="store_true", help="turntable: the object turned clockwise")
    ap.add_argument("--object", type=int, default=0, help="object index in a ShapeNet .npz archive")
    ap.add_argument("--silhouette", default="auto",
                    choices=["auto", "alpha", "mask", "threshold", "grabcut", "backdrop", "deeplab"])
    ap.add_argument("--image-size", type=int, default=256, help="longer side in pixels (0: source size)")
    ap.add_argument("--init", default="auto", choices=["auto", "sphere", "hull", "bbox"],
                    help="initial mesh: auto = visual hull when the views allow it, else the sphere")
    ap.add_argument("--polys", type=int, default=2000, help="triangles of the initial mesh")
    ap.add_argument("--radius", type=float, default=0.5)
    ap.add_argument("--center", default="0,0,0", help="sphere centre X,Y,Z")
    for name, kind in (("iterations", int), ("lr", float), ("views-per-step", int), ("holdout", float),
                       ("seed", int)):  # unset: the backend's FitParams default, as in the panel
        ap.add_argument(f"--{name}", type=kind, default=None, help="default: the backend's")
    ap.add_argument("--device", default=None, choices=["auto", "cpu", "cuda"], help="default: the backend's")
    ap.add_argument("--params", default="", help="more fit parameters as JSON")
    ap.add_argument("--python", default="", help="backend interpreter (default: the checkout's .venv)")
    ap.add_argument("--server-args", default="", help="extra arguments for `softfit serve`")
    ap.add_argument("--address", default="", help="remote backend tcp://host:port (instead of --python)")
    ap.add_argument("--token-file", type=Path, default=None,
                    help="file holding the remote backend's token (else $SOFTFIT_TOKEN; never on the "
                    "command line, where every user sees it)")
    ap.add_argument("--server-key", default="", help="remote backend's CURVE public key")
    ap.add_argument("--client-key", default="", help="this client's NAME.key_secret (`softfit keys client`)")
    ap.add_argument("--timeout", type=float, default=None, help="cancel the fit after this many seconds")
    ap.add_argument("--clear-scene", action="store_true",
                    help="remove the objects already in the opened file first (default: keep them)")
    ap.add_argument("--keep-scene", action="store_true", help=argparse.SUPPRESS)  # the default now
    ap.add_argument("--save", type=Path, help="write the .blend here")
    ap.add_argument("--out", type=Path, help="folder for mesh.obj, mesh.ply and metrics.json")
    return ap.parse_args(argv)


def _token(args) -> str:
    if args.token_file is not None:
        return args.token_file.read_text().strip()
    return os.environ.get("SOFTFIT_TOKEN", "")


def script_args() -> list[str]:
    """Arguments after `--` under Blender; all of them under plain Python."""
    return sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]


def installed_addon() -> ModuleType | None:
    """The add-on as Blender enabled it (bl_ext.<repo>.softfit), if it is."""
    for name, mod in list(sys.modules.items()):
        if name.startswith("bl_ext.") and name.endswith(".softfit") and hasattr(mod, "register"):
            return mod
    return None


def _wheel_for_platform(folder: Path) -> Path | None:
    key = {"linux": "manylinux", "win32": "win_amd64", "darwin": "macosx"}.get(sys.platform, "?")
    return next((w for w in sorted(folder.glob("*.whl")) if key in w.name), None)


def staged_addon() -> ModuleType:
    """Stage the add-on from this checkout as the zip would hold it (build_extension.stage: addon/ + the
    backend's wire and core files) and import it as a package (relative imports work)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import build_extension

    try:
        import zmq  # noqa: F401
        have_zmq = True
    except ImportError:
        have_zmq = False
    folder = build_extension.stage(RUN_DIR / "softfit", wheels=not have_zmq)
    if not have_zmq:  # Blender's own Python: unpack the bundled pyzmq wheel
        wheel = _wheel_for_platform(folder / "wheels")
        if wheel is None:
            raise SystemExit(f"fit_in_blender: no pyzmq wheel for {sys.platform} in {folder / 'wheels'}")
        with zipfile.ZipFile(wheel) as z:
            z.extractall(RUN_DIR / "site")
        sys.path.insert(0, str(RUN_DIR / "site"))
    spec = importlib.util.spec_from_file_location(PACKAGE, folder / "__init__.py",
                                                  submodule_search_locations=[str(folder)])
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = mod
    spec.loader.exec_module(mod)
    return mod


def configure(bpy: ModuleType, args: argparse.Namespace) -> None:
    s = bpy.context.scene.softfit
    s.input_path = str(Path(args.input).resolve())
    s.input_kind, s.camera_source = args.kind, args.cameras.upper()
    s.tt_distance, s.tt_elevation, s.tt_fov = args.distance, args.elevation, args.fov
    s.tt_start, s.tt_clockwise = args.start, args.clockwise
    s.object_index, s.silhouette, s.image_size = args.object, args.silhouette.upper(), args.image_size
    s.init_polys, s.init_radius, s.init_method = args.polys, args.radius, args.init.upper()
    s.init_center = [float(x) for x in args.center.split(",")]
    for name in ("iterations", "lr", "views_per_step", "holdout", "seed", "device"):
        if getattr(args, name) is not None:  # only what was given is set, so only that is sent
            setattr(s, name, getattr(args, name))
    s.extra_params = args.params


def run(args: argparse.Namespace) -> int:
    import bpy

    addon = installed_addon()
    registered_here = addon is None
    if addon is None:
        addon = staged_addon()
        addon.register()
    from importlib import import_module

    pkg = addon.__name__
    fitting = import_module(f"{pkg}.blender.fitting")
    streaming = import_module(f"{pkg}.blender.streaming")
    meshfile = import_module(f"{pkg}.logic.meshfile")
    meshes = import_module(f"{pkg}.blender.meshes")
    session = import_module(f"{pkg}.logic.session")
    tasks = import_module(f"{pkg}.blender.tasks")
    ops_mesh = import_module(f"{pkg}.blender.ops_mesh")
    errors = import_module(f"{pkg}.logic.errors")
    wire_errors = import_module(f"{pkg}.wire.errors")
    try:
        if args.clear_scene:
            for obj in list(bpy.data.objects):
                bpy.data.objects.remove(obj)
        configure(bpy, args)
        prefs = None if registered_here else import_module(f"{pkg}.blender.preferences")
        config = backend(bpy, args, session, prefs)
        try:
            bpy.ops.softfit.setup_scene()
        except RuntimeError as exc:  # the operator's error report
            print(f"fit_in_blender: {exc}".strip(), file=sys.stderr)
            return 2
        tasks.wait()  # the views are read and the cameras built over timer ticks (SfM: by the backend)
        status = getattr(bpy.context.window_manager, "softfit", None)
        if status is not None and status.error:
            print(f"fit_in_blender: error: {status.message}", file=sys.stderr)
            return 2
        method = ops_mesh.resolve_method(args.init.upper(), True)
        if method == "SPHERE":
            ops_mesh.add_sphere_now(bpy.context)
        else:
            made: list = []
            tasks.wait(ops_mesh.request_initial(bpy.context, method, config,
                                                on_end=lambda obj, msg: made.append((obj, msg))))
            if not made or made[0][0] is None:
                print(f"fit_in_blender: error: {made[0][1] if made else 'no initial mesh'}", file=sys.stderr)
                return 2
        job = fitting.start_blocking(bpy.context, config=config)
        print(f"fit_in_blender: {job.kind} running on {session.get().summary()}")
        streaming.run_blocking(job, timeout=args.timeout)
        if job.outcome == "failed":
            print(f"fit_in_blender: error: {job.message}", file=sys.stderr)
            return 1
        print(f"fit_in_blender: {job.message} ({job.frames_applied} frames streamed)")
        obj = bpy.data.objects[job.object_name]
        if args.out is not None:
            args.out.mkdir(parents=True, exist_ok=True)
            verts, faces = meshes.read_world(obj)
            meshfile.save_mesh(args.out / "mesh.obj", verts, faces)
            meshfile.save_mesh(args.out / "mesh.ply", verts, faces)
            (args.out / "metrics.json").write_text(json.dumps(job.metrics, indent=2))
        if args.save is not None:
            bpy.ops.wm.save_as_mainfile(filepath=str(args.save.resolve()))
            print(f"fit_in_blender: saved {args.save}")
        return 0
    except (errors.InputError, wire_errors.WireError) as exc:
        print(f"fit_in_blender: error: {exc}", file=sys.stderr)
        return 2
    finally:
        if registered_here:
            addon.unregister()
        else:
            session.disconnect()


def backend(bpy: ModuleType, args: argparse.Namespace, session: ModuleType, preferences: ModuleType | None
            ) -> object:
    """The backend to use: --address / --python when given, else the installed add-on's preferences,
    else (staged add-on) the interpreter running this script when it has softfit, or the checkout's .venv."""
    if not args.address and not args.python and preferences is not None:
        return preferences.backend_config(bpy.context)
    mode = "REMOTE" if args.address else "LOCAL"
    # Plain Python with softfit installed is a backend itself; Blender's Python is not.
    python = args.python or (sys.executable if _has_softfit() else "")
    return session.BackendConfig(mode=mode, python=python, args=args.server_args, address=args.address,
                                 token=_token(args), server_key=args.server_key, client_key=args.client_key)


def _has_softfit() -> bool:
    return importlib.util.find_spec("softfit") is not None


def main() -> int:
    try:
        return run(parse_args(script_args()))
    finally:
        shutil.rmtree(RUN_DIR, ignore_errors=True)


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.exit(code)

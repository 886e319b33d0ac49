"""Operator: Set up Scene (a camera per view with its image as background, silhouettes overlaid); with the
SfM camera source it first asks the backend for the cameras (`Client.prepare`) in a worker thread and
builds the scene when they arrive."""

from __future__ import annotations

from collections.abc import Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING

import bpy
import numpy as np

from ..core.cameras import Cameras, parse_transforms
from ..logic import backend_path, convert, session
from ..logic.errors import InputError, in_panel_terms
from ..logic.session import BackendConfig
from ..wire.errors import WireError
from . import inputs, tasks, userdata
from .blend import scene, settings, status
from .preferences import backend_config
from .scene_setup import build_cameras_steps

if TYPE_CHECKING:
    from bpy.stub_internal.rna_enums import OperatorReturnItems

SFM_SPEC = "sfm"
SFM_TIMEOUT = 600.0  # SfM over many large views takes minutes on a CPU backend
TASK = "sfm"
SETUP_TASK = "setup"


class NeedSfm(Exception):
    """Raised by the SfM callback on the main thread: the views to send, so SfM can run in a worker."""

    def __init__(self, rgba: np.ndarray):
        super().__init__("SfM cameras are needed")
        self.rgba = rgba


def _need_sfm(rgba: np.ndarray) -> Cameras:
    raise NeedSfm(rgba)


def request_sfm(context: bpy.types.Context, rgba: np.ndarray, config: BackendConfig | None = None,
                on_end: Callable[[str, bool], None] | None = None) -> tasks.Task:
    """The backend's SfM in a worker thread; on the main thread the views are loaded with its cameras
    and the scene is built. `on_end(message, error)` at the end."""
    cfg = config if config is not None else backend_config(context)

    def work() -> tuple[Cameras, str, bool]:
        sess = session.connect(cfg)
        with sess.lock:
            assert sess.client is not None
            reply = sess.client.prepare(None, rgba, None, init=None, cameras=SFM_SPEC, timeout=SFM_TIMEOUT)
        if reply.transforms is None:
            raise InputError("the backend sent no SfM cameras")
        cams, _frames = parse_transforms(reply.transforms, None, "the backend's SfM cameras")
        return cams, reply.message, reply.fallback

    def done(result: tuple[Cameras, str, bool]) -> None:
        cams, message, fallback = result

        def built(names: int) -> None:
            text = f"{names} SfM cameras: {message[:300]}"
            _report(text, False)
            if on_end is not None:
                on_end(text, fallback)

        setup_async(bpy.context, sfm=lambda _rgba: cams, on_built=built, on_error=failed)

    def failed(exc: BaseException) -> None:
        _report(f"SfM: {exc}", True)
        if on_end is not None:
            on_end(str(exc), True)

    _report("the backend is estimating the cameras (SfM)", False)
    return tasks.run(TASK, "estimating cameras (SfM)", work, done, failed)


def setup_async(context: bpy.types.Context, sfm: inputs.SfmCameras | None = None,
                on_built: Callable[[int], None] | None = None,
                on_error: Callable[[BaseException], None] | None = None) -> tasks.Task:
    """Read the views (worker thread, images read on the main thread a few per tick) and build the
    cameras one per tick; `on_built(number of cameras)` at the end. Without `sfm`, the SfM camera source
    first asks the backend for the cameras (request_sfm), which comes back here."""

    def built(loaded: inputs.Loaded) -> Generator[None, None, None]:
        views, data = loaded
        try:
            yield from build_cameras_steps(scene(bpy.context), views, data)
        except (InputError, ReferenceError, RuntimeError) as exc:
            failed(exc)
            return
        where = ("silhouettes from " + data.method.lower() if data.silhouettes is not None else
                 f"silhouettes by the backend ({data.method.lower()})")
        if data.why:
            where += f" because {data.why}"
        _report(f"{len(data.names)} cameras at {data.cameras.width}x{data.cameras.height}, {where}", False)
        if on_built is not None:
            on_built(len(data.names))

    def failed(exc: BaseException) -> None:
        if isinstance(exc, NeedSfm):
            request_sfm(bpy.context, exc.rgba)
            return
        _report(f"Set up Scene: {exc}", True)
        if on_error is not None:
            on_error(exc)

    _report("reading the views", False)
    return inputs.load_async(settings(context), SETUP_TASK, "reading the views", built, failed,
                             sfm=sfm if sfm is not None else _need_sfm)


def _report(message: str, error: bool) -> None:
    message = in_panel_terms(message)
    st = status()
    if st is not None and not st.running:
        st.message, st.error = message, error
    print(f"SoftFit: {'error: ' if error else ''}{message}")


class SOFTFIT_OT_setup_scene(bpy.types.Operator):
    """Create a camera for every view, with its image as the camera background and its silhouette
    overlaid, so the alignment can be checked"""

    bl_idname = "softfit.setup_scene"
    bl_label = "Set up Scene"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context: bpy.types.Context) -> set[OperatorReturnItems]:
        """Returns at once: the views are read and the cameras built over the next timer ticks (the panel
        and the Info line say when they are there, or what went wrong)."""
        if tasks.busy(TASK) is not None or tasks.busy(SETUP_TASK) is not None:
            self.report({"ERROR"}, "SoftFit: the scene is still being set up")
            return {"CANCELLED"}
        try:
            path = settings(context).input_options().path
            if not path:
                raise InputError("choose the input (images folder, transforms.json or SoftRas file) first")
            if not Path(path).exists():
                raise InputError(f"input not found: {path}")
            setup_async(context)
        except (InputError, WireError) as exc:
            self.report({"ERROR"}, f"SoftFit: {in_panel_terms(str(exc))}")
            return {"CANCELLED"}
        self.report({"INFO"}, "SoftFit: reading the views")
        return {"FINISHED"}


CONVERT_TASK = "convert"


class SOFTFIT_OT_read_with_backend(bpy.types.Operator):
    """Read an input Blender cannot decode (a video, a COLMAP project, HEIC photos) with the local
    backend: it writes the views and cameras into a folder the add-on reads, and the scene is set up"""

    bl_idname = "softfit.read_with_backend"
    bl_label = "Read with Backend"

    def execute(self, context: bpy.types.Context) -> set[OperatorReturnItems]:
        """Returns at once: `softfit views` runs in a child process (SfM and segmentation of a video take
        minutes); then the input becomes its output folder and Set up Scene runs."""
        if tasks.busy(CONVERT_TASK) is not None:
            self.report({"ERROR"}, "SoftFit: the backend is still reading the input")
            return {"CANCELLED"}
        try:
            opts = settings(context).input_options()
            if not opts.path:
                raise InputError("choose the input (a video, a COLMAP project, a folder of photos) first")
            source = Path(opts.path)
            if not source.exists():
                raise InputError(f"input not found: {source}")
            cfg = backend_config(context)
            python = backend_path.local_python(cfg.python, session.ADDON_DIR)
            if cfg.mode != "LOCAL" or python is None or not python.is_file():
                raise InputError("reading the input with the backend needs a local backend (it reads the "
                                 "input's files): install one in the preferences")
            out = userdata.user_dir() / "views" / (source.stem or "input")
            cameras = convert.camera_option(opts.camera_source, opts.turntable)
        except InputError as exc:
            self.report({"ERROR"}, f"SoftFit: {in_panel_terms(str(exc))}")
            return {"CANCELLED"}

        def done(printed: str) -> None:
            s = settings(bpy.context)
            s.input_path, s.camera_source = str(out), "FILE"  # its transforms.json holds the cameras
            _report(f"{source.name} read by the backend into {out}: "
                    + (printed.splitlines()[-1] if printed else "done"), False)
            setup_async(bpy.context)

        tasks.run(CONVERT_TASK, f"reading {source.name} with the backend",
                  lambda: convert.write_views(python, source, out, cameras), done,
                  lambda exc: _report(f"Read with Backend: {exc}", True))
        self.report({"INFO"}, f"SoftFit: the backend is reading {source.name}")
        return {"FINISHED"}


CLASSES = (SOFTFIT_OT_setup_scene, SOFTFIT_OT_read_with_backend)

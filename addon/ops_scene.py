"""Operator: Set up Scene (a camera per view with its image as background, silhouettes overlaid); with the
SfM camera source it first asks the backend for the cameras (`Client.prepare`) in a worker thread and
builds the scene when they arrive."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import bpy
import numpy as np

from . import inputs, session, tasks
from .blend import scene, settings, status
from .core.cameras import Cameras, parse_transforms
from .errors import InputError
from .preferences import backend_config
from .scene_setup import build_cameras
from .session import BackendConfig
from .wire.errors import WireError

if TYPE_CHECKING:
    from bpy.stub_internal.rna_enums import OperatorReturnItems

SFM_SPEC = "sfm"
SFM_TIMEOUT = 600.0  # SfM over many large views takes minutes on a CPU backend
TASK = "sfm"


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
        try:
            ctx = bpy.context
            views, data = inputs.load(settings(ctx), reload=True, sfm=lambda _rgba: cams)
            build_cameras(scene(ctx), views, data)
        except (InputError, WireError) as exc:
            failed(exc)
            return
        text = f"{len(data.names)} SfM cameras: {message[:300]}"
        _report(text, False)
        if on_end is not None:
            on_end(text, fallback)

    def failed(exc: BaseException) -> None:
        _report(f"SfM: {exc}", True)
        if on_end is not None:
            on_end(str(exc), True)

    _report("the backend is estimating the cameras (SfM)", False)
    return tasks.run(TASK, "estimating cameras (SfM)", work, done, failed)


def _report(message: str, error: bool) -> None:
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
        try:
            if tasks.busy(TASK) is not None:
                raise InputError("the backend is still estimating the cameras")
            try:
                views, data = inputs.load(settings(context), reload=True, sfm=_need_sfm)
            except NeedSfm as need:
                request_sfm(context, need.rgba)
                self.report({"INFO"}, "SoftFit: the backend is estimating the cameras (SfM)")
                return {"FINISHED"}
            build_cameras(scene(context), views, data)
        except (InputError, WireError) as exc:
            self.report({"ERROR"}, f"SoftFit: {exc}")
            return {"CANCELLED"}
        where = "silhouettes from " + data.method.lower() if data.silhouettes is not None else (
            f"silhouettes by the backend ({data.method.lower()})")
        if data.why:
            where += f" because {data.why}"
        self.report({"INFO"}, f"SoftFit: {len(data.names)} cameras at {data.cameras.width}x"
                              f"{data.cameras.height}, {where}")
        return {"FINISHED"}


CLASSES = (SOFTFIT_OT_setup_scene,)

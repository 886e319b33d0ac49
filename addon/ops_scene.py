"""Operator: Set up Scene (a camera per view with its image as background, silhouettes overlaid); with the
SfM camera source it first asks the backend for the cameras (`Client.prepare`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import bpy
import numpy as np

from . import inputs, session
from .blend import scene, settings
from .core.cameras import Cameras, parse_transforms
from .errors import InputError
from .preferences import backend_config
from .scene_setup import build_cameras
from .wire.errors import WireError

if TYPE_CHECKING:
    from bpy.stub_internal.rna_enums import OperatorReturnItems

SFM_SPEC = "sfm"
SFM_TIMEOUT = 600.0  # SfM over many large views takes minutes on a CPU backend


class SfmFromBackend:
    """The `inputs.SfmCameras` callback: cameras from the backend's SfM; keeps its message for the report."""

    def __init__(self, context: bpy.types.Context):
        self.context, self.message, self.fallback = context, "", False

    def __call__(self, rgba: np.ndarray) -> Cameras:
        sess = session.connect(backend_config(self.context))
        assert sess.client is not None
        reply = sess.client.prepare(None, rgba, None, init=None, cameras=SFM_SPEC, timeout=SFM_TIMEOUT)
        if reply.transforms is None:
            raise InputError("the backend sent no SfM cameras")
        self.message, self.fallback = reply.message, reply.fallback
        cams, _frames = parse_transforms(reply.transforms, None, "the backend's SfM cameras")
        return cams


class SOFTFIT_OT_setup_scene(bpy.types.Operator):
    """Create a camera for every view, with its image as the camera background and its silhouette
    overlaid, so the alignment can be checked"""

    bl_idname = "softfit.setup_scene"
    bl_label = "Set up Scene"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context: bpy.types.Context) -> set[OperatorReturnItems]:
        sfm = SfmFromBackend(context)
        try:
            views, data = inputs.load(settings(context), reload=True, sfm=sfm)
            build_cameras(scene(context), views, data)
        except (InputError, WireError) as exc:
            self.report({"ERROR"}, f"SoftFit: {exc}")
            return {"CANCELLED"}
        where = "silhouettes from " + data.method.lower() if data.silhouettes is not None else (
            f"silhouettes by the backend ({data.method.lower()})")
        if sfm.message:
            self.report({"WARNING"} if sfm.fallback else {"INFO"}, f"SoftFit: {sfm.message[:400]}")
        self.report({"INFO"}, f"SoftFit: {len(data.names)} cameras at {data.cameras.width}x"
                              f"{data.cameras.height}, {where}")
        return {"FINISHED"}


CLASSES = (SOFTFIT_OT_setup_scene,)

"""Operator: Set up Scene (a camera per view with its image as background, silhouettes overlaid)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import bpy

from . import inputs
from .blend import scene, settings
from .errors import InputError
from .scene_setup import build_cameras

if TYPE_CHECKING:
    from bpy.stub_internal.rna_enums import OperatorReturnItems


class SOFTFIT_OT_setup_scene(bpy.types.Operator):
    """Create a camera for every view, with its image as the camera background and its silhouette
    overlaid, so the alignment can be checked"""

    bl_idname = "softfit.setup_scene"
    bl_label = "Set up Scene"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context: bpy.types.Context) -> set[OperatorReturnItems]:
        try:
            views, data = inputs.load(settings(context), reload=True)
            build_cameras(scene(context), views, data)
        except InputError as exc:
            self.report({"ERROR"}, f"SoftFit: {exc}")
            return {"CANCELLED"}
        where = "silhouettes from " + data.method.lower() if data.silhouettes is not None else (
            f"silhouettes by the backend ({data.method.lower()})")
        self.report({"INFO"}, f"SoftFit: {len(data.names)} cameras at {data.cameras.width}x"
                              f"{data.cameras.height}, {where}")
        return {"FINISHED"}


CLASSES = (SOFTFIT_OT_setup_scene,)

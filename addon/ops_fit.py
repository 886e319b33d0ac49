"""Operators: Fit, Refine (from the current, possibly hand-edited mesh, a vertex group pinned) and Cancel."""

from __future__ import annotations

from typing import TYPE_CHECKING

import bpy

from . import fitting, session, streaming
from .errors import InputError
from .wire.errors import WireError

if TYPE_CHECKING:
    from bpy.stub_internal.rna_enums import OperatorReturnItems


class _FitOperator(bpy.types.Operator):
    """Shared by Fit and Refine; never registered itself (a registered operator must not be subclassed)."""

    bl_options = {"REGISTER", "UNDO"}
    refine = False

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        obj = context.active_object
        return obj is not None and obj.type == "MESH" and session.get().job is None

    def execute(self, context: bpy.types.Context) -> set[OperatorReturnItems]:
        if context.mode != "OBJECT":
            bpy.ops.object.mode_set(mode="OBJECT")
        try:
            job = fitting.start(context, refine=self.refine)
        except (InputError, WireError) as exc:
            self.report({"ERROR"}, f"SoftFit: {exc}")
            return {"CANCELLED"}
        streaming.start_timer()
        self.report({"INFO"}, f"SoftFit: {job.kind} started into {job.object_name}")
        return {"FINISHED"}


class SOFTFIT_OT_fit(_FitOperator):
    """Fit the active mesh to the views' silhouettes; the result goes into a copy, the original is kept"""

    bl_idname = "softfit.fit"
    bl_label = "Fit"


class SOFTFIT_OT_refine(_FitOperator):
    """Fit again from the active mesh as it is now (hand edits included); the Pinned Group stays put"""

    bl_idname = "softfit.refine"
    bl_label = "Refine"
    refine = True


class SOFTFIT_OT_cancel(bpy.types.Operator):
    """Stop the running fit and keep the mesh as it was at the last frame"""

    bl_idname = "softfit.cancel"
    bl_label = "Cancel Fit"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return session.get().job is not None

    def execute(self, context: bpy.types.Context) -> set[OperatorReturnItems]:
        job = session.get().job
        if job is None:
            return {"CANCELLED"}
        job.cancel(undo=False)
        session.get().job = None
        streaming.stop_timer()
        streaming.tag_redraw()
        self.report({"INFO"}, f"SoftFit: {job.message}")
        return {"FINISHED"}


CLASSES = (SOFTFIT_OT_fit, SOFTFIT_OT_refine, SOFTFIT_OT_cancel)

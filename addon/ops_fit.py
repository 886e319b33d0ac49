"""Operators: Fit, Refine (from the current, possibly hand-edited mesh, a vertex group pinned), Cancel
and Stop & Keep.

Fit and Refine return at once: the backend is started and the job submitted in a worker thread, frames
arrive through a timer (streaming.py). Invoked from the UI they stay modal while the fit runs, passing
every event through except Esc, which cancels; when the fit ends they report its outcome (held-out IoU,
time) or its error in the Info editor. Run with EXEC (scripts, background) they start the fit and
finish."""

from __future__ import annotations

from typing import TYPE_CHECKING

import bpy
from bpy.props import BoolProperty

from . import fitting, session, streaming, tasks
from .blend import status
from .errors import InputError
from .wire.errors import WireError

if TYPE_CHECKING:
    from bpy.stub_internal.rna_enums import OperatorReturnItems

MODAL_INTERVAL = 0.1  # seconds between the modal operator's checks


def cancel_fit(keep: bool = False) -> str:
    """Cancel the starting or running fit (never waits); the message to report, "" if none ran."""
    task = tasks.busy(fitting.TASK)
    job = session.get().job
    if job is None and task is None:
        return ""
    if job is None:  # still starting: drop the submit's outcome, cancel the job if it was accepted
        assert task is not None
        def cancel_accepted(res: tuple) -> None:
            tasks.run("cancel", "cancelling", lambda: fitting._cancel_quietly(*res))

        task.on_done = cancel_accepted
        task.on_error = lambda _exc: None
        task.handled = True  # nothing pending any more as far as the panel is concerned
        st = status()
        if st is not None:
            st.running, st.error, st.message = False, False, "cancelled before the fit started"
        return "cancelled before the fit started"
    job.cancel(keep=keep, undo=False)
    session.get().job = None
    streaming.stop_timer()
    streaming.tag_redraw()
    return job.message


def outcome_report(op: bpy.types.Operator, job: streaming.FitJob | None, error: str) -> None:
    """The Info editor's line for a finished fit."""
    if error:
        op.report({"ERROR"}, f"SoftFit: {error}")
    elif job is not None and job.outcome == "failed":
        op.report({"ERROR"}, f"SoftFit: {job.message}")
    elif job is not None:
        op.report({"INFO"}, f"SoftFit: {job.kind} {job.message}")


class _FitOperator(bpy.types.Operator):
    """Shared by Fit and Refine; never registered itself (a registered operator must not be subclassed)."""

    bl_options = {"REGISTER", "UNDO"}
    refine = False
    _timer: bpy.types.Timer | None = None

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        obj = context.active_object
        return obj is not None and obj.type == "MESH" and not fitting.pending()

    def _start(self, context: bpy.types.Context) -> bool:
        if context.mode != "OBJECT":
            bpy.ops.object.mode_set(mode="OBJECT")
        self._errors: list[str] = []
        self._job: streaming.FitJob | None = None
        try:
            self._task = fitting.start(context, refine=self.refine, on_end=self._errors.append)
        except (InputError, WireError) as exc:
            self.report({"ERROR"}, f"SoftFit: {exc}")
            return False
        return True

    def execute(self, context: bpy.types.Context) -> set[OperatorReturnItems]:
        if not self._start(context):
            return {"CANCELLED"}
        self.report({"INFO"}, f"SoftFit: {'refine' if self.refine else 'fit'} submitted")
        return {"FINISHED"}

    def invoke(self, context: bpy.types.Context, event: bpy.types.Event) -> set[OperatorReturnItems]:
        if not self._start(context):
            return {"CANCELLED"}
        wm = context.window_manager
        if wm is None or context.window is None:
            return {"FINISHED"}
        self._timer = wm.event_timer_add(MODAL_INTERVAL, window=context.window)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context: bpy.types.Context, event: bpy.types.Event) -> set[OperatorReturnItems]:
        if event.type == "ESC" and event.value == "PRESS":
            message = cancel_fit(keep=False)
            self._end(context)
            self.report({"WARNING"}, f"SoftFit: {message or 'cancelled'}")
            return {"CANCELLED"}
        if event.type == "TIMER":
            job = session.get().job
            if job is not None:
                self._job = job
                return {"PASS_THROUGH"}
            if tasks.busy(fitting.TASK) is not None and not self._errors:
                return {"PASS_THROUGH"}
            self._end(context)
            outcome_report(self, self._job, self._errors[0] if self._errors else "")
            return {"CANCELLED"} if self._errors or (self._job and self._job.outcome == "failed") else {
                "FINISHED"}
        return {"PASS_THROUGH"}

    def _end(self, context: bpy.types.Context) -> None:
        wm = context.window_manager
        timer = self._timer
        if wm is not None and timer is not None:
            wm.event_timer_remove(timer)
            self._timer = None
        streaming.tag_redraw()


class SOFTFIT_OT_fit(_FitOperator):
    """Fit the active mesh to the views' silhouettes (Esc cancels); the result replaces this object's
    earlier result, the original is kept"""

    bl_idname = "softfit.fit"
    bl_label = "Fit"


class SOFTFIT_OT_refine(_FitOperator):
    """Fit again from the active mesh as it is now (hand edits included); the Pinned Group stays put"""

    bl_idname = "softfit.refine"
    bl_label = "Refine"
    refine = True


class SOFTFIT_OT_cancel(bpy.types.Operator):
    """Stop the running fit: Cancel shows the scene as it was before; Keep keeps the mesh as it is now"""

    bl_idname = "softfit.cancel"
    bl_label = "Cancel Fit"
    bl_options = {"REGISTER", "UNDO"}
    if TYPE_CHECKING:
        keep: bool

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return fitting.pending()

    def execute(self, context: bpy.types.Context) -> set[OperatorReturnItems]:
        message = cancel_fit(keep=self.keep)
        if not message:
            return {"CANCELLED"}
        self.report({"INFO"}, f"SoftFit: {message}")
        return {"FINISHED"}


# Set here, not as a class annotation: with postponed annotations Blender would see a string.
SOFTFIT_OT_cancel.__annotations__["keep"] = BoolProperty(  # type: ignore[func-returns-value]
    name="Keep", default=False, description="Keep the partly fitted mesh instead of restoring the original")

CLASSES = (SOFTFIT_OT_fit, SOFTFIT_OT_refine, SOFTFIT_OT_cancel)

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

from ..logic import session
from ..logic.errors import InputError, in_panel_terms
from ..wire.errors import WireError
from . import fitting, streaming, tasks
from .blend import operator_variant, status

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


Report = tuple[set[str], str]  # (level, text) for `Operator.report`
PASS: set[OperatorReturnItems] = {"PASS_THROUGH"}


def outcome_report(job: streaming.FitJob | None, error: str) -> Report:
    """The Info editor's line for a finished fit."""
    if error:
        return {"ERROR"}, f"SoftFit: {error}"
    if job is not None and job.outcome == "failed":
        return {"ERROR"}, f"SoftFit: {job.message}"
    if job is not None:
        return {"INFO"}, f"SoftFit: {job.kind} {job.message}"
    return {"INFO"}, "SoftFit: the fit ended"


class FitWatch:
    """What the modal Fit does with each event, kept apart from the operator: Blender runs modal
    operators only with a window's event loop, which the bpy module has not, so the tests drive this
    with real fits and minimal events. `errors` collects the start's failure (fitting.start's on_end)."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.job: streaming.FitJob | None = None

    def on_event(self, event_type: str, value: str) -> tuple[set[OperatorReturnItems], Report | None]:
        """(the modal's return value, the report to make or None) for one event."""
        if event_type == "ESC" and value == "PRESS":
            message = cancel_fit(keep=False)
            return {"CANCELLED"}, ({"WARNING"}, f"SoftFit: {message or 'cancelled'}")
        if event_type != "TIMER":
            return PASS, None
        job = session.get().job
        if job is not None:
            self.job = job
            return PASS, None
        if tasks.busy(fitting.TASK) is not None and not self.errors:
            return PASS, None
        report = outcome_report(self.job, self.errors[0] if self.errors else "")
        failed = bool(self.errors) or (self.job is not None and self.job.outcome == "failed")
        return ({"CANCELLED"} if failed else {"FINISHED"}), report


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
        self._watch = FitWatch()
        try:
            self._task = fitting.start(context, refine=self.refine, on_end=self._watch.errors.append)
        except (InputError, WireError) as exc:
            self.report({"ERROR"}, f"SoftFit: {in_panel_terms(str(exc))}")
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
        result, report = self._watch.on_event(event.type, event.value)
        if report is not None:
            self.report(*report)  # type: ignore[arg-type]
        if result != PASS:
            self._end(context)
        return result

    def _end(self, context: bpy.types.Context) -> None:
        wm = context.window_manager
        timer = self._timer
        if wm is not None and timer is not None:
            wm.event_timer_remove(timer)
            self._timer = None
        streaming.tag_redraw()


SOFTFIT_OT_fit = operator_variant(
    _FitOperator, "softfit.fit", "Fit", "Fit the active mesh to the views' silhouettes (Esc cancels); the "
    "result replaces this object's earlier result, the original is kept")
SOFTFIT_OT_refine = operator_variant(
    _FitOperator, "softfit.refine", "Refine", "Fit again from the active mesh as it is now (hand edits "
    "included); the Pinned Group stays put", refine=True)


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

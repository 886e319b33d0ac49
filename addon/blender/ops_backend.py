"""Operators: start, stop and restart the backend connection. Each returns at once: starting (torch
imports for seconds), handshaking and stopping run in a worker thread; the panel shows what is going on
and the outcome lands in the status line and the console."""

from __future__ import annotations

from typing import TYPE_CHECKING

import bpy

from ..logic import session
from ..logic.errors import InputError
from . import streaming, tasks
from .blend import operator_variant, status
from .ops_fit import cancel_fit
from .preferences import backend_config

if TYPE_CHECKING:
    from bpy.stub_internal.rna_enums import OperatorReturnItems

TASK = "backend"


def _show(message: str, error: bool = False) -> None:
    st = status()
    if st is not None:
        st.backend = session.get().summary()
        if error or not st.running:
            st.message, st.error = message, error
    print(f"SoftFit: {'error: ' if error else ''}{message}")
    streaming.tag_redraw()


def _started(s: session.Session) -> None:
    _show(s.summary())


def _failed(exc: BaseException) -> None:
    _show(f"backend: {exc}", error=True)


def start_backend(config: session.BackendConfig, restart: bool = False) -> tasks.Task:
    """Start (or restart) in a worker thread; callbacks update the status on the main thread."""
    def work() -> session.Session:
        if restart:
            session.disconnect()
        return session.connect(config)

    return tasks.run(TASK, "restarting the backend" if restart else "starting the backend", work,
                     _started, _failed)


def stop_backend() -> tasks.Task:
    cancel_fit()
    return tasks.run(TASK, "stopping the backend", session.disconnect,
                     lambda _r: _show("backend stopped"), _failed)


class _BackendOperator(bpy.types.Operator):
    restart = False

    def execute(self, context: bpy.types.Context) -> set[OperatorReturnItems]:
        if tasks.busy(TASK) is not None:
            self.report({"WARNING"}, f"SoftFit: {tasks.busy(TASK).label}: wait a moment")  # type: ignore[union-attr]
            return {"CANCELLED"}
        if self.restart:
            cancel_fit()
        elif session.get().job is not None:
            self.report({"ERROR"}, "SoftFit: a fit is running: cancel it first")
            return {"CANCELLED"}
        try:
            config = backend_config(context)
        except InputError as exc:
            self.report({"ERROR"}, f"SoftFit backend: {exc}")
            return {"CANCELLED"}
        start_backend(config, restart=self.restart)
        self.report({"INFO"}, "SoftFit: starting the backend")
        return {"FINISHED"}


SOFTFIT_OT_backend_start = operator_variant(
    _BackendOperator, "softfit.backend_start", "Start Backend",
    "Start the local backend (or connect to the remote one) and check its version and device")
SOFTFIT_OT_backend_restart = operator_variant(
    _BackendOperator, "softfit.backend_restart", "Restart Backend",
    "Stop the backend (a running fit is cancelled) and start it again", restart=True)


class SOFTFIT_OT_backend_stop(bpy.types.Operator):
    """Disconnect, and stop the backend if the add-on launched it (a running fit is cancelled)"""

    bl_idname = "softfit.backend_stop"
    bl_label = "Stop Backend"

    def execute(self, context: bpy.types.Context) -> set[OperatorReturnItems]:
        stop_backend()
        return {"FINISHED"}


CLASSES = (SOFTFIT_OT_backend_start, SOFTFIT_OT_backend_stop, SOFTFIT_OT_backend_restart)

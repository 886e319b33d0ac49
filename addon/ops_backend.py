"""Operators: start, stop and restart the backend connection."""

from __future__ import annotations

from typing import TYPE_CHECKING

import bpy

from . import session, streaming
from .blend import status
from .errors import InputError
from .preferences import backend_config
from .wire.errors import WireError

if TYPE_CHECKING:
    from bpy.stub_internal.rna_enums import OperatorReturnItems


def _start(op: bpy.types.Operator, context: bpy.types.Context) -> set[OperatorReturnItems]:
    if session.get().job is not None:
        op.report({"ERROR"}, "SoftFit: a fit is running: cancel it first")
        return {"CANCELLED"}
    try:
        s = session.connect(backend_config(context))
    except (InputError, WireError) as exc:
        op.report({"ERROR"}, f"SoftFit backend: {exc}")
        return {"CANCELLED"}
    st = status()
    if st is not None:
        st.backend = s.summary()
    op.report({"INFO"}, s.summary())
    return {"FINISHED"}


def _stop(context: bpy.types.Context) -> None:
    job = session.get().job
    if job is not None:
        job.cancel()
    streaming.stop_timer()
    session.disconnect()
    st = status()
    if st is not None:
        st.backend, st.running = session.get().summary(), False


class SOFTFIT_OT_backend_start(bpy.types.Operator):
    """Start the local backend (or connect to the remote one) and check its version and device"""

    bl_idname = "softfit.backend_start"
    bl_label = "Start Backend"

    def execute(self, context: bpy.types.Context) -> set[OperatorReturnItems]:
        return _start(self, context)


class SOFTFIT_OT_backend_stop(bpy.types.Operator):
    """Disconnect, and stop the backend if the add-on launched it (a running fit is cancelled)"""

    bl_idname = "softfit.backend_stop"
    bl_label = "Stop Backend"

    def execute(self, context: bpy.types.Context) -> set[OperatorReturnItems]:
        _stop(context)
        return {"FINISHED"}


class SOFTFIT_OT_backend_restart(bpy.types.Operator):
    """Stop the backend and start it again"""

    bl_idname = "softfit.backend_restart"
    bl_label = "Restart Backend"

    def execute(self, context: bpy.types.Context) -> set[OperatorReturnItems]:
        _stop(context)
        return _start(self, context)


CLASSES = (SOFTFIT_OT_backend_start, SOFTFIT_OT_backend_stop, SOFTFIT_OT_backend_restart)

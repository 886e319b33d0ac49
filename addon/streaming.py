"""Running a fit from Blender: a `bpy.app.timers` function polls the backend with zero timeout and
writes the newest vertex frame into the fit copy; no threads, no modal operator (which would block
autosave). Under `--background` timers never fire, so `run_blocking` drives the same `FitJob` in a loop.

Outcomes: a result is written to the copy (undo step "SoftFit Result"); Cancel keeps the copy as it was
at the last applied frame; an error (backend died, bad request, object deleted) removes the copy and
shows the original again, so the scene is as it was before the fit."""

from __future__ import annotations

import contextlib
import json
import math
import time

import bpy
import numpy as np

from . import meshes, session, userdata
from .blend import layout, mesh_object, status
from .errors import InputError
from .summary import result_message
from .wire.client import Client
from .wire.errors import ServerGone, WireError
from .wire.events import JobError, Progress, Queued, Result, VertexFrame

POLL_INTERVAL = 0.05  # seconds between timer calls while a fit runs


def tag_redraw() -> None:
    wm = bpy.context.window_manager
    if wm is None:
        return
    for window in wm.windows:
        if window.screen is None:
            continue
        for area in window.screen.areas:
            if area.type in ("VIEW_3D", "STATUSBAR", "PROPERTIES"):
                area.tag_redraw()


def _finite(x: float) -> float:
    return float(x) if math.isfinite(x) else 0.0


class FitJob:
    """One fit: its job id on `client` and the name of the object (a fit copy) it writes into."""

    def __init__(self, client: Client, job_id: str, object_name: str, kind: str = "fit"):
        self.client, self.job_id, self.object_name, self.kind = client, job_id, object_name, kind
        self.frames_applied = 0
        self.iteration = -1
        self.last_frame: np.ndarray | None = None  # world positions last written into the object
        self.outcome: str | None = None  # "done", "cancelled" or "failed" once finished
        self.message = ""
        self.metrics: dict = {}

    @property
    def finished(self) -> bool:
        return self.outcome is not None

    def _object(self) -> bpy.types.Object:
        obj = bpy.data.objects.get(self.object_name)
        if obj is None or not isinstance(obj.data, bpy.types.Mesh):
            raise InputError(f"the fitted object {self.object_name!r} was deleted or renamed")
        return obj

    def _apply(self, verts: np.ndarray) -> None:
        meshes.write_world(self._object(), verts)
        self.last_frame = np.array(verts, dtype=np.float64)

    def _progress(self, ev: Progress) -> None:
        self.iteration = max(self.iteration, ev.iteration)
        st = status()
        if st is not None:
            st.iteration, st.iterations = ev.iteration, ev.iterations
            st.loss, st.iou, st.elapsed = _finite(ev.loss), _finite(ev.iou), _finite(ev.elapsed)
            st.message = f"iteration {ev.iteration}/{ev.iterations}"

    def step(self, timeout: float = 0.0) -> bool:
        """Handle whatever the backend has sent (waiting up to `timeout` s); True once the job is over."""
        if self.finished:
            return True
        try:
            events = self.client.poll(self.job_id, timeout)
            frame: VertexFrame | None = None
            for ev in events:
                if isinstance(ev, Progress):
                    self._progress(ev)
                elif isinstance(ev, VertexFrame):
                    frame = ev  # only the newest is worth drawing
                elif isinstance(ev, Queued):
                    st = status()
                    if st is not None:
                        st.message = f"queued behind {ev.position} job(s)"
                elif isinstance(ev, Result):
                    self._result(ev)
                    return True
                elif isinstance(ev, JobError):
                    self.fail(f"the fit failed: {ev.code}: {ev.message}")
                    return True
            if frame is not None:
                self._apply(frame.verts)
                self.frames_applied += 1
                st = status()
                if st is not None:
                    st.frames = self.frames_applied
        except ServerGone as exc:
            self.fail(_gone_message(exc))
            return True
        except WireError as exc:
            self.fail(str(exc))
            return True
        except InputError as exc:  # our side broke (object deleted, bad frame): stop the backend's job too
            self.fail(str(exc), cancel_job=True)
            return True
        return False

    def _result(self, ev: Result) -> None:
        obj, mesh = mesh_object(self._object())
        if ev.verts.shape[0] == len(mesh.vertices):
            self._apply(ev.verts)
        else:  # the backend remeshed: new topology
            meshes.replace_geometry(obj, ev.verts, ev.faces)
            self.last_frame = np.array(ev.verts, dtype=np.float64)
        self.metrics = dict(ev.metrics)
        self.metrics["cancelled"] = bool(ev.cancelled)
        self._finish("cancelled" if ev.cancelled else "done", result_message(self.metrics))

    def cancel(self, undo: bool = True) -> None:
        """Stop the fit now and keep the mesh as the last applied frame left it (`undo`: record an undo
        step; an operator calling this gets its own)."""
        if self.finished:
            return
        with contextlib.suppress(WireError):  # a dead backend has stopped anyway
            self.client.cancel(self.job_id)
        st = status()
        self.metrics = {"cancelled": True, "iterations": self.iteration,
                        "train_iou": float(st.iou) if st is not None else None}
        self._finish("cancelled", f"cancelled at iteration {self.iteration}; the mesh is kept as it was",
                     undo)

    def _finish(self, outcome: str, message: str, undo: bool = True) -> None:
        self.outcome, self.message = outcome, message
        obj = bpy.data.objects.get(self.object_name)
        if obj is not None:
            obj[meshes.METRICS] = json.dumps(self.metrics)
        st = status()
        if st is not None:
            st.running, st.error, st.message = False, False, message
        if undo:
            push_undo(f"SoftFit {outcome.capitalize()}")

    def fail(self, message: str, cancel_job: bool = False) -> None:
        """End with an error: remove the copy, show the original, report (`cancel_job`: the backend is
        fine but the job is no use any more)."""
        self.outcome, self.message = "failed", message
        if cancel_job:
            with contextlib.suppress(WireError):
                self.client.cancel(self.job_id)
        meshes.discard_copy(self.object_name)
        st = status()
        if st is not None:
            st.running, st.error, st.message = False, True, message
        print(f"SoftFit: error: {message}")
        popup_error(message)


def _gone_message(exc: Exception) -> str:
    died = session.backend_died()
    if died is None:
        return f"the backend stopped answering: {exc}"
    code, log = died
    path = userdata.save_backend_log(log)
    how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
    return f"the backend process {how}" + (f"; its log is in {path}" if path else "")


def push_undo(message: str) -> None:
    """Record the fitted mesh as an undo step (timers run outside operators); no-op without a window."""
    wm = bpy.context.window_manager
    if bpy.app.background or wm is None or not wm.windows:
        return
    try:
        with bpy.context.temp_override(window=wm.windows[0]):
            bpy.ops.ed.undo_push(message=message)
    except RuntimeError as exc:
        print(f"SoftFit: could not push an undo step: {exc}")


def popup_error(message: str) -> None:
    wm = bpy.context.window_manager
    if bpy.app.background or wm is None or not wm.windows:
        return

    def draw(menu: bpy.types.Menu, _context: bpy.types.Context) -> None:
        layout(menu).label(text=message)

    with contextlib.suppress(RuntimeError), bpy.context.temp_override(window=wm.windows[0]):
        wm.popup_menu(draw, title="SoftFit", icon="ERROR")


# ---------------------------------------------------------------------------------------------------
# Driving the job: a timer in the UI, a loop in the background.


def tick() -> float | None:
    """The timer: one non-blocking poll; returns the next interval, None (unregister) when done."""
    job = session.get().job
    if job is None:
        return None
    try:
        done = job.step(0.0)
    except Exception as exc:  # a bug must not leave a fit "running" with no timer behind it
        job.fail(f"internal error: {exc!r}", cancel_job=True)
        done = True
    tag_redraw()
    if done:
        session.get().job = None
        return None
    return POLL_INTERVAL


def start_timer() -> None:
    if not bpy.app.timers.is_registered(tick):
        bpy.app.timers.register(tick, first_interval=POLL_INTERVAL)


def stop_timer() -> None:
    if bpy.app.timers.is_registered(tick):
        bpy.app.timers.unregister(tick)


def run_blocking(job: FitJob, timeout: float | None = None, poll: float = 0.2) -> FitJob:
    """Drive `job` to its end without timers (background mode, scripts); `timeout` cancels it."""
    end = None if timeout is None else time.monotonic() + timeout
    while not job.step(poll):
        if end is not None and time.monotonic() > end:
            job.cancel()
            break
    if session.get().job is job:
        session.get().job = None
    return job

"""Running a fit from Blender without ever waiting on the main thread.

A `JobPump` thread (no bpy) owns the wire while the fit runs: it long-polls the backend, which doubles as
the heartbeat, so the server keeps the job however long Blender's main thread is busy (a 30 s stall loses
nothing), and it checks the local backend process every poll, so a dead backend is noticed within a
second. It keeps only the newest frame and progress. The `bpy.app.timers` function `tick` takes them
and writes the frame into the fit copy (`foreach_set`), nothing else; under `--background` timers never
fire, so `run_blocking` calls the same step in a loop.

Outcomes: a result is written to the copy, which replaces earlier results of the same source (or becomes
a shape key on the source when asked); Cancel removes the copy and shows what was there before (Stop &
Keep keeps the copy as the last frame left it); an error (backend died, bad request, object deleted or
undone away) removes the copy and shows the original again.

Files: the copy carries the job's tag (`meshes.JOB`: this add-on session's token and the job id) while the
fit runs. Opening a file detaches the job (the pump keeps polling, so the backend keeps it); if the opened
file holds the tagged copy (the file was saved during the fit, or reverted), the fit reattaches to it and
goes on; otherwise the job is cancelled. A tagged copy whose fit no longer runs (saved mid-fit, opened
later) is removed and the hidden originals are shown again, as Cancel would."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import threading
import time

import bpy
import numpy as np

from ..logic import session
from ..logic.errors import InputError, in_panel_terms
from ..logic.geometry import check_mesh, local_buffer
from ..logic.summary import result_message
from ..wire.client import Client
from ..wire.errors import ServerGone, WireError
from ..wire.events import JobError, Progress, Queued, Result, VertexFrame
from ..wire.launcher import LocalBackend
from . import meshes, texturing, userdata
from .blend import layout, mesh_object, status

POLL_INTERVAL = 0.05  # seconds between timer calls while a fit runs
PUMP_WAIT = 0.25  # seconds a pump poll may wait for news: also how often it checks the backend process


def tag_redraw() -> None:
    wm = bpy.context.window_manager
    if wm is None:
        return
    for window in wm.windows:
        if window.screen is None:
            continue
        for area in window.screen.areas:
            if area.type in ("VIEW_3D", "STATUSBAR", "PROPERTIES", "INFO"):
                area.tag_redraw()


def _finite(x: float) -> float:
    return float(x) if math.isfinite(x) else 0.0


def _keep_faces(pending: VertexFrame | None, newer: VertexFrame) -> VertexFrame:
    """The newer frame replaces a pending one (latest only), but a new topology's faces, which travel once,
    stay with the frames of that topology until the main thread has taken them."""
    if (newer.faces is None and pending is not None and pending.faces is not None
            and pending.topology == newer.topology):
        return dataclasses.replace(newer, faces=pending.faces)
    return newer


class JobPump:
    """The worker thread of one fit: polls the backend, keeps the newest news for the main thread.

    Never touches bpy. `final` is set once: a Result, a JobError, or an error text (backend gone)."""

    def __init__(self, sess: session.Session, client: Client, job_id: str, local: LocalBackend | None):
        self.sess, self.client, self.job_id, self.local = sess, client, job_id, local
        self._lock = threading.Lock()
        self.frame: VertexFrame | None = None
        self.progress: Progress | None = None
        self.queued: int | None = None
        self.final: Result | JobError | str | None = None
        self.taken_local: tuple[np.ndarray, np.ndarray] | None = None
        self.polls = 0  # answered polls: each one is a heartbeat the server saw
        # (matrix_world, vertex count) of the object the frames go to, set by the main thread: frames are
        # then converted to its local float32 buffer here, so the timer only copies them in.
        self.target: tuple[np.ndarray, int] | None = None
        self.frame_local: tuple[np.ndarray, np.ndarray] | None = None  # (buffer, matrix used) of `frame`
        self._cancel = threading.Event()
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="softfit-fit", daemon=True)
        self.thread.start()

    def take(self) -> tuple[VertexFrame | None, Progress | None, int | None, Result | JobError | str | None]:
        """The news since the last call (main thread); `taken_local` is the frame's converted buffer."""
        with self._lock:
            news = (self.frame, self.progress, self.queued, self.final)
            self.taken_local = self.frame_local
            self.frame, self.progress, self.queued, self.frame_local = None, None, None, None
        return news

    def _convert(self, frame: VertexFrame) -> tuple[np.ndarray, np.ndarray] | None:
        target = self.target
        if target is None:
            return None
        try:
            return local_buffer(frame.verts, target[0], target[1]), target[0]
        except InputError:  # reported by the main thread, which checks the frame again
            return None

    def cancel(self) -> None:
        """Ask the backend to stop the job (sent from the pump thread); nothing more is delivered."""
        self._cancel.set()

    def stop(self) -> None:
        """Stop polling without cancelling (the job is the server's to time out)."""
        self._stop.set()

    def _died(self) -> str | None:
        local = self.local
        if local is None or not session.process_exited(local.process):
            return None
        return session.died_message(local.process.returncode, local.log_tail(20000))

    def _set_final(self, final: Result | JobError | str) -> None:
        with self._lock:
            if self.final is None:
                self.final = final

    def _run(self) -> None:
        try:
            self._loop()
        except Exception as exc:  # never die silently: the main thread would wait forever
            self._set_final(f"internal error in the fit's worker thread: {exc!r}")

    def _loop(self) -> None:
        while not self._stop.is_set():
            if self._cancel.is_set():
                if self._died() is None:  # a dead backend has stopped anyway
                    with self.sess.lock, contextlib.suppress(Exception):
                        self.client.cancel(self.job_id)
                return
            died = self._died()
            if died is not None:
                self._set_final(died)
                return
            try:
                with self.sess.lock:
                    events = self.client.poll(self.job_id, PUMP_WAIT)
            except ServerGone as exc:
                self._set_final(self._died() or f"the backend stopped answering: {exc}")
                return
            except WireError as exc:
                self._set_final(str(exc))
                return
            except Exception as exc:  # never die silently: the main thread would wait forever
                self._set_final(f"internal error while polling: {exc!r}")
                return
            self.polls += 1
            frames = [ev for ev in events if isinstance(ev, VertexFrame)]
            local = self._convert(frames[-1]) if frames else None  # outside the lock: take() never waits
            with self._lock:
                for ev in events:
                    if isinstance(ev, Progress):
                        self.progress = ev
                    elif isinstance(ev, VertexFrame):
                        self.frame, self.frame_local = _keep_faces(self.frame, ev), local
                    elif isinstance(ev, Queued):
                        self.queued = ev.position
                    elif isinstance(ev, Result | JobError) and self.final is None:
                        self.final = ev
            if self.final is not None:
                return


class FitJob:
    """One fit, main-thread side: the objects it writes (found by name and checked by `session_uid`, so
    an object of another file with the same name is never touched) and what to restore on failure."""

    def __init__(self, pump: JobPump, copy: bpy.types.Object, source: bpy.types.Object, base: str,
                 hidden: list[str], kind: str = "fit", as_shape_key: bool = False):
        self.pump, self.job_id, self.kind = pump, pump.job_id, kind
        self.tag = f"{pump.sess.token}:{pump.job_id}"
        self.detached = False  # another file is being opened: touch nothing until it is known
        copy[meshes.JOB] = self.tag
        copy[meshes.HIDDEN] = json.dumps(hidden)
        pump.target = (meshes.matrix_np(copy), len(mesh_object(copy)[1].vertices))
        self.object_name, self.object_uid = copy.name, copy.session_uid
        self.source_name, self.source_uid, self.base = source.name, source.session_uid, base
        self.hidden = hidden  # names of objects hidden for the fit, shown again on failure or cancel
        self.as_shape_key = as_shape_key
        self.frames_applied = 0
        self.frames_copied = 0  # of which converted by the pump thread (the timer only copied them in)
        self.topology_changes = 0  # frames that brought new faces (the fit remeshed)
        self.topology = 0  # the fit's topology counter of the copy's faces (0: the submitted mesh)
        self.iteration = -1
        self.last_frame: np.ndarray | None = None  # world positions last written into the object
        self.outcome: str | None = None  # "done", "cancelled" or "failed" once finished
        self.message = ""
        self.metrics: dict = {}
        self.started = time.monotonic()

    @property
    def finished(self) -> bool:
        return self.outcome is not None

    def _find(self, name: str, uid: int) -> bpy.types.Object | None:
        obj = bpy.data.objects.get(name)
        return obj if obj is not None and obj.session_uid == uid else None

    def _tagged(self) -> bpy.types.Object | None:
        """The copy, found by its tag (survives renames, undo and saving); the name is tried first."""
        obj = bpy.data.objects.get(self.object_name)
        if obj is not None and obj.get(meshes.JOB) == self.tag:
            return obj
        return next((o for o in bpy.data.objects if o.get(meshes.JOB) == self.tag), None)

    def _current(self) -> bpy.types.Object | None:
        """The copy as it is now (renamed, reloaded by undo), its name and uid updated; None if gone."""
        obj = self._find(self.object_name, self.object_uid) or self._tagged()
        if obj is not None:
            self.object_name, self.object_uid = obj.name, obj.session_uid
        return obj

    def _object(self) -> bpy.types.Object:
        obj = self._current()
        if obj is None or not isinstance(obj.data, bpy.types.Mesh):
            raise InputError(f"the fitted object {self.object_name!r} was deleted or undone")
        return obj

    def detach(self) -> None:
        """Another file is being opened: its objects are not ours to touch until `reattach` decides."""
        self.detached = True

    def reattach(self) -> bool:
        """After a file load: go on with the copy if the file holds it (found by tag), else cancel the
        job (never waits). True when the fit goes on."""
        obj = self._tagged()
        if self.finished:
            return False
        if obj is None or not isinstance(obj.data, bpy.types.Mesh):
            self.abandon("cancelled: the opened file does not hold this fit's object")
            return False
        self.object_name, self.object_uid, self.detached = obj.name, obj.session_uid, False
        self.pump.target = (meshes.matrix_np(obj), len(mesh_object(obj)[1].vertices))
        st = status()
        if st is not None:
            st.running, st.error, st.object_name = True, False, obj.name
            st.message = f"{self.kind} reattached after the file was opened"
        return True

    def _apply(self, verts: np.ndarray, local: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        """Write a frame: the pump's converted buffer when it was made for the object as it is now (the
        timer then only copies it in), else converted here."""
        obj = self._object()
        if local is not None and np.array_equal(meshes.matrix_np(obj), local[1]):
            meshes.write_local(obj, local[0])
            self.frames_copied += 1
        else:
            meshes.write_world(obj, verts)
        self.last_frame = np.asarray(verts)

    def _replace(self, verts: np.ndarray, faces: np.ndarray) -> None:
        """A frame of a new topology: the copy gets a new mesh, and the pump converts the next frames for
        its vertex count."""
        obj = self._object()
        check_mesh(verts, faces, "the backend's remeshed frame")
        meshes.replace_geometry(obj, verts, faces)
        self.pump.target = (meshes.matrix_np(obj), len(mesh_object(obj)[1].vertices))
        self.topology_changes += 1
        self.last_frame = np.asarray(verts)

    def _progress(self, ev: Progress) -> None:
        self.iteration = max(self.iteration, ev.iteration)
        st = status()
        if st is not None:
            st.iteration, st.iterations = ev.iteration, ev.iterations
            st.loss, st.iou, st.elapsed = _finite(ev.loss), _finite(ev.iou), _finite(ev.elapsed)
            st.message = f"iteration {ev.iteration}/{ev.iterations}"

    def step(self, timeout: float = 0.0) -> bool:
        """Apply the pump's news (main thread, never waits unless `timeout`); True once the job is over."""
        if self.finished:
            return True
        if timeout > 0:
            self.pump.thread.join(timeout)
        if self.detached:
            return False
        frame, progress, queued, final = self.pump.take()
        try:
            if queued is not None:
                st = status()
                if st is not None:
                    st.message = f"queued behind {queued} job(s)"
            if progress is not None:
                self._progress(progress)
            if frame is not None and frame.faces is None and frame.topology != self.topology:
                frame = None  # of a topology whose faces have not arrived: never written
            if frame is not None and not isinstance(final, Result):
                if frame.faces is not None:  # the fit remeshed: the copy takes the new topology
                    self._replace(frame.verts, frame.faces)
                    self.topology = frame.topology
                else:
                    self._apply(frame.verts, self.pump.taken_local)
                self.frames_applied += 1
                st = status()
                if st is not None:
                    st.frames = self.frames_applied
            elif final is None:
                self._object()  # deleted or undone away: stop now, not at the next frame
            if isinstance(final, Result):
                self._result(final)
            elif isinstance(final, JobError):
                self.fail(f"the fit failed: {final.code}: {final.message}")
            elif isinstance(final, str):
                died = session.backend_died()
                if died is not None:  # the log is saved here: the pump thread never touches bpy
                    final = session.died_message(*died, save=userdata.save_backend_log)
                    session.forget_dead(final)
                self.fail(final)
        except InputError as exc:  # our side broke (object deleted, bad frame): stop the backend's job too
            self.fail(str(exc), cancel_job=True)
        return self.finished

    def _result(self, ev: Result) -> None:
        obj, mesh = mesh_object(self._object())
        uv, image = (None, None) if self.as_shape_key else (ev.uv, ev.texture)
        textured = uv is not None and image is not None
        same = (ev.verts.shape[0] == len(mesh.vertices) and np.array_equal(meshes.triangles(mesh), ev.faces)
                and not (textured and len(mesh.polygons) != len(ev.faces)))  # per-corner UVs: triangles only
        if same:
            self._apply(ev.verts)
        else:  # remeshed, repaired by the finishing step, or a quad source getting a texture
            meshes.replace_geometry(obj, ev.verts, ev.faces)
            self.last_frame = np.asarray(ev.verts)
        if uv is not None and image is not None:  # not `textured`: mypy narrows these
            texturing.apply_texture(obj, uv, image)
        self.metrics = dict(ev.metrics)
        self.metrics["cancelled"] = bool(ev.cancelled)
        self._keep()
        self._finish("cancelled" if ev.cancelled else "done", in_panel_terms(result_message(self.metrics)))

    def _keep(self) -> None:
        """The copy becomes the source's one result: earlier results go, the copy takes their name; or,
        as asked, the result becomes a shape key on the source and the copy goes."""
        obj = self._object()
        original = bpy.data.objects.get(self.base)
        if self.as_shape_key and original is not None and meshes.write_shape_key(original, obj):
            meshes.discard_copy(obj.name, show=[*self.hidden, original.name])
            self.object_name, self.object_uid = original.name, original.session_uid
            return
        for old in meshes.results_of(self.base):
            if old != obj:
                meshes.remove_object(old)
        obj.name = f"{self.base}.fit"
        self.object_name = obj.name

    def cancel(self, keep: bool = False, undo: bool = True) -> None:
        """Stop the fit now. `keep`: the copy stays as the last frame left it; else it goes and what was
        there before is shown again. Never waits: the pump thread sends the cancel."""
        if self.finished:
            return
        self.pump.cancel()
        st = status()
        self.metrics = {"cancelled": True, "iterations": self.iteration,
                        "train_iou": float(st.iou) if st is not None else None}
        if keep and self._current() is not None:
            self._keep()
            message = f"stopped at iteration {self.iteration}; the mesh is kept as it was"
        else:
            self._current()
            meshes.discard_copy(self.object_name, show=self.hidden, uid=self.object_uid)
            message = f"cancelled at iteration {self.iteration}; the scene is as it was"
        self._finish("cancelled", message, undo)

    def abandon(self, message: str = "the fit was cancelled") -> None:
        """Forget the fit without touching bpy data (another file is being opened; add-on disabled)."""
        if not self.finished:
            self.pump.cancel()
            self.outcome, self.message = "cancelled", message

    def _finish(self, outcome: str, message: str, undo: bool = True) -> None:
        self.outcome, self.message = outcome, message
        obj = self._find(self.object_name, self.object_uid)
        if obj is not None:
            obj[meshes.METRICS] = json.dumps(self.metrics)
            untag(obj)
        st = status()
        if st is not None:
            st.running, st.error, st.message = False, False, message
        print(f"SoftFit: {self.kind} {message}")
        if undo:
            push_undo(f"SoftFit {outcome.capitalize()}")

    def fail(self, message: str, cancel_job: bool = False) -> None:
        """End with an error: remove the copy, show what was hidden, report (`cancel_job`: the backend is
        fine but the job is no use any more)."""
        if self.finished:
            return
        message = in_panel_terms(message)
        self.outcome, self.message = "failed", message
        if cancel_job:
            self.pump.cancel()
        else:
            self.pump.stop()
        self._current()
        meshes.discard_copy(self.object_name, show=self.hidden, uid=self.object_uid)
        st = status()
        if st is not None:
            st.running, st.error, st.message = False, True, message
        print(f"SoftFit: error: {message}")
        popup_error(message)


def untag(obj: bpy.types.Object) -> None:
    """The fit is over: the object is an ordinary result (or gone) from now on."""
    for key in (meshes.JOB, meshes.HIDDEN):
        if obj.get(key) is not None:
            del obj[key]


def restore_interrupted(running: str | None) -> list[str]:
    """Copies of fits that no longer run (tagged, but not by `running`): removed, what their fit hid shown
    again, as Cancel would. Returns the names of the objects shown again."""
    shown: list[str] = []
    for obj in [o for o in bpy.data.objects if o.get(meshes.JOB) not in (None, running)]:
        try:
            hidden = [str(n) for n in json.loads(str(obj.get(meshes.HIDDEN, "[]")))]
        except ValueError:
            hidden = []
        meshes.discard_copy(obj.name, show=hidden, uid=obj.session_uid)
        shown += hidden
    return shown


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
    """The timer: apply the newest frame; returns the next interval, None (unregister) when done."""
    job = session.get().job
    if job is None:
        return None
    try:
        done = job.step()
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
    """Drive `job` to its end without timers (background mode, scripts); `timeout` cancels it, keeping
    the mesh reached so far."""
    end = None if timeout is None else time.monotonic() + timeout
    while not job.step(poll):
        if end is not None and time.monotonic() > end:
            job.cancel(keep=True)
            break
    if session.get().job is job:
        session.get().job = None
    return job


# ---------------------------------------------------------------------------------------------------
# Watching the backend while no fit runs, and file loads.

WATCH_INTERVAL = 0.5


def watch() -> float:
    """Persistent timer: a local backend that died is noticed within WATCH_INTERVAL (the panel then says
    so) even with no fit running; `Popen.poll` never waits."""
    s = session.get()
    if s.job is None and s.local is not None:
        died = session.backend_died()
        if died is not None:
            session.forget_dead(session.died_message(*died, save=userdata.save_backend_log))
            st = status()
            if st is not None:
                st.backend = s.summary()
            tag_redraw()
    return WATCH_INTERVAL


@bpy.app.handlers.persistent
def on_load_pre(*_args: object) -> None:
    """Another file is being opened: the fit stops writing (its objects belong to the old file) but the
    job stays alive on the backend until `on_load_post` knows whether the new file holds its copy."""
    s = session.get()
    if s.job is not None:
        s.job.detach()
    stop_timer()


@bpy.app.handlers.persistent
def on_load_post(*_args: object) -> None:
    """Reattach the running fit to its copy in the opened file, or cancel it; restore the scene where the
    file holds copies of fits that no longer run."""
    s = session.get()
    job = s.job
    running = job.tag if job is not None and job.reattach() else None
    if job is not None and running is None:
        s.job = None
    shown = restore_interrupted(running)
    st = status()
    if st is not None:
        st.backend = s.summary()
        if running is None:
            st.running = False
            if job is not None:
                st.error, st.message = False, job.message
            elif shown:
                st.error, st.message = False, f"an interrupted fit was undone: {', '.join(shown)} shown again"
    if running is not None:
        start_timer()
    tag_redraw()


@bpy.app.handlers.persistent
def on_undo(*_args: object) -> None:
    """Undo or redo may remove the fit copy: the next step then ends the fit cleanly; do it now."""
    if session.get().job is not None:
        tick()


HANDLERS = (("load_pre", on_load_pre), ("load_post", on_load_post), ("load_post_fail", on_load_post),
            ("undo_post", on_undo), ("redo_post", on_undo))


def register() -> None:
    for name, fn in HANDLERS:
        getattr(bpy.app.handlers, name).append(fn)
    if not bpy.app.timers.is_registered(watch):
        bpy.app.timers.register(watch, first_interval=WATCH_INTERVAL, persistent=True)


def unregister() -> None:
    for name, fn in HANDLERS:
        handlers = getattr(bpy.app.handlers, name)
        if fn in handlers:
            handlers.remove(fn)
    if bpy.app.timers.is_registered(watch):
        bpy.app.timers.unregister(watch)
    stop_timer()

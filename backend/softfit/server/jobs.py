"""Jobs and the worker threads that run them.

A Job is shared between the socket loop and one worker: the worker writes progress and the outcome under
the job's lock, the loop reads snapshots. Only the newest progress and vertex frame are kept (latest-only
streaming). Workers wake the loop through an inproc PUSH socket each; they never touch the ROUTER."""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import zmq

from softfit.errors import InputError
from softfit.wire import errors as E
from softfit.wire.events import Progress
from softfit.wire.protocol import json_safe

from .finishing import finish_result
from .request import FitRequest, build

log = logging.getLogger("softfit.server")
WAKE_ENDPOINT = "inproc://softfit-server-wake"


def _num(x: Any) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _plain(metrics: Any) -> dict:
    """Metrics as plain JSON (NaN -> null, unknown objects -> str), so sending them cannot fail."""
    d = json.loads(json.dumps(json_safe(metrics), default=str))
    return d if isinstance(d, dict) else {"metrics": d}


class Job:
    def __init__(self, job_id: str, session: str, request: FitRequest, order: int):
        self.id, self.session, self.order = job_id, session, order
        self.request: FitRequest | None = request  # dropped once the worker has built the data
        self.key = f"{session}/{job_id}"
        self.cancel = threading.Event()
        self.lock = threading.Lock()
        self.state = "queued"
        self.seq = 0
        self.progress: dict | None = None
        self.frame: np.ndarray | None = None
        self.topology = 0  # the fit's topology counter; faces of the newest one (None: the submitted)
        self.frame_faces: np.ndarray | None = None
        self.result: tuple[np.ndarray, np.ndarray, dict, bool] | None = None
        self.extras: dict[str, np.ndarray] = {}  # the finishing step's texture arrays (uv, texture)
        self.error: tuple[str, str] | None = None
        self.submitted = time.monotonic()
        self.notify: Callable[[], None] = lambda: None

    @property
    def final(self) -> bool:
        return self.state in ("done", "failed", "cancelled")

    # -- written by the worker (or the loop for a job that never started) --------------------------

    def start(self) -> bool:
        with self.lock:
            if self.state != "queued" or self.cancel.is_set():
                return False
            self.state, self.seq = "running", self.seq + 1
        return True

    def on_progress(self, p: Progress) -> None:
        """The fit engine's callback: keep only the newest progress and vertices."""
        prog = {"iteration": int(p.iteration), "iterations": int(p.iterations), "loss": _num(p.loss),
                "iou": _num(p.iou), "elapsed": _num(p.elapsed),
                "terms": {str(k): _num(v) for k, v in dict(p.terms or {}).items()},
                "topology": int(p.topology)}
        frame = np.array(p.verts, dtype="<f4", copy=True)
        faces = None
        if prog["topology"] != self.topology and p.faces is not None:
            faces = np.array(p.faces, dtype="<i4", copy=True)  # < max_vertices, so int32 holds them
        with self.lock:
            self.progress, self.frame, self.seq = prog, frame, self.seq + 1
            if faces is not None:
                self.topology, self.frame_faces = prog["topology"], faces
        self.notify()

    def finish(self, verts: np.ndarray, faces: np.ndarray, metrics: dict, cancelled: bool,
               extras: dict[str, np.ndarray] | None = None) -> None:
        with self.lock:
            self.result = (np.ascontiguousarray(verts, "<f8"), np.ascontiguousarray(faces, "<i8"),
                           _plain(metrics), cancelled)
            self.extras = dict(extras or {})
            self.state, self.seq = ("cancelled" if cancelled else "done"), self.seq + 1
        self.notify()

    def cancel_queued(self) -> bool:
        """End a job that has not started (atomically with `start`, so a starting job is never marked)."""
        with self.lock:
            if self.state != "queued":
                return False
            self.error = (E.CANCELLED, "cancelled before it started")
            self.state, self.seq = "cancelled", self.seq + 1
        return True

    def fail(self, code: str, message: str) -> None:
        with self.lock:
            if self.final:
                return
            self.error = (code, message)
            self.state, self.seq = "failed", self.seq + 1
        self.notify()

    # -- read by the loop --------------------------------------------------------------------------

    def snapshot(self, after: int, frames: bool, topology: int = 0) -> tuple[dict, dict[str, np.ndarray]]:
        """(body, arrays) of an `update` reply; the vertex frame only when newer than `after`, with its faces
        only when the client holds another `topology` (faces travel once per remeshing, not per frame)."""
        with self.lock:
            body = {"seq": self.seq, "state": self.state, "queue_position": None, "progress": self.progress,
                    "metrics": None, "error": None, "cancelled": False}
            arrays: dict[str, np.ndarray] = {}
            if frames and self.frame is not None and self.seq > after and not self.final:
                arrays["frame"] = self.frame
                if self.frame_faces is not None and topology != self.topology:
                    arrays["frame_faces"] = self.frame_faces
            if self.result is not None:
                verts, faces, metrics, cancelled = self.result
                arrays["verts"], arrays["faces"] = verts, faces
                arrays.update(self.extras)
                body["metrics"], body["cancelled"] = metrics, cancelled
            if self.error is not None:
                body["error"] = {"code": self.error[0], "message": self.error[1]}
        return body, arrays


class FairQueue:
    """Jobs waiting for a worker, taken fairly between clients: the next job belongs to the session with
    the fewest jobs running and, among those, the one served longest ago (never served first), so a client
    that queued many jobs cannot starve the others; within a session, jobs run in submission order."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._waiting: dict[str, collections.deque[Job]] = {}
        self._running: collections.Counter[str] = collections.Counter()
        self._served: dict[str, int] = {}  # session -> when it last had a job started (a counter)
        self._starts = 0
        self._closed = False

    def put(self, job: Job) -> None:
        with self._cond:
            self._waiting.setdefault(job.session, collections.deque()).append(job)
            self._cond.notify()

    def get(self) -> Job | None:
        """Block until a job is due (None once closed); the caller calls `done(job)` when it ends."""
        with self._cond:
            while not self._closed and not self._waiting:
                self._cond.wait()
            if self._closed:
                return None
            session = min(self._waiting, key=lambda s: (self._running[s], self._served.get(s, -1),
                                                         self._waiting[s][0].order))
            q = self._waiting[session]
            job = q.popleft()
            if not q:
                del self._waiting[session]
            self._running[session] += 1
            self._starts += 1
            self._served[session] = self._starts
            return job

    def done(self, job: Job) -> None:
        with self._cond:
            self._running[job.session] -= 1
            if self._running[job.session] <= 0:
                del self._running[job.session]
                if job.session not in self._waiting:
                    self._served.pop(job.session, None)  # an idle session leaves no trace

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


def pipeline_fit(data: Any, init: Any, params: Any, callback: Any = None, cancel: Any = None,
                 pinned: Any = None) -> Any:
    """A submitted job through `softfit.pipeline.run` (the client's mesh as the initial mesh; the views'
    split and the held-out scoring as for every other front end); the pool's default `fit_fn`."""
    from softfit.fit import FitResult
    from softfit.pipeline import InitSpec, Inputs, run

    out = run(Inputs(data), InitSpec(mesh=init), params, on_progress=callback, cancel=cancel, pinned=pinned)
    return FitResult(out.mesh, out.metrics.raw, out.cancelled)


class WorkerPool:
    """`n` threads taking jobs from a FairQueue; fits release the GIL in torch's kernels, so the socket
    loop stays responsive while they run. With `cuda_devices` > 0 worker i computes on device
    i % cuda_devices (one worker per GPU is the default of `softfit serve`). `fit_fn` has
    `softfit.fit.fit`'s signature (the wire benchmark swaps in a frame source)."""

    def __init__(self, n: int, context: zmq.Context, fit_fn: Callable[..., Any] = pipeline_fit,
                 cuda_devices: int = 0):
        self.queue = FairQueue()
        self._ctx, self._fit, self._cuda = context, fit_fn, cuda_devices
        self._threads = [threading.Thread(target=self._work, args=(i,), name=f"softfit-worker-{i}",
                                          daemon=True) for i in range(n)]

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def submit(self, job: Job) -> None:
        self.queue.put(job)

    def stop(self, timeout: float = 5.0) -> None:
        self.queue.close()
        end = time.monotonic() + timeout
        for t in self._threads:
            if t.is_alive():
                t.join(max(0.0, end - time.monotonic()))

    def _work(self, index: int) -> None:
        if self._cuda:
            import torch

            torch.cuda.set_device(index % self._cuda)  # per thread: "cuda" means this worker's GPU
        push = self._ctx.socket(zmq.PUSH)
        push.setsockopt(zmq.LINGER, 0)
        push.connect(WAKE_ENDPOINT)
        try:
            while (job := self.queue.get()) is not None:
                try:
                    self._run(job, push)
                finally:
                    self.queue.done(job)
        finally:
            push.close()

    def _run(self, job: Job, push: zmq.Socket) -> None:
        key = job.key.encode()

        def notify() -> None:
            # a full queue means the loop is behind on wake-ups; it re-checks held polls on its timer anyway
            with contextlib.suppress(zmq.ZMQError):
                push.send(key, zmq.NOBLOCK)

        job.notify = notify
        if not job.start():
            return
        notify()
        t0 = time.monotonic()
        try:
            request, job.request = job.request, None  # the request's buffers are freed with `data`
            data, init, pinned = build(request)
            res = self._fit(data, init, request.params, callback=job.on_progress, cancel=job.cancel,
                            pinned=pinned)
            extras = finish_result(res, data, request.params, request.texture, request.photos,
                                   request.texture_refine)
            del data
            job.finish(res.mesh.verts, res.mesh.faces, dict(res.metrics), bool(res.cancelled), extras)
            log.info("job %s %s in %.1f s", job.id, "cancelled" if res.cancelled else "done",
                     time.monotonic() - t0)
        except InputError as exc:
            job.fail(E.BAD_REQUEST, str(exc))
            log.info("job %s rejected: %s", job.id, exc)
        except Exception as exc:
            log.exception("job %s failed", job.id)
            job.fail(E.FIT_FAILED, f"{type(exc).__name__}: {exc}")

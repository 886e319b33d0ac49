"""`prepare` requests: SfM cameras and/or an initial mesh from the views, on a short-lived thread of its own.

They are short (seconds) and must not queue behind long fits in the worker pool, so each runs on its own
thread (at most `limit` at once); the outcome is handed to the socket loop through a queue and an inproc
wake-up, since only the loop may touch the ROUTER."""

from __future__ import annotations

import contextlib
import logging
import queue
import threading

import zmq

from softfit.errors import InputError
from softfit.wire import errors as E
from softfit.wire.events import Prepared

from .jobs import WAKE_ENDPOINT
from .request import InitRequest, build_prepared

log = logging.getLogger("softfit.server")
PREPARED_KEY = "prepare:done"  # the wake-up key that tells the loop a `prepared` reply is ready


class Preparer:
    def __init__(self, context: zmq.Context, limit: int):
        self._ctx, self._limit = context, limit
        self._running = 0
        self._lock = threading.Lock()
        self._done: queue.Queue[tuple[bytes, str, Prepared | tuple[str, str]]] = queue.Queue()

    def start(self, identity: bytes, msg_id: str, request: InitRequest) -> bool:
        """Build in the background; False (nothing started) when `limit` builds are already running."""
        with self._lock:
            if self._running >= self._limit:
                return False
            self._running += 1
        threading.Thread(target=self._run, args=(identity, msg_id, request), name="softfit-prepare",
                         daemon=True).start()
        return True

    def finished(self) -> list[tuple[bytes, str, Prepared | tuple[str, str]]]:
        """(identity, request id, Prepared or (error code, message)) of every build done since last asked."""
        out = []
        while True:
            try:
                out.append(self._done.get_nowait())
            except queue.Empty:
                return out

    def _run(self, identity: bytes, msg_id: str, request: InitRequest) -> None:
        outcome: Prepared | tuple[str, str]
        try:
            outcome = build_prepared(request)
        except InputError as exc:
            outcome = (E.BAD_REQUEST, str(exc))
        except Exception as exc:
            log.exception("preparing an initial mesh failed")
            outcome = (E.INTERNAL, f"{type(exc).__name__}: {exc}")
        with self._lock:
            self._running -= 1
        self._done.put((identity, msg_id, outcome))
        push = self._ctx.socket(zmq.PUSH)
        push.setsockopt(zmq.LINGER, 0)
        try:
            push.connect(WAKE_ENDPOINT)
            with contextlib.suppress(zmq.ZMQError):
                push.send(PREPARED_KEY.encode(), zmq.NOBLOCK)
        finally:
            push.close()

"""The server: one ROUTER socket served by one thread that never computes, and a pool of fit workers.

Transport (docs/security.md): local use binds `ipc://` in a fresh 0700 folder where the platform has it
(else TCP loopback); every connection authenticates in ZeroMQ's handshake through a ZAP handler
(`zmq.auth`): PLAIN with a credential derived from the token, or CURVE with a client allow-list off
loopback. A peer without them is refused before it can send a single message, which is what bounds the
memory an unauthenticated peer can make the server use (ZeroMQ buffers whole multipart messages).

Per request: decode and validate (softfit.wire.protocol), reply at once or, for a `poll` with nothing new,
hold the reply until the job moves or the poll's wait runs out (long polling, latest-only). A session
(client) owning unfinished jobs is probed every HEARTBEAT_S with an unsolicited `heartbeat`; when its
connection is gone (ZeroMQ reports the peer unroutable; ZMTP heartbeats drop a silent network peer) and
it does not come back within LOST_GRACE_S, its jobs are cancelled; sessions silent for `client_timeout`
seconds lose their jobs too. Every failure to understand a message becomes an `error` reply; the loop
itself only stops on `stop()`, a signal or the death of `--parent-pid`."""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import os
import shutil
import socket as pysocket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zmq

from softfit import __version__
from softfit.atomic import PRIVATE, write_atomic
from softfit.errors import InputError
from softfit.wire import errors as E
from softfit.wire.keys import allowed_clients_dir, load_server_keys
from softfit.wire.messages import REQUESTS, check_prepare, check_submit
from softfit.wire.protocol import (
    NON_LOOPBACK,
    PROTOCOL_VERSION,
    ZAP_USER,
    Limits,
    Message,
    check_token,
    decode,
    encode,
    error_frames,
    is_loopback,
    new_token,
    zap_password,
)

from .jobs import WAKE_ENDPOINT, Job, WorkerPool
from .parent import ParentWatch
from .prepare import PREPARED_KEY, Preparer
from .request import prepare_request, submit_request

log = logging.getLogger("softfit.server")
HOUSEKEEPING_S = 0.2
HEARTBEAT_S = 0.2  # probe sessions owning unfinished jobs this often
LOST_GRACE_S = 0.6  # a session whose connection is gone gets this long to reconnect (lazy pirate)
ZMTP_HEARTBEAT_MS = (500, 1200)  # ZMTP PING interval and timeout: a peer that stops answering is dropped
DIGEST_HISTORY = 4096
MAX_BATCH = 200  # messages handled before the loop looks at its timers again
LOCAL_BINDS = ("auto", "ipc")
ZAP_DOMAIN = "softfit"


def cuda_device_count() -> int:
    import torch

    return torch.cuda.device_count()


def default_workers(device: str) -> int:
    """One worker per GPU; on a CPU, one (a fit uses every core through torch's threads; raise it with
    --workers to share the cores between clients, each fit then gets cores / workers threads)."""
    return max(1, cuda_device_count()) if device == "cuda" else 1


def ipc_available() -> bool:
    """ipc:// (Unix domain sockets) where the platform has them and folder permissions protect them."""
    return os.name == "posix" and bool(zmq.has("ipc"))


@dataclass
class ServeConfig:
    """bind: "auto" (ipc:// on POSIX, else 127.0.0.1; with a port, 127.0.0.1), "ipc", or a host (a
    non-loopback host needs curve_keys, whose `clients/` folder is the allow-list unless allow_clients
    names another); token: >= 32 hex digits (default: a fresh random one)."""

    bind: str = "auto"
    port: int = 0
    token: str | None = None
    announce: Path | None = None
    curve_keys: Path | None = None
    allow_clients: Path | None = None
    workers: int = 1
    parent_pid: int | None = None
    client_timeout: float = 10.0
    device: str = "auto"
    limits: Limits = field(default_factory=Limits)


@dataclass
class _Session:
    last_seen: float
    jobs: set[str] = field(default_factory=set)
    identity: bytes | None = None  # the connection its last message came on
    lost_at: float | None = None  # when a heartbeat probe found that connection gone


@dataclass
class _Held:
    identity: bytes
    msg_id: str
    after: int
    frames: bool
    deadline: float
    topology: int = 0


def _endpoint(host: str, port: int) -> str:
    h = host.strip("[]")
    if ":" in h:
        h = f"[{h}]"
    return f"tcp://{h}:{port or '*'}"


class Server:
    """Bind in the constructor (so the address is known), serve in `serve_forever`, end with `stop()`."""

    def __init__(self, config: ServeConfig, fit_fn: Callable[..., Any] | None = None,
                 device: tuple[str, str] | None = None):
        c = self.config = config
        if c.workers < 1:
            raise InputError("--workers must be >= 1")
        if c.client_timeout < 4.0:
            raise InputError("--client-timeout must be >= 4 s (clients poll every 2 s at most)")
        if c.token is not None:
            try:
                c.token = check_token(c.token)
            except ValueError as exc:
                raise InputError(str(exc)) from None
        if c.bind == "ipc" and not ipc_available():
            raise InputError("ipc:// is not available on this platform: bind 127.0.0.1")
        local = c.bind in LOCAL_BINDS or is_loopback(c.bind)
        if not local and c.curve_keys is None:
            raise InputError(NON_LOOPBACK.format(bind=c.bind))
        if fit_fn is None:
            from .jobs import pipeline_fit as fit_fn
        if device is None:
            from .device import device_info

            device = device_info(c.device)
        self.device, self.device_name = device
        self.token = c.token or new_token()
        self._key = self.token.encode("utf-8")
        self.limits = c.limits
        self.public_key: str | None = None
        keys = clients = None
        if c.curve_keys is not None:
            try:
                keys = load_server_keys(c.curve_keys)
                clients = allowed_clients_dir(c.curve_keys) if c.allow_clients is None else c.allow_clients
                if not any(Path(clients).glob("*.key")):
                    raise E.WireError(f"no client keys (*.key) in {clients}: nobody could connect")
            except E.WireError as exc:
                raise InputError(str(exc)) from None
        self.ctx = zmq.Context()
        self.runtime_dir: Path | None = None
        self.auth = self._start_authenticator(clients)
        self.router = self.ctx.socket(zmq.ROUTER)
        r = self.router
        r.setsockopt(zmq.LINGER, 0)
        # ZeroMQ bounds each frame, not the message: the largest legitimate frame. Larger ones close the
        # connection while they arrive, before they are buffered.
        r.setsockopt(zmq.MAXMSGSIZE, self.limits.max_frame_bytes())
        r.setsockopt(zmq.ROUTER_MANDATORY, 1)  # unroutable replies raise instead of vanishing silently
        r.setsockopt(zmq.SNDHWM, 1000)  # a reply that finds the queue full is dropped (clients retry)
        r.setsockopt(zmq.HEARTBEAT_IVL, ZMTP_HEARTBEAT_MS[0])
        r.setsockopt(zmq.HEARTBEAT_TIMEOUT, ZMTP_HEARTBEAT_MS[1])
        r.setsockopt(zmq.HANDSHAKE_IVL, 5000)  # a peer that never completes the handshake is dropped
        r.zap_domain = ZAP_DOMAIN.encode()
        if ":" in c.bind.strip("[]"):
            r.setsockopt(zmq.IPV6, 1)
        if keys is not None:
            public, secret = keys
            r.curve_server, r.curve_secretkey, r.curve_publickey = True, secret, public
            self.public_key = public.decode("ascii")
        else:
            r.plain_server = True
        try:
            self.address = self._bind(r)
        except (zmq.ZMQError, OSError) as exc:
            self._destroy()
            raise InputError(f"cannot bind {c.bind}:{c.port or 'any port'}: {exc}") from None
        self.wake = self.ctx.socket(zmq.PULL)
        self.wake.setsockopt(zmq.LINGER, 0)
        self.wake.bind(WAKE_ENDPOINT)
        gpus = cuda_device_count() if self.device == "cuda" else 0
        self.pool = WorkerPool(c.workers, self.ctx, fit_fn, gpus)
        self.preparer = Preparer(self.ctx, self.limits.max_jobs)
        self.jobs: dict[str, Job] = {}
        self.sessions: dict[str, _Session] = {}
        self.held: dict[str, _Held] = {}
        self._digests: collections.deque[bytes] = collections.deque()
        self._digest_set: set[bytes] = set()
        self._order = 0
        self._next_probe = 0.0
        self._stop = False
        self._parent = ParentWatch(c.parent_pid)
        self.exit_reason = ""
        self._served = False

    def _start_authenticator(self, clients: Path | None):
        """ZeroMQ's own authenticator (ZAP) in a thread of this context: CURVE clients must be on the
        allow-list, PLAIN clients must present the token-derived password. It runs before a peer may
        send any message."""
        from zmq.auth.thread import ThreadAuthenticator

        auth = ThreadAuthenticator(self.ctx, log=logging.getLogger("softfit.server.auth"))
        auth.start()
        if clients is not None:
            auth.configure_curve(domain=ZAP_DOMAIN, location=str(clients))
        else:
            password = zap_password(self.token).decode()
            auth.configure_plain(domain=ZAP_DOMAIN, passwords={ZAP_USER.decode(): password})
        return auth

    def _bind(self, r: zmq.Socket) -> str:
        """Bind and return the address clients connect to."""
        c = self.config
        if c.bind == "ipc" or (c.bind == "auto" and not c.port and ipc_available()):
            base = os.environ.get("XDG_RUNTIME_DIR")
            base = base if base and os.path.isdir(base) and len(base) < 60 else None
            self.runtime_dir = Path(tempfile.mkdtemp(prefix="softfit-", dir=base))  # mode 0700
            os.chmod(self.runtime_dir, 0o700)
            address = f"ipc://{self.runtime_dir / 'serve.sock'}"
            r.bind(address)
            return address
        host = "127.0.0.1" if c.bind == "auto" else c.bind
        r.bind(_endpoint(host, c.port))
        endpoint = r.getsockopt(zmq.LAST_ENDPOINT).decode()
        port = int(endpoint.rsplit(":", 1)[1])
        wildcard = host in ("*", "0.0.0.0", "::")
        return _endpoint(pysocket.gethostname() if wildcard else host, port)

    def _destroy(self) -> None:
        """Close the sockets, the authenticator and the context; remove the ipc folder."""
        self.auth.stop()
        self.ctx.destroy(linger=0)
        if self.runtime_dir is not None:
            shutil.rmtree(self.runtime_dir, ignore_errors=True)

    # -- life cycle --------------------------------------------------------------------------------

    def announcement(self) -> dict:
        d = {"address": self.address, "token": self.token, "pid": os.getpid(), "protocol": PROTOCOL_VERSION,
             "version": __version__, "device": self.device}
        if self.public_key:
            d["public_key"] = self.public_key
        return d

    def write_announce(self, path: Path) -> None:
        """Atomically, readable by the owner only (it holds the token)."""
        write_atomic(path, json.dumps(self.announcement()), PRIVATE)  # it holds the token

    def stop(self, reason: str = "stopped") -> None:
        """Ask the loop to end (thread- and signal-safe)."""
        self.exit_reason = self.exit_reason or reason
        self._stop = True

    def serve_forever(self) -> None:
        """Serve until `stop()`; the sockets are closed when it returns."""
        self._served = True
        self.pool.start()
        poller = zmq.Poller()
        poller.register(self.router, zmq.POLLIN)
        poller.register(self.wake, zmq.POLLIN)
        next_housekeeping = 0.0
        try:
            while not self._stop:
                now = time.monotonic()
                wait = min([next_housekeeping - now, *(h.deadline - now for h in self.held.values())])
                ready = dict(poller.poll(max(0, int(wait * 1000)) + 1))
                try:
                    if self.router in ready:
                        self._read_requests()
                    if self.wake in ready:
                        self._read_wakeups()
                    now = time.monotonic()
                    self._answer_expired_polls(now)
                    if now >= next_housekeeping:
                        next_housekeeping = now + HOUSEKEEPING_S
                        self._housekeeping(now)
                except Exception:  # a bug must not take the service down: log it and keep serving
                    log.exception("internal error in the server loop")
        finally:
            self._shutdown()

    def close(self) -> None:
        """Release the sockets of a server that never served (serve_forever closes its own)."""
        if not self._served:
            self._served = True
            self._shutdown()

    def _shutdown(self) -> None:
        log.info("shutting down: %s", self.exit_reason or "stopped")
        for key, h in list(self.held.items()):
            self._reply_error(h.identity, E.SHUTDOWN, "the server is shutting down", h.msg_id,
                              key.split("/")[1])
        self.held.clear()
        for job in self.jobs.values():
            job.cancel.set()
        self.pool.stop(timeout=5.0)
        self.router.close(linger=0)
        self.wake.close(linger=0)
        self._destroy()
        if self.config.announce is not None:
            with contextlib.suppress(OSError):
                self.config.announce.unlink()

    # -- sending ----------------------------------------------------------------------------------

    def _send(self, identity: bytes, frames: list) -> bool:
        """False only when the peer's connection is gone (EHOSTUNREACH); a full queue drops the reply."""
        try:
            self.router.send_multipart([identity, *frames], flags=zmq.NOBLOCK, copy=False)
        except zmq.Again:
            log.debug("dropped a reply: the client's queue is full")
        except zmq.ZMQError as exc:
            # EHOSTUNREACH: the client's connection is gone (it reconnected or died); it asks again if alive
            if exc.errno == zmq.EHOSTUNREACH:
                return False
            log.warning("could not send a reply: %s", exc)
        return True

    def _reply(self, identity: bytes, req: Message, mtype: str, body: dict | None = None,
               arrays: dict | None = None, job: str | None = None) -> None:
        msg = Message(mtype, body or {}, arrays or {}, reply_to=req.id, job=job)
        self._send(identity, encode(msg, self._key))

    def _reply_error(self, identity: bytes, code: str, message: str, reply_to: str | None = None,
                     job: str | None = None, signed: bool = True) -> None:
        self._send(identity, error_frames(self._key, code, message, reply_to, job, signed))

    # -- requests ---------------------------------------------------------------------------------

    def _read_requests(self) -> None:
        for _ in range(MAX_BATCH):
            try:
                frames = self.router.recv_multipart(flags=zmq.NOBLOCK, copy=True)
            except zmq.Again:
                return
            self._handle(frames[0], frames[1:])

    def _handle(self, identity: bytes, frames: list[bytes]) -> None:
        mid = job = None
        try:
            msg = decode(frames, self._key, REQUESTS, self.limits)
            mid, job = msg.id, msg.job
            self._check_replay(frames[1])
            getattr(self, "_on_" + msg.type)(identity, msg)
        except E.ProtocolError as exc:
            self._reply_error(identity, exc.code, exc.message, exc.msg_id or mid, exc.job or job,
                              signed=not exc.unverified)
        except InputError as exc:
            self._reply_error(identity, E.BAD_REQUEST, str(exc), mid, job)
        except Exception as exc:  # a bug: report it, keep serving
            log.exception("internal error handling a message")
            self._reply_error(identity, E.INTERNAL, f"{type(exc).__name__}: {exc}", mid, job)

    def _check_replay(self, sig: bytes) -> None:
        """Jupyter-style digest history: a signature seen before is a replayed message."""
        if sig in self._digest_set:
            raise E.ProtocolError(E.REPLAYED, "this message was sent before (replayed signature)")
        self._digests.append(sig)
        self._digest_set.add(sig)
        if len(self._digests) > DIGEST_HISTORY:
            self._digest_set.discard(self._digests.popleft())

    def _touch(self, session: str | None, identity: bytes | None = None) -> None:
        """A message from `session` (on the connection `identity`): it is alive, and reachable there."""
        s = self.sessions.get(session) if session else None
        if s is not None:
            s.last_seen = time.monotonic()
            if identity is not None:
                s.identity, s.lost_at = identity, None

    def _job(self, msg: Message) -> Job:
        job = self.jobs.get(f"{msg.session}/{msg.job}")
        if job is None:
            why = (f"jobs are cancelled and forgotten when their client is silent for "
                   f"{self.config.client_timeout:g} s, or when the server restarts")
            raise E.ProtocolError(E.UNKNOWN_JOB, f"no job {msg.job!r} for this client ({why})", msg.id,
                                  msg.job)
        return job

    def _on_hello(self, identity: bytes, msg: Message) -> None:
        self._touch(msg.session, identity)
        log.info("hello from %s %s", msg.body["client"], msg.body["version"])
        self._reply(identity, msg, "welcome", {
            "protocol": PROTOCOL_VERSION, "version": __version__, "device": self.device,
            "device_name": self.device_name, "limits": self.limits.to_dict(),
            "heartbeat": self.config.client_timeout / 4, "client_timeout": self.config.client_timeout,
            "workers": self.config.workers})

    def _on_ping(self, identity: bytes, msg: Message) -> None:
        self._reply(identity, msg, "pong", {"echo": msg.body["echo"]} if "echo" in msg.body else {})

    def _on_heartbeat(self, identity: bytes, msg: Message) -> None:
        self._touch(msg.session, identity)
        self._reply(identity, msg, "heartbeat")

    def _on_submit(self, identity: bytes, msg: Message) -> None:
        key = f"{msg.session}/{msg.job}"
        if key in self.jobs:  # a retried submit (its reply was lost): same job, same answer
            self._touch(msg.session, identity)
            position = self._position(self.jobs[key])
            self._reply(identity, msg, "accepted", {"queue_position": position}, job=msg.job)
            return
        check_submit(msg, self.limits)
        session = self.sessions.get(msg.session)
        if len(self.jobs) >= self.limits.max_jobs:
            raise E.ProtocolError(E.BUSY, f"the server holds {len(self.jobs)} jobs, its limit; try later",
                                  msg.id, msg.job)
        if session is not None and len(session.jobs) >= self.limits.max_jobs_per_client:
            raise E.ProtocolError(E.BUSY, f"this client already has {len(session.jobs)} jobs; cancel or "
                                  "release some", msg.id, msg.job)
        request = submit_request(msg)
        if request.params.device == "cuda" and self.device != "cuda":
            raise InputError(f"params ask for device cuda but this server computes on {self.device}")
        if session is None:
            session = self.sessions[msg.session] = _Session(time.monotonic())
        session.identity, session.lost_at = identity, None
        self._order += 1
        job = Job(msg.job, msg.session, request, self._order)
        self.jobs[key] = job
        session.jobs.add(key)
        session.last_seen = time.monotonic()
        self.pool.submit(job)
        log.info("job %s queued: %d views %s, %d vertices", msg.job, len(request.cameras),
                 "x".join(map(str, request.views.shape[1:3])), len(request.verts))
        self._reply(identity, msg, "accepted", {"queue_position": self._position(job)}, job=msg.job)

    def _on_prepare(self, identity: bytes, msg: Message) -> None:
        """An initial mesh from the views: validated here, built on its own thread, answered `prepared`
        from `_read_wakeups` (so the loop never computes)."""
        self._touch(msg.session, identity)
        check_prepare(msg, self.limits)
        request = prepare_request(msg)
        if not self.preparer.start(identity, msg.id, request):
            raise E.ProtocolError(E.BUSY, f"the server is preparing {self.limits.max_jobs} initial meshes, "
                                  "its limit; try later", msg.id)
        log.info("preparing (init %s, cameras %s) from %d views", request.init, request.sfm or "sent",
                 len(request.views))

    def _send_prepared(self) -> None:
        for identity, msg_id, outcome in self.preparer.finished():
            if isinstance(outcome, tuple):
                self._reply_error(identity, outcome[0], outcome[1], msg_id)
            else:
                arrays = {} if outcome.verts is None else {"verts": outcome.verts, "faces": outcome.faces}
                body = {"message": outcome.message[:1000], "transforms": outcome.transforms,
                        "fallback": outcome.fallback}
                self._send(identity, encode(Message("prepared", body, arrays, reply_to=msg_id), self._key))

    def _on_poll(self, identity: bytes, msg: Message) -> None:
        job = self._job(msg)
        self._touch(msg.session, identity)
        held = _Held(identity, msg.id, msg.body["after"], msg.body["frames"],
                     time.monotonic() + msg.body["wait"], msg.body.get("topology", 0))
        old = self.held.pop(job.key, None)
        if old is not None:  # one held poll per job: answer the superseded one now
            self._answer(job, old)
        if job.seq > held.after or job.final or msg.body["wait"] <= 0:
            self._answer(job, held)
        else:
            self.held[job.key] = held

    def _on_cancel(self, identity: bytes, msg: Message) -> None:
        job = self._job(msg)
        self._touch(msg.session, identity)
        self._cancel(job)
        log.info("job %s cancel requested (%s)", job.id, job.state)
        self._reply(identity, msg, "ack", {"state": job.state}, job=msg.job)

    def _on_release(self, identity: bytes, msg: Message) -> None:
        job = self.jobs.get(f"{msg.session}/{msg.job}")
        if job is not None:
            self._cancel(job)
            self._forget(job)
        self._touch(msg.session, identity)
        self._reply(identity, msg, "ack", {"state": "released"}, job=msg.job)

    # -- jobs ---------------------------------------------------------------------------------------

    def _cancel(self, job: Job) -> None:
        job.cancel.set()  # a running fit stops at its next iteration
        job.cancel_queued()
        self._wake(job)

    def _forget(self, job: Job) -> None:
        self.jobs.pop(job.key, None)
        self.held.pop(job.key, None)
        s = self.sessions.get(job.session)
        if s is not None:
            s.jobs.discard(job.key)
            if not s.jobs:
                del self.sessions[job.session]

    def _position(self, job: Job) -> int:
        if job.state != "queued":
            return 0
        return sum(1 for j in self.jobs.values() if j.state == "queued" and j.order < job.order)

    def _answer(self, job: Job, held: _Held) -> None:
        body, arrays = job.snapshot(held.after, held.frames, held.topology)
        body["queue_position"] = self._position(job) if body["state"] == "queued" else None
        msg = Message("update", body, arrays, reply_to=held.msg_id, job=job.id)
        self._send(held.identity, encode(msg, self._key))

    def _wake(self, job: Job) -> None:
        held = self.held.get(job.key)
        if held is not None and (job.seq > held.after or job.final):
            del self.held[job.key]
            self._answer(job, held)

    def _read_wakeups(self) -> None:
        keys = set()
        while True:
            try:
                keys.add(self.wake.recv(zmq.NOBLOCK).decode())
            except zmq.Again:
                break
        if PREPARED_KEY in keys:
            self._send_prepared()
        for key in keys:
            job = self.jobs.get(key)
            if job is not None:
                self._wake(job)

    def _answer_expired_polls(self, now: float) -> None:
        for key, held in list(self.held.items()):
            if now >= held.deadline:
                del self.held[key]
                job = self.jobs.get(key)
                if job is not None:
                    self._answer(job, held)

    def _probe(self, s: _Session, now: float) -> None:
        """Heartbeat a session that owns unfinished jobs: an unsolicited `heartbeat` (no reply_to; clients
        drop it) to the connection it last used. ZeroMQ refuses to route it once that connection is gone:
        the client died, closed its socket, or stopped answering ZMTP pings."""
        if s.identity is None or not any(k in self.jobs and not self.jobs[k].final for k in s.jobs):
            return
        if self._send(s.identity, encode(Message("heartbeat"), self._key)):
            s.lost_at = None
        elif s.lost_at is None:
            s.lost_at = now

    def _drop_session(self, sid: str, why: str) -> None:
        s = self.sessions.pop(sid, None)
        if s is None:
            return
        log.info("client %s %s: cancelling its %d job(s)", sid[:8], why, len(s.jobs))
        for key in list(s.jobs):
            job = self.jobs.get(key)
            if job is not None:
                self._cancel(job)
                self._forget(job)

    def _housekeeping(self, now: float) -> None:
        probe = now >= self._next_probe
        if probe:
            self._next_probe = now + HEARTBEAT_S
        for sid, s in list(self.sessions.items()):
            if probe:
                self._probe(s, now)
            if s.lost_at is not None and now - s.lost_at > LOST_GRACE_S:
                self._drop_session(sid, f"lost its connection {now - s.lost_at:.1f} s ago")
            elif now - s.last_seen > self.config.client_timeout:
                self._drop_session(sid, f"silent for {now - s.last_seen:.1f} s")
        self._send_prepared()  # wake-ups can be dropped under load
        for job in self.jobs.values():  # wake-ups can be dropped under load: re-check held polls
            self._wake(job)
        if self._parent.parent_gone():
            self.stop(f"parent process {self.config.parent_pid} is gone")

"""The client side: a DEALER socket speaking the protocol of `messages.py` (numpy + pyzmq only, so the
Blender add-on ships it).

Every request is retried lazy-pirate style: no reply within timeout/(retries+1) -> close the socket, open
a fresh one, send again; after `timeout` seconds of silence the server is gone (`ServerGone`). Job events
are pulled with `poll`, which asks for the newest state only: a slow caller (a Blender timer) skips
frames instead of building a backlog, and each poll doubles as the heartbeat that keeps the job alive.
Not thread-safe: use one Client per thread."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import zmq

from . import errors as E
from .events import Event, JobError, Prepared, Progress, Queued, Result, VertexFrame
from .keys import load_public_key, load_secret_keys
from .messages import FINAL_STATES, MAX_WAIT, REPLIES, REQUESTS, check_prepare, check_submit
from .protocol import (
    PROTOCOL_VERSION,
    SOFTFIT_VERSION,
    ZAP_USER,
    Limits,
    Message,
    decode,
    encode,
    new_id,
    unsigned_error,
    zap_password,
)

CLIENT_MAXMSGSIZE = 2**30
SEND_RATE = 20e6  # bytes/s assumed when granting a large request extra time before retrying it


@dataclass
class _Job:
    seq: int = -1
    iteration: object = None  # of the last Progress emitted
    poll_id: str | None = None  # the outstanding poll, if any
    poll_deadline: float = 0.0
    misses: int = 0  # polls in a row that got no answer
    queue_position: int | None = None
    events: list[Event] = field(default_factory=list)
    done: bool = False
    topology: int = 0  # of the faces this client holds (0: the submitted mesh)


class Client:
    """A connection to one SoftFit server.

    address: "ipc://..." (local) or "tcp://host:port"; token: the per-launch key every message is signed
    with (and, without CURVE, the source of the connection's PLAIN credentials); server_public_key: the
    server's CURVE public key (Z85 bytes/str or a `server.key` file) for a remote backend; client_key: this
    client's `NAME.key_secret` from `softfit keys client` (the server admits allow-listed keys only);
    timeout: seconds of server silence before `ServerGone` (also the heartbeat timeout)."""

    def __init__(self, address: str, token: str, server_public_key: bytes | str | None = None,
                 timeout: float = 10.0, retries: int = 2, name: str = "softfit-client",
                 client_key: str | None = None):
        if not token:
            raise E.BadToken("a token is required")
        if timeout <= 0 or retries < 0:
            raise ValueError("timeout must be > 0 and retries >= 0")
        self.address, self.timeout, self.retries, self.name = address, float(timeout), int(retries), name
        self._key = token.encode("utf-8")
        self._zap_password = zap_password(token)
        self._server_key = None if server_public_key is None else load_public_key(server_public_key)
        self._client_keys = None if client_key is None else load_secret_keys(client_key)
        self.session = new_id() + new_id()
        self.info: dict | None = None
        self.limits = Limits()
        self._reply_limits = _reply_limits(self.limits)
        self._ctx = zmq.Context()
        self._socket: zmq.Socket | None = None
        self._monitor: zmq.Socket | None = None
        self._poller = zmq.Poller()
        self._pending: set[str] = set()
        self._replies: dict[str, Message] = {}
        self._jobs: dict[str, _Job] = {}
        self._connect()

    # -- connection ---------------------------------------------------------------------------------

    def _connect(self) -> None:
        s = self._ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.IMMEDIATE, 1)  # queue only to a live connection, so a dead server shows as Again
        s.setsockopt(zmq.MAXMSGSIZE, CLIENT_MAXMSGSIZE)
        if self._server_key is not None:
            public, secret = self._client_keys or zmq.curve_keypair()
            s.curve_serverkey, s.curve_publickey, s.curve_secretkey = self._server_key, public, secret
        else:
            s.plain_username, s.plain_password = ZAP_USER, self._zap_password
        # the server's authenticator refuses wrong credentials during the handshake: we learn it here
        self._monitor = s.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_AUTH)
        s.connect(self.address)
        self._socket = s
        self._poller = zmq.Poller()
        self._poller.register(s, zmq.POLLIN)
        self._poller.register(self._monitor, zmq.POLLIN)

    def _close_socket(self, linger: int = 0) -> None:
        if self._socket is None:
            return
        if self._monitor is not None:
            with contextlib.suppress(zmq.ZMQError):
                self._socket.disable_monitor()
            self._monitor.close(linger=0)
            self._monitor = None
        self._socket.close(linger=linger)

    def _check_refused(self) -> None:
        """BadToken when the server's authenticator refused our handshake (wrong token or key)."""
        if self._monitor is None or not self._monitor.poll(0, zmq.POLLIN):
            return
        self._monitor.recv_multipart()
        if self._server_key is not None:
            raise E.BadToken(f"{self.address} refused this client's CURVE key: it is not on the server's "
                             "allow-list (`softfit keys client`), or the token is wrong")
        raise E.BadToken(f"{self.address} refused the connection: the token is wrong")

    def _reconnect(self) -> None:
        """Lazy pirate: drop the socket (and whatever it had queued) and start over."""
        if self._socket is not None:
            self._close_socket(0)
        self._pending.clear()
        self._replies.clear()
        for st in self._jobs.values():
            st.poll_id = None
        self._connect()

    def close(self) -> None:
        """Cancel this client's unfinished jobs (best effort) and close the socket."""
        if self._socket is None:
            return
        for job_id, st in self._jobs.items():
            if not st.done:
                self._send(Message("cancel", session=self.session, job=job_id), time.monotonic() + 0.2)
        self._close_socket(200)
        self._socket = None
        self._ctx.term()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- sending and receiving ---------------------------------------------------------------------

    def _sock(self) -> zmq.Socket:
        if self._socket is None:
            raise E.WireError("the client is closed")
        return self._socket

    def _send(self, msg: Message, deadline: float) -> bool:
        """Send without blocking past `deadline`; False when no connection took the message in time."""
        frames = encode(msg, self._key)
        sock = self._sock()
        while True:
            try:
                sock.send_multipart(frames, flags=zmq.NOBLOCK, copy=True)
                return True
            except zmq.Again:
                self._check_refused()
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                sock.poll(int(min(left, 0.05) * 1000) + 1, zmq.POLLOUT)

    def _receive(self, timeout: float) -> bool:
        """Handle one incoming message if one arrives within `timeout` seconds."""
        sock = self._sock()
        ready = dict(self._poller.poll(max(0, int(timeout * 1000))))
        if self._monitor in ready:
            self._check_refused()
        if sock not in ready:
            return False
        frames = sock.recv_multipart(copy=True)
        refused = unsigned_error(frames)
        if refused is not None:  # refused before its signature was checked: nothing to verify
            code, message = refused
            if code == E.BAD_SIGNATURE:
                raise E.BadToken(f"{self.address} rejected our signature: the token is wrong")
            raise E.RequestRejected(code, message)
        try:
            msg = decode(frames, self._key, REPLIES, self._reply_limits)
        except E.ProtocolError as exc:
            if exc.code == E.BAD_SIGNATURE:
                raise E.BadToken(f"{self.address} rejected our signature or signs with another key: "
                                 "the token is wrong") from None
            if exc.code == E.PROTOCOL_MISMATCH:
                raise E.ProtocolMismatch(f"{self.address}: {exc.message}") from None
            raise E.WireError(f"malformed message from {self.address}: {exc.code}: {exc.message}") from None
        self._dispatch(msg)
        return True

    def _dispatch(self, msg: Message) -> None:
        if msg.type == "error" and msg.body["code"] == E.BAD_SIGNATURE:
            raise E.BadToken(f"{self.address} rejected our message: {msg.body['message']}")
        if msg.type == "error" and msg.body["code"] == E.PROTOCOL_MISMATCH:
            raise E.ProtocolMismatch(f"{self.address}: {msg.body['message']}")
        if msg.reply_to in self._pending:
            self._pending.discard(msg.reply_to)
            self._replies[msg.reply_to] = msg
            return
        for job_id, st in self._jobs.items():
            if st.poll_id is not None and st.poll_id == msg.reply_to:
                st.poll_id, st.misses = None, 0
                if msg.type == "update":
                    self._update(job_id, st, msg)
                elif msg.type == "error":
                    st.events.append(JobError(msg.body["code"], msg.body["message"]))
                    st.done = True
                return
        # anything else answers a request abandoned by a reconnect: stale, dropped

    def _request(self, msg: Message, extra: float = 0.0) -> Message:
        """Send `msg` and return its reply, retrying lazy-pirate style; errors become exceptions."""
        attempts = self.retries + 1
        for _ in range(attempts):
            msg.id = new_id()  # a fresh id (and signature) per attempt
            deadline = time.monotonic() + self.timeout / attempts + extra
            self._pending.add(msg.id)
            if self._send(msg, deadline):
                while msg.id not in self._replies:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._receive(left)
                if msg.id in self._replies:
                    return self._raise_for_error(self._replies.pop(msg.id))
            self._reconnect()
        raise E.ServerGone(f"no answer from {self.address} within {self.timeout:.1f} s: the server is gone")

    @staticmethod
    def _raise_for_error(reply: Message) -> Message:
        if reply.type == "error":
            raise E.RequestRejected(reply.body["code"], reply.body["message"])
        return reply

    # -- requests ----------------------------------------------------------------------------------

    def handshake(self) -> dict:
        """Versions, compute device and limits of the server: {protocol, version, device, device_name,
        limits, heartbeat, client_timeout, workers}."""
        reply = self._request(Message("hello", {"client": self.name[:128], "version": SOFTFIT_VERSION},
                                      session=self.session))
        if reply.type != "welcome":
            raise E.WireError(f"expected a welcome, got {reply.type!r}")
        if reply.body["protocol"] != PROTOCOL_VERSION:
            raise E.ProtocolMismatch(f"the server speaks protocol {reply.body['protocol']}, this client "
                                     f"{PROTOCOL_VERSION}: update the add-on or the backend")
        self.limits = Limits.from_dict(reply.body["limits"])
        self._reply_limits = _reply_limits(self.limits)
        self.info = dict(reply.body)
        return dict(self.info)

    def ping(self) -> float:
        """Round-trip time in seconds."""
        t0 = time.perf_counter()
        self._request(Message("ping", {}))
        return time.perf_counter() - t0

    def heartbeat(self) -> None:
        """Tell the server this client is alive (polling a job does this too)."""
        self._request(Message("heartbeat", session=self.session))

    @staticmethod
    def _view_arrays(silhouettes: np.ndarray | None, images: np.ndarray | None,
                     backdrop: np.ndarray | None = None) -> dict[str, np.ndarray]:
        arrays: dict[str, np.ndarray] = {}
        if silhouettes is not None:
            s = np.asarray(silhouettes)
            arrays["silhouettes"] = (s.astype(np.uint8) * 255 if s.dtype == bool
                                     else s if s.dtype == np.uint8 else s.astype(np.float32))
        if images is not None:
            arrays["images"] = np.asarray(images, dtype=np.uint8)
        if backdrop is not None:
            arrays["backdrop"] = np.ascontiguousarray(np.asarray(backdrop, dtype=np.uint8)[..., :3])
        return arrays

    def prepare(self, silhouettes: np.ndarray | None, images: np.ndarray | None, transforms: dict | None,
                init: str | None = "hull", polys: int | str = "auto", cameras: str | None = None,
                silhouette_method: str | None = None, timeout: float = 120.0, params: dict | None = None,
                backdrop: np.ndarray | None = None, segmentation: dict | None = None) -> Prepared:
        """Ask the server to prepare a fit from the views (same views as `submit`), blocking up to
        `timeout` seconds: an initial mesh `init` ("bbox" or "hull", `softfit.init`; None: none) built
        from the training views of the fit `params` describes (the same params as the `submit`: its
        held-out views must not shape the start), and/or, with `cameras` an SfM spec ("sfm" or
        "sfm:key=value,..."; needs RGB(A) `images`, and `transforms` None), the views' cameras estimated
        by SfM; `backdrop`, `segmentation`: as `submit`'s. RequestRejected (bad_request, ...) when the
        views cannot give what was asked."""
        if self.info is None:
            self.handshake()
        body: dict = {"init": init, "polys": None if polys == "auto" else polys}
        if transforms is not None:
            body["transforms"] = transforms
        if cameras is not None:
            body["cameras"] = cameras
        if silhouette_method is not None:
            body["silhouette"] = silhouette_method
        if params:
            body["params"] = params
        if segmentation:
            body["segmentation"] = segmentation
        msg = Message("prepare", body, self._view_arrays(silhouettes, images, backdrop), session=self.session)
        nbytes = self._check_locally(msg, check_prepare)
        # one attempt gets the whole timeout: a retry would start the work again
        wait = max(0.0, timeout - self.timeout / (self.retries + 1))
        reply = self._request(msg, extra=wait + nbytes / SEND_RATE)
        if reply.type != "prepared":
            raise E.WireError(f"expected prepared, got {reply.type!r}")
        a, b = reply.arrays, reply.body
        verts = np.array(a["verts"], np.float32) if "verts" in a else None
        faces = np.array(a["faces"], np.int32) if "faces" in a else None
        return Prepared(verts, faces, b["transforms"], b["message"], b["fallback"])

    def submit(self, silhouettes: np.ndarray | None, images: np.ndarray | None, transforms: dict,
               verts: np.ndarray, faces: np.ndarray, params: dict | None = None,
               pinned: np.ndarray | None = None, silhouette_method: str | None = None,
               texture: bool | None = None, photos: np.ndarray | None = None,
               backdrop: np.ndarray | None = None, texture_refine: bool | None = None,
               segmentation: dict | None = None) -> str:
        """Queue a fit; returns its job id.

        silhouettes: (N, H, W) float in [0, 1], bool, or uint8 (255 = object); or images (N, H, W, 3|4)
        uint8 (RGBA: alpha is the silhouette; RGB: segmented on the server by `silhouette_method`).
        transforms: transforms.json content with one frame per view, in order. verts (V, 3), faces (F, 3):
        the initial mesh; params: FitParams fields; pinned: indices of vertices that must not move;
        texture: False skips the finishing step's texture (the server's default bakes one from images);
        photos: the same views at a larger size (N, H', W', 3|4) uint8, to bake the texture from (RGBA:
        alpha = the silhouette at that size; RGB: the views' silhouettes upsampled); backdrop: with
        `silhouette_method` "backdrop" and RGB images, the empty scene (H, W, 3) uint8 at their size;
        texture_refine: refine the baked texture against the photos (`softfit fit --texture-refine`);
        segmentation: what an earlier segmentation found, when it made the silhouettes sent (`softfit views`
        writes it into transforms.json): the fit's IoUs are then agreement with it, and say so."""
        if self.info is None:
            self.handshake()
        arrays = self._view_arrays(silhouettes, images, backdrop)
        v = np.asarray(verts)
        arrays["verts"] = v if v.dtype in (np.float32, np.float64) else v.astype(np.float64)
        arrays["faces"] = np.asarray(faces, dtype=np.int64)
        if pinned is not None:
            arrays["pinned"] = np.asarray(pinned, dtype=np.int64).reshape(-1)
        if photos is not None:
            arrays["photos"] = np.asarray(photos, dtype=np.uint8)
        body: dict = {"transforms": transforms, "params": params or {}}
        if silhouette_method is not None:
            body["silhouette"] = silhouette_method
        if texture is not None:
            body["texture"] = bool(texture)
        if texture_refine is not None:
            body["texture_refine"] = bool(texture_refine)
        if segmentation:
            body["segmentation"] = segmentation
        job_id = new_id() + new_id()
        msg = Message("submit", body, arrays, session=self.session, job=job_id)
        nbytes = self._check_locally(msg)
        self._request(msg, extra=nbytes / SEND_RATE)
        self._jobs[job_id] = _Job()  # its first poll reports Queued(position) if it has not started yet
        return job_id

    def _check_locally(self, msg: Message,
                       check: Callable[[Message, Limits], None] = check_submit) -> int:
        """Validate a request as the server will, so bad input fails here with the same message."""
        try:
            frames = encode(msg, self._key)
        except (TypeError, ValueError) as exc:
            raise E.RequestRejected(E.BAD_BODY, f"request is not JSON-serialisable: {exc}") from None
        try:
            check(decode(frames, self._key, REQUESTS, self.limits), self.limits)
        except E.ProtocolError as exc:
            raise E.RequestRejected(exc.code, exc.message) from None
        return sum(len(f) for f in frames)

    def cancel(self, job_id: str) -> None:
        """Ask the server to stop the job; its events end with a cancelled Result or a JobError."""
        self._job(job_id)
        self._request(Message("cancel", session=self.session, job=job_id))

    # -- job events --------------------------------------------------------------------------------

    def _job(self, job_id: str) -> _Job:
        try:
            return self._jobs[job_id]
        except KeyError:
            raise E.WireError(f"unknown job {job_id!r}: not submitted by this client") from None

    def _send_poll(self, job_id: str, st: _Job, wait: float) -> None:
        msg = Message("poll", {"after": st.seq, "frames": True, "wait": float(min(max(wait, 0.0), MAX_WAIT)),
                               "topology": st.topology}, session=self.session, job=job_id)
        now = time.monotonic()
        st.poll_deadline = now + msg.body["wait"] + self.timeout / (self.retries + 1)
        if self._send(msg, now + 0.05):
            st.poll_id = msg.id
        else:
            st.poll_id = "unsent"  # nothing connected: counts as a miss when the deadline passes

    def _check_poll(self, job_id: str, st: _Job) -> None:
        """An unanswered poll past its deadline: reconnect and ask again, or declare the server gone."""
        if st.poll_id is None or time.monotonic() < st.poll_deadline:
            return
        st.misses += 1
        if st.misses > self.retries:
            st.misses, st.poll_id = 0, None  # a later poll (after a restart) starts afresh
            raise E.ServerGone(f"no answer from {self.address} within {self.timeout:.1f} s: "
                               "the server is gone")
        self._reconnect()
        self._send_poll(job_id, st, 0.0)

    def poll(self, job_id: str, timeout: float = 0.0) -> list[Event]:
        """New events of a job, waiting at most `timeout` seconds for some (0: return at once, for
        bpy.app.timers). Each event kind appears only in its newest state."""
        st = self._job(job_id)
        deadline = time.monotonic() + timeout
        while self._receive(0):
            pass
        while not st.done:
            if st.poll_id is None:
                self._send_poll(job_id, st, deadline - time.monotonic())
            if st.events:
                break
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._receive(min(left, max(st.poll_deadline - time.monotonic(), 0.0)))
            self._check_poll(job_id, st)
        if not st.done:
            self._check_poll(job_id, st)
        events, st.events = st.events, []
        return events

    def events(self, job_id: str, timeout: float | None = None) -> Iterator[Event]:
        """Blocking iterator over a job's events; ends after its Result or JobError. `timeout` bounds
        the whole iteration (WireTimeout), the server's silence is bounded by the client's timeout."""
        st = self._job(job_id)
        end = None if timeout is None else time.monotonic() + timeout
        while True:
            left = 1.0 if end is None else min(1.0, end - time.monotonic())
            if left <= 0:
                raise E.WireTimeout(f"job {job_id} did not finish within {timeout:.1f} s")
            yield from self.poll(job_id, left)
            if st.done and not st.events:
                return

    def wait(self, job_id: str, timeout: float | None = None) -> Result:
        """The job's Result; JobFailed if it ended with an error."""
        for ev in self.events(job_id, timeout):
            if isinstance(ev, Result):
                return ev
            if isinstance(ev, JobError):
                raise E.JobFailed(ev.code, ev.message)
        raise E.WireError(f"job {job_id} ended without a result")  # pragma: no cover - events() ends on one

    def _update(self, job_id: str, st: _Job, msg: Message) -> None:
        b, a = msg.body, msg.arrays
        position = b["queue_position"]
        if b["state"] == "queued" and position is not None and position != st.queue_position:
            st.events.append(Queued(position))
            st.queue_position = position
        if b["seq"] > st.seq:
            st.seq = b["seq"]
            p = b["progress"]
            if isinstance(p, dict) and p.get("iteration") != st.iteration:  # a state change repeats it
                prog = _progress(p)
                st.iteration = p.get("iteration")
                st.events.append(prog)
                frame = _frame(prog.iteration, p, a, st) if "frame" in a else None
                if frame is not None:
                    st.events.append(frame)
        if b["state"] in FINAL_STATES:
            st.done = True
            if "verts" in a and "faces" in a:
                st.events.append(Result(a["verts"].astype(np.float64), a["faces"].astype(np.int64),
                                        dict(b["metrics"] or {}), bool(b["cancelled"]), a.get("uv"),
                                        a.get("texture")))
            else:
                err = b["error"] or {}
                st.events.append(JobError(str(err.get("code", E.INTERNAL)), str(err.get("message", ""))))
            self._send(Message("release", session=self.session, job=job_id), time.monotonic() + 0.05)


def _frame(iteration: int, p: dict, a: dict[str, np.ndarray], st: _Job) -> VertexFrame | None:
    """The update's vertex frame, with its faces when the fit remeshed; None for a frame of a topology
    this client lacks the faces of (the next poll names the topology it holds and gets them)."""
    topology = p.get("topology", 0)
    topology = topology if isinstance(topology, int) and not isinstance(topology, bool) else 0
    verts, faces = a["frame"], a.get("frame_faces")
    if faces is not None:
        if len(faces) == 0 or faces.min() < 0 or faces.max() >= len(verts):
            raise E.WireError("the server sent frame faces that do not index the frame's vertices")
        st.topology = topology
        return VertexFrame(iteration, verts, faces.astype(np.int64), topology)
    if topology != st.topology:
        return None
    return VertexFrame(iteration, verts, None, topology)


def _reply_limits(server: Limits) -> Limits:
    """Replies are bounded by the server's mesh limits, but a result's metrics (with the loss history of a
    long fit) may exceed the header size the server accepts from clients."""
    big = CLIENT_MAXMSGSIZE
    return dataclasses.replace(server, max_message_bytes=big, max_header_bytes=big)


def _num(d: dict, key: str, default: float = float("nan")) -> float:
    v = d.get(key)
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else default


def _progress(p: dict) -> Progress:
    terms = p.get("terms")
    return Progress(int(_num(p, "iteration", -1)), int(_num(p, "iterations", 0)), _num(p, "loss"),
                    _num(p, "iou"), _num(p, "elapsed", 0.0),
                    {str(k): _num(terms, k) for k in terms} if isinstance(terms, dict) else {})

"""The add-on's only runtime state: the backend connection, the running fit and the loaded views.

One `Session` lives while the add-on is enabled; `unregister` calls `shutdown()`, which cancels the fit,
closes the socket, stops a backend the add-on launched and drops every reference, so nothing survives a
disable/enable cycle.

Threads: `connect`, `disconnect` and every use of `client` run in worker threads (tasks.py, the fit's
JobPump), never on Blender's main thread, and hold `lock` while they use the client (one socket, one user
at a time). Nothing here touches bpy. The main thread only reads the fields to draw the truth."""

from __future__ import annotations

import contextlib
import secrets
import shlex
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zmq

from ..wire.client import Client
from ..wire.errors import WireError
from ..wire.launcher import LocalBackend, launch_local_backend
from . import backend_path
from .errors import InputError

ADDON_DIR = Path(__file__).resolve().parent.parent  # the extension's root folder
START_TIMEOUT = 120.0  # first start imports torch (and may build caches)
MIN_CLIENT_TIMEOUT = 4.0  # the server refuses less (clients poll every 2 s at most)


@dataclass(frozen=True)
class BackendConfig:
    """How to reach a backend: launch `python` locally, or connect to `address` with `token`/`server_key`."""

    mode: str = "LOCAL"
    python: str = ""
    args: str = ""
    address: str = ""
    token: str = ""
    server_key: str = ""
    timeout: float = 10.0
    client_key: str = ""  # NAME.key_secret for a CURVE server's allow-list


@dataclass
class Session:
    local: LocalBackend | None = None
    client: Client | None = None
    info: dict = field(default_factory=dict)
    config: BackendConfig | None = None
    job: Any = None  # streaming.FitJob while a fit runs
    views: dict[str, Any] = field(default_factory=dict)  # settings key -> (RawViews, FitInputs)
    photos: dict[str, Any] = field(default_factory=dict)  # the texture's photos of the views (fitting.py)
    lock: threading.RLock = field(default_factory=threading.RLock)  # held by whoever uses `client`
    dead: str = ""  # why the last backend went away, shown until the next start
    installer: Any = None  # installer.Installer of the last "Install Local Backend"
    # Names this add-on session's fit copies (with the job id), so a copy saved in a .blend is recognised
    # when that file is opened again while its fit still runs, and only then.
    token: str = field(default_factory=lambda: secrets.token_hex(8))

    @property
    def connected(self) -> bool:
        return self.client is not None

    def summary(self) -> str:
        if self.client is None:
            return f"not connected: {self.dead}" if self.dead else "not connected"
        where = "local" if self.local is not None else self.config.address if self.config else "?"
        device = self.info.get("device_name") or self.info.get("device", "?")
        return f"connected ({where}): SoftFit {self.info.get('version', '?')} on {device}"


_session: Session | None = None


def get() -> Session:
    global _session
    if _session is None:
        _session = Session()
    return _session


def server_args(config: BackendConfig) -> list[str]:
    """`softfit serve` arguments for a local backend: the user's, plus the preferences' timeout as the
    server's client timeout (how long a silent Blender keeps its job) unless the user set one."""
    try:
        args = shlex.split(config.args)
    except ValueError as exc:
        raise InputError(f"server arguments: {exc}") from exc
    if not any(a == "--client-timeout" or a.startswith("--client-timeout=") for a in args):
        args += ["--client-timeout", f"{max(config.timeout, MIN_CLIENT_TIMEOUT):g}"]
    return args


def connect(config: BackendConfig) -> Session:
    """Start (local) or reach (remote) the backend and shake hands; WireError/InputError on failure.
    Blocks for seconds (a local start imports torch): call it from a worker thread (tasks.run)."""
    s = get()
    with s.lock:
        if s.client is not None and s.config == config and backend_died() is None:
            return s
        disconnect()
        _connect(s, config)
    return s


def _connect(s: Session, config: BackendConfig) -> None:
    if config.mode == "LOCAL":
        python = backend_path.local_python(config.python, ADDON_DIR)
        if python is None:
            raise InputError("no backend interpreter: press Install Local Backend in the SoftFit "
                             "preferences, or set its Python path (a Python with softfit installed)")
        if not python.is_file():
            raise InputError(f"backend interpreter not found: {python}")
        local = launch_local_backend(str(python), server_args(config), timeout=START_TIMEOUT)
        try:
            client = local.client(timeout=config.timeout, name="blender-softfit")
            info = client.handshake()
        except BaseException:
            local.stop()
            raise
        s.local = local
    else:
        if not config.address:
            raise InputError("set the remote backend's address (tcp://host:port) in the preferences")
        try:
            client = Client(config.address, config.token, config.server_key or None,
                            timeout=config.timeout, name="blender-softfit",
                            client_key=config.client_key or None)
        except (ValueError, OSError, zmq.ZMQError) as exc:  # bad address or key
            raise InputError(f"cannot connect to {config.address}: {exc}") from exc
        try:
            info = client.handshake()
        except BaseException:
            client.close()
            raise
    s.client, s.info, s.config, s.dead = client, info, config, ""


def disconnect() -> None:
    """Close the connection and stop a backend we launched (blocks up to seconds: worker threads only).
    The running fit's job, if any, is the caller's to end first."""
    s = get()
    with s.lock:
        client, local = s.client, s.local
        s.client, s.local, s.info, s.config = None, None, {}, None
    if client is not None:
        with contextlib.suppress(WireError):
            client.close()
    if local is not None:
        local.stop()


def process_exited(process: Any) -> bool:
    """Whether a child process has ended, without waiting: `poll()`, or on Linux a zombie state (a killed
    process with many threads stays unreapable for seconds while its threads wind down)."""
    if process.poll() is not None:
        return True
    try:
        stat = Path(f"/proc/{process.pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] in ("Z", "X")


def backend_died() -> tuple[int | None, str] | None:
    """(exit code or None if not known yet, log tail) of a local backend whose process has ended."""
    s = get()
    local = s.local
    if local is not None and process_exited(local.process):
        return local.process.returncode, local.log_tail(20000)
    return None


def died_message(code: int | None, log: str, save: Any = None) -> str:
    """'the backend process exited with code 1; its log is in ...' (`save(log)` -> path or None)."""
    path = save(log) if save is not None else None
    how = ("died" if code is None else f"was killed by signal {-code}" if code < 0
           else f"exited with code {code}")
    return f"the backend process {how}" + (f"; its log is in {path}" if path else "")


def forget_dead(message: str) -> None:
    """The local backend died: drop it at once (no waiting), so the panel stops saying "connected"."""
    s = get()
    client, local = s.client, s.local
    s.client, s.local, s.info, s.config, s.dead = None, None, {}, None, message
    if client is not None or local is not None:
        threading.Thread(target=_close_quietly, args=(client, local), daemon=True).start()


def _close_quietly(client: Client | None, local: LocalBackend | None) -> None:
    with get().lock, contextlib.suppress(Exception):
        if client is not None:
            client.close()
    with contextlib.suppress(Exception):
        if local is not None:
            local.stop()


def shutdown() -> None:
    """Forget everything (add-on disabled)."""
    global _session
    if _session is not None:
        if _session.job is not None:
            _session.job.abandon()
            _session.job = None
        disconnect()
        _session.views.clear()
        _session.photos.clear()
    _session = None

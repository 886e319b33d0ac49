"""The add-on's only runtime state: the backend connection, the running fit and the loaded views.

One `Session` lives while the add-on is enabled; `unregister` calls `shutdown()`, which cancels the fit,
closes the socket, stops a backend the add-on launched and drops every reference, so nothing survives a
disable/enable cycle. No threads: everything here runs on Blender's main thread."""

from __future__ import annotations

import contextlib
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zmq

from . import backend_path
from .errors import InputError
from .wire.client import Client
from .wire.errors import WireError
from .wire.launcher import LocalBackend, launch_local_backend

ADDON_DIR = Path(__file__).resolve().parent
START_TIMEOUT = 120.0  # first start imports torch (and may build caches)


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
    views: dict[str, Any] = field(default_factory=dict)  # settings key -> (ViewSet, FitInputs)

    @property
    def connected(self) -> bool:
        return self.client is not None

    def summary(self) -> str:
        if self.client is None:
            return "not connected"
        where = "local" if self.local is not None else self.config.address if self.config else "?"
        device = self.info.get("device_name") or self.info.get("device", "?")
        return f"connected ({where}): SoftFit {self.info.get('version', '?')} on {device}"


_session: Session | None = None


def get() -> Session:
    global _session
    if _session is None:
        _session = Session()
    return _session


def connect(config: BackendConfig) -> Session:
    """Start (local) or reach (remote) the backend and shake hands; WireError/InputError on failure."""
    s = get()
    if s.client is not None and s.config == config and backend_died() is None:
        return s
    disconnect()
    if config.mode == "LOCAL":
        python = backend_path.local_python(config.python, ADDON_DIR)
        if python is None:
            raise InputError("no backend interpreter: set the Python path in the SoftFit preferences "
                             "(a Python with softfit installed, e.g. the repository's .venv)")
        if not python.is_file():
            raise InputError(f"backend interpreter not found: {python}")
        try:
            args = shlex.split(config.args)
        except ValueError as exc:
            raise InputError(f"server arguments: {exc}") from exc
        local = launch_local_backend(str(python), args, timeout=START_TIMEOUT)
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
    s.client, s.info, s.config = client, info, config
    return s


def disconnect() -> None:
    """Close the connection and stop a backend we launched (the running fit, if any, is dropped)."""
    s = get()
    client, local = s.client, s.local
    s.client, s.local, s.info, s.config, s.job = None, None, {}, None, None
    if client is not None:
        with contextlib.suppress(WireError):
            client.close()
    if local is not None:
        local.stop()


def backend_died() -> tuple[int, str] | None:
    """(exit code, log tail) of a local backend whose process has exited, else None."""
    s = get()
    if s.local is not None and s.local.process.poll() is not None:
        return s.local.process.returncode, s.local.log_tail(20000)
    return None


def shutdown() -> None:
    """Forget everything (add-on disabled)."""
    global _session
    if _session is not None:
        disconnect()
        _session.views.clear()
    _session = None

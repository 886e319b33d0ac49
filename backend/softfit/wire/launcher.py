"""Start a local backend (`python -m softfit serve`) from a given interpreter and stop it on exit.

The server binds 127.0.0.1 on a free port with a fresh token and announces both in a JSON file, which is
how the address and token reach us (never the command line). It watches our pid (`--parent-pid`), so it
also goes away if this process dies without running its exit handlers."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .client import Client
from .errors import WireError


@dataclass
class LocalBackend:
    """A running backend process: connect with `client()`, end with `stop()` (also run at exit)."""

    address: str
    token: str
    process: subprocess.Popen
    workdir: Path
    public_key: str | None = None

    @property
    def log_path(self) -> Path:
        return self.workdir / "serve.log"

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def client(self, timeout: float = 10.0, **kw) -> Client:
        return Client(self.address, self.token, self.public_key, timeout=timeout, **kw)

    def stop(self, timeout: float = 5.0) -> int | None:
        """Terminate (SIGTERM: clean shutdown), kill after `timeout` s; returns the exit code."""
        atexit.unregister(self.stop)
        p = self.process
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout)
        shutil.rmtree(self.workdir, ignore_errors=True)
        return p.returncode

    def __enter__(self) -> LocalBackend:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _read_announce(path: Path) -> dict | None:
    try:
        d = json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # not written yet (the server replaces it atomically, but be lenient)
    if not (isinstance(d, dict) and isinstance(d.get("address"), str) and isinstance(d.get("token"), str)):
        return None
    return d


def launch_local_backend(python: str, args: Sequence[str] = (), timeout: float = 60,
                         env: dict[str, str] | None = None) -> LocalBackend:
    """Start `python -m softfit serve --parent-pid <our pid> --announce <file> *args` and wait (at most
    `timeout` s, torch takes a while to import) until it has announced its address and token."""
    workdir = Path(tempfile.mkdtemp(prefix="softfit-backend-"))
    announce = workdir / "announce.json"
    cmd = [python, "-m", "softfit", "serve", "--parent-pid", str(os.getpid()), "--announce", str(announce),
           *args]
    run_env = dict(os.environ if env is None else env, PYTHONUNBUFFERED="1")
    with open(workdir / "serve.log", "wb") as log:
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    env=run_env)
        except OSError as exc:
            shutil.rmtree(workdir, ignore_errors=True)
            raise WireError(f"cannot start the backend with {python}: {exc}") from exc
    backend = LocalBackend("", "", proc, workdir)
    atexit.register(backend.stop)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        info = _read_announce(announce)
        if info is not None:
            backend.address, backend.token = info["address"], info["token"]
            backend.public_key = info.get("public_key")
            return backend
        if proc.poll() is not None:
            tail = backend.log_tail()
            backend.stop()
            raise WireError(f"the backend exited with code {proc.returncode} before announcing "
                            f"itself:\n{tail}")
        time.sleep(0.05)
    tail = backend.log_tail()
    with contextlib.suppress(Exception):
        backend.stop()
    raise WireError(f"the backend did not announce itself within {timeout:.0f} s:\n{tail}")

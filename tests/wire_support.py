"""Shared pieces of the wire tests: a small known scene, the fit parameters, a backend process."""

from __future__ import annotations

import socket
import sys
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from softfit.cameras import Cameras, transforms_dict, turntable
from softfit.mesh.sphere import uv_sphere
from softfit.mesh.types import Mesh

SIZE = 48
VIEWS = 6
# Small but real: full-size rendering from the start, 30 steps, one CPU thread (deterministic).
PARAMS = {"iterations": 30, "resolutions": [[0.0, 0]], "holdout": 0.0, "seed": 0}
LONG = dict(PARAMS, iterations=1_000_000, plateau_patience=0)


@dataclass(frozen=True)
class Scene:
    target: Mesh
    cameras: Cameras
    silhouettes: np.ndarray
    transforms: dict
    init: Mesh


@lru_cache(maxsize=16)
def scene(sx: float = 1.3, sy: float = 0.8, sz: float = 1.0) -> Scene:
    """An ellipsoid with semi-axes 0.5*(sx, sy, sz) hard-rendered with softfit.raster in 6 views of 48²."""
    from softfit.metrics import render_silhouettes

    s = uv_sphere(300, 0.5)
    target = Mesh(s.verts * np.array([sx, sy, sz]), s.faces)
    cams = turntable(np.arange(VIEWS) * 360.0 / VIEWS, elevation_deg=20.0, width=SIZE, height=SIZE)
    sil = render_silhouettes(target, cams)
    tr = transforms_dict(cams, [f"view_{i:02d}.png" for i in range(VIEWS)])
    return Scene(target, cams, sil, tr, uv_sphere(200, 0.5))


def direct_fit(sc: Scene, params: dict):
    """The same fit called in this process, as the server would run it (one torch thread)."""
    from softfit.data.types import MultiViewData
    from softfit.fit import FitParams, fit
    from softfit.fit.engine import torch_threads

    data = MultiViewData(sc.silhouettes, sc.cameras, [f"view_{i:02d}" for i in range(VIEWS)])
    with torch_threads(1):
        return fit(data, sc.init, FitParams.from_dict(dict(params, threads=0)))


def submit(client, sc: Scene, params: dict) -> str:
    return client.submit(sc.silhouettes, None, sc.transforms, sc.init.verts, sc.init.faces, params)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(*args: str, env: dict[str, str] | None = None):
    """`softfit serve` in a process of its own (ipc:// unless the args choose TCP); `env` adds variables."""
    import os

    from softfit.wire.launcher import launch_local_backend

    return launch_local_backend(sys.executable, ["--threads", "1", *args], timeout=120,
                                env=None if env is None else {**os.environ, **env})


def raw_dealer(ctx, address: str, token: str | None, timeout_ms: int = 5000):
    """A bare DEALER speaking to a server as an attacker or fuzzer would: with the transport credential
    derived from `token` (None: none at all, refused by the server's authenticator). Sends time out too
    (zmq.Again): a refused peer can be left without a connection to queue on, and a DEALER's send then
    waits for one, for ever without a timeout (a CI run hung there once)."""
    import zmq

    from softfit.wire.protocol import ZAP_USER, zap_password

    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, timeout_ms)
    sock.setsockopt(zmq.SNDTIMEO, timeout_ms)
    if token is not None:
        sock.plain_username, sock.plain_password = ZAP_USER, zap_password(token)
    sock.connect(address)
    return sock


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


@lru_cache(maxsize=1)
def shared_backend():
    """One `softfit serve` process for the wire tests (2 workers, clients time out after 4 s); the
    launcher stops it when the test session's interpreter exits."""
    return launch("--workers", "2", "--client-timeout", "4")

"""Installing a local backend from Blender's preferences, without a terminal (no bpy: runs in a worker
thread; the preferences draw its progress and log).

Steps: a virtual environment in the add-on's user folder (`bpy.utils.extension_path_user`, kept across
add-on updates), `pip install` of the SoftFit backend package (the wheel `make dist` builds, with the
compiled rasteriser, bundled in the extension under `backend_wheel/`, or a wheel/folder/index the user
names; pip honours the machine's pip configuration, e.g. a local package index), then a self-test: the
new backend is launched and fits a sphere to the exact silhouettes of an ellipsoid. The interpreter is
only reported usable when the self-test fit succeeded.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.cameras import transforms_dict, turntable
from ..core.mesh.sphere import uv_sphere
from ..wire.launcher import launch_local_backend
from .errors import InputError

PACKAGE = "softfit"
SELFTEST_IOU = 0.85  # a 40-iteration fit of a sphere to an ellipsoid's exact silhouettes gets > 0.9


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def bundled_wheel(addon_dir: Path) -> Path | None:
    """The backend wheel shipped inside the extension (zips built by `make dist`), if any."""
    found = sorted((addon_dir / "backend_wheel").glob("softfit-*.whl"))
    return found[-1] if found else None


def base_python() -> str:
    """The interpreter to make the environment from: Blender's own Python (sys.executable in Blender)."""
    return sys.executable


@dataclass
class Installer:
    """One installation run; `start()` runs it in a thread, the fields are read by the UI."""

    venv: Path
    package: str  # a wheel path, a folder of wheels, or a requirement such as "softfit"
    pip_args: str = ""
    python: str = field(default_factory=base_python)
    step: str = ""
    steps_done: int = 0
    steps_total: int = 3
    log_lines: deque = field(default_factory=lambda: deque(maxlen=400))
    error: str = ""
    result: Path | None = None  # the installed interpreter once the self-test passed
    selftest: dict = field(default_factory=dict)
    finished: threading.Event = field(default_factory=threading.Event)
    _proc: subprocess.Popen | None = None
    _cancel: threading.Event = field(default_factory=threading.Event)

    @property
    def log_path(self) -> Path:
        return self.venv.parent / "install.log"

    @property
    def progress(self) -> float:
        return self.steps_done / self.steps_total

    def start(self) -> Installer:
        threading.Thread(target=self._run, name="softfit-install", daemon=True).start()
        return self

    def cancel(self) -> None:
        self._cancel.set()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()

    def _log(self, line: str) -> None:
        self.log_lines.append(line.rstrip())
        try:
            with open(self.log_path, "a", encoding="utf-8") as f:
                f.write(line.rstrip() + "\n")
        except OSError:
            pass

    def pip_command(self) -> list[str]:
        target = self.package
        p = Path(target).expanduser()
        cmd = [str(venv_python(self.venv)), "-m", "pip", "install", "--disable-pip-version-check"]
        if p.is_dir():
            cmd += ["--find-links", str(p), PACKAGE]
        else:
            cmd.append(str(p) if p.is_file() else target)
        try:
            cmd += shlex.split(self.pip_args)
        except ValueError as exc:
            raise InputError(f"pip arguments: {exc}") from exc
        return cmd

    def _run_cmd(self, label: str, cmd: list[str]) -> None:
        self.step = label
        self._log(f"$ {' '.join(cmd)}")
        try:
            self._proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                          stdin=subprocess.DEVNULL,
                                          env=dict(os.environ, PYTHONUNBUFFERED="1"))
        except OSError as exc:
            raise InputError(f"{label}: cannot run {cmd[0]}: {exc}") from exc
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            self._log(line)
        code = self._proc.wait()
        if self._cancel.is_set():
            raise InputError("installation cancelled")
        if code != 0:
            tail = " | ".join(list(self.log_lines)[-3:])
            raise InputError(f"{label} failed (exit code {code}): {tail[-400:]}")

    def _run(self) -> None:
        try:
            self.venv.parent.mkdir(parents=True, exist_ok=True)
            self.log_path.write_text("")
            if not venv_python(self.venv).is_file():
                self._run_cmd("creating the environment", [self.python, "-m", "venv", str(self.venv)])
            self.steps_done = 1
            self._run_cmd("installing the SoftFit backend (pip)", self.pip_command())
            self.steps_done = 2
            self.step = "self-test fit"
            self._log("self-test: fitting a sphere to an ellipsoid's silhouettes")
            self.selftest = selftest_fit(str(venv_python(self.venv)), log=self._log)
            self.steps_done = 3
            self.result = venv_python(self.venv)
            self.step = "done"
            self._log(f"installed: {self.result}")
        except Exception as exc:
            self.error = str(exc)
            self._log(f"error: {exc}")
        finally:
            self._proc = None
            self.finished.set()


def ellipsoid_silhouettes(axes: tuple[float, float, float], views: int = 8, size: int = 64
                          ) -> tuple[np.ndarray, dict]:
    """Exact silhouettes of an axis-aligned ellipsoid at the origin: a pixel is inside when the ray
    through its centre meets the ellipsoid. Returns (N, H, W) uint8 (255 = object) and transforms."""
    cams = turntable((np.arange(views) * 360.0 / views).tolist(), distance=3.0,
                     elevation_deg=[20.0, -15.0] * (views // 2), fov_deg=40.0, width=size, height=size)
    ys, xs = np.mgrid[0:size, 0:size] + 0.5
    sil = np.zeros((views, size, size), np.uint8)
    inv = 1.0 / np.asarray(axes, np.float64)
    for i in range(views):
        d_cam = np.stack([(xs - cams.cx[i]) / cams.fx[i], -(ys - cams.cy[i]) / cams.fy[i],
                          -np.ones_like(xs)], axis=-1)
        d = d_cam @ cams.c2w[i, :3, :3].T * inv
        o = cams.c2w[i, :3, 3] * inv
        a = (d * d).sum(-1)
        b = 2 * (d @ o)
        c = o @ o - 1.0
        sil[i] = np.where(b * b - 4 * a * c >= 0, 255, 0)
    return sil, transforms_dict(cams, [f"view_{i:02d}.png" for i in range(views)])


def selftest_fit(python: str, iterations: int = 40, timeout: float = 600.0,
                 log: Callable[[str], None] = print) -> dict:
    """Launch the backend of `python`, fit a 0.5 sphere to an ellipsoid's silhouettes, stop it; the
    result's metrics. InputError when the fit fails or scores below SELFTEST_IOU on its training views."""
    t0 = time.monotonic()
    backend = launch_local_backend(python, ["--client-timeout", "30"], timeout=180.0)
    try:
        with backend.client(timeout=30.0, name="softfit-selftest") as client:
            info = client.handshake()
            where = info.get("device_name") or info.get("device")
            log(f"self-test: backend {info.get('version')} on {where}")
            sil, transforms = ellipsoid_silhouettes((0.6, 0.45, 0.35))
            sphere = uv_sphere(500, 0.5)
            job = client.submit(sil, None, transforms, sphere.verts, sphere.faces,
                                {"iterations": iterations, "holdout": 0.0})
            result = client.wait(job, timeout=timeout)
    except Exception as exc:
        raise InputError(f"self-test fit failed: {exc}; backend log: {backend.log_tail(600)}") from exc
    finally:
        backend.stop()
    metrics = dict(result.metrics)
    iou = metrics.get("train_iou")
    log(f"self-test: train IoU {iou} after {iterations} iterations, {time.monotonic() - t0:.1f} s")
    if not isinstance(iou, int | float) or iou < SELFTEST_IOU:
        raise InputError(f"self-test fit scored train IoU {iou} (< {SELFTEST_IOU}): the backend is broken")
    return {"train_iou": float(iou), "seconds": time.monotonic() - t0}

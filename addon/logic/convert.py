"""Inputs only the backend can decode (a video, a COLMAP project, HEIC photos), read by the backend's
`softfit views` in a child process into a folder the add-on reads (RGBA views + transforms.json), so an
artist never needs a terminal for them. No bpy: the operator (blender/ops_scene.py) runs this in a worker.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from .errors import InputError
from .views import Turntable

TIMEOUT = 1800.0  # SfM and segmentation of 48 full-size frames take minutes on a CPU


def camera_option(camera_source: str, turntable: Turntable) -> str | None:
    """The `--cameras` of the panel's camera source: SfM, the turntable preset, or the input's own."""
    if camera_source == "SFM":
        return "sfm"
    if camera_source == "TURNTABLE":
        t = turntable
        return (f"turntable:distance={t.distance:g},elevation={t.elevation_deg:g},fov={t.fov_deg:g},"
                f"start={t.start_deg:g},direction={'cw' if t.clockwise else 'ccw'}")
    return None


def views_command(python: str | Path, source: str | Path, out: str | Path, cameras: str | None) -> list[str]:
    return [str(python), "-m", "softfit", "views", str(source), "--out", str(out), "--force",
            *(["--cameras", cameras] if cameras else [])]


def write_views(python: str | Path, source: str | Path, out: str | Path, cameras: str | None,
                timeout: float = TIMEOUT) -> str:
    """Run `softfit views` with the backend's interpreter; returns what it printed (what SoftFit made of
    the input); InputError with its own error line when it fails."""
    cmd = views_command(python, source, out, cameras)
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InputError(f"the backend could not read {Path(source).name}: {exc}") from exc
    if done.returncode != 0:
        lines = [ln for ln in (done.stderr or "").splitlines() if ln.strip()]
        why = lines[-1].removeprefix("softfit views: error: ") if lines else f"exit status {done.returncode}"
        raise InputError(f"the backend could not read {Path(source).name}: {why}")
    return done.stdout.strip()

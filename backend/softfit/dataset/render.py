"""`render_dataset`: validate the options, render in a separate Blender (`bpy`) process into a temporary
folder beside the output, then move it into place, so a failed or interrupted render leaves nothing
half-written. One process holds one Blender, so renders never share state with the caller."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from softfit.atomic import swap_folder
from softfit.dataset.options import ERROR_PREFIX, RenderOptions
from softfit.errors import InputError


def render_dataset(source: str | Path | list[str], out: Path | str, *, force: bool = False,
                   in_process: bool = False, timeout: float | None = None, **options) -> Path:
    """Render a ground-truth dataset of `source` (a built-in name, a mesh file, or several for a SoftRas
    .npz) into `out`; returns `out`. `options` are `RenderOptions` fields (e.g. views=36, size="256x192",
    layout="aloi", background="backdrop"). An existing non-empty `out` needs force=True.

    in_process=True renders with this process's `bpy` (inside Blender, or a process that renders once)."""
    opts = RenderOptions.from_dict({**options, "sources": source})
    out = Path(out).absolute()
    if out.exists() and not out.is_dir():
        raise InputError(f"output {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise InputError(f"output folder {out} is not empty (use --force to replace it)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.rendering-", dir=out.parent))
    try:
        if in_process:
            from softfit.dataset.worker import render_into

            render_into(tmp, opts)
        else:
            _run_worker(opts, tmp, timeout)
        swap_folder(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _run_worker(opts: RenderOptions, tmp: Path, timeout: float | None) -> None:
    opts_file = tmp.with_name(tmp.name + ".json")
    opts_file.write_text(json.dumps(opts.to_dict()))
    try:
        proc = subprocess.run([sys.executable, "-m", "softfit.dataset.worker", str(opts_file), str(tmp)],
                              capture_output=True, text=True, timeout=timeout, env=_worker_env())
    finally:
        opts_file.unlink(missing_ok=True)
    for line in proc.stderr.splitlines():
        if line.startswith(ERROR_PREFIX):
            raise InputError(line[len(ERROR_PREFIX):])
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-20:])
        raise RuntimeError(f"the Blender render process failed (exit {proc.returncode}):\n{tail}")


def _worker_env() -> dict[str, str]:
    """The caller's environment, with this package importable even when it is not installed."""
    env = dict(os.environ)
    backend = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (backend, env.get("PYTHONPATH")) if p)
    return env

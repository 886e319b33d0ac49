"""An output folder that appears complete or not at all: files go to a hidden temporary sibling, which
is renamed into place once everything is written (a crash leaves the old folder, or none)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from softfit.atomic import public_mode, swap_folder
from softfit.errors import InputError


def check_output_dir(out: str | Path, force: bool = False) -> Path:
    """Fail early, before any work, when `out` could not be written: it is a file, a non-empty folder
    (without force), or its parent cannot be created or written. Returns the absolute path."""
    out = Path(out).expanduser().absolute()
    if out.exists() or out.is_symlink():
        if not out.is_dir():
            raise InputError(f"output {out} exists and is not a folder")
        if any(out.iterdir()) and not force:
            raise InputError(f"output folder {out} is not empty (use --force to replace it)")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        probe = tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.probe-")
        os.rmdir(probe)
    except OSError as exc:
        raise InputError(f"cannot write the output folder {out}: {exc.strerror or exc}") from exc
    return out


@contextlib.contextmanager
def atomic_folder(out: str | Path, force: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside `out`; on success it replaces `out`, on any error it is removed."""
    out = check_output_dir(out, force)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    try:
        tmp.chmod(public_mode(folder=True))  # mkdtemp makes it private; the result is an ordinary folder
        yield tmp
        swap_folder(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

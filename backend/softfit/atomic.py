"""Writing files and folders so that readers see the old content or the new, never half of it.

Every caller says which permissions the result gets: `PRIVATE` (0600: the server's announce file holds
its token) or `public_mode()` (what an ordinary file gets under the user's umask): temporary files are
created private, and that must never leak into a result by accident. numpy-free standard library only,
so the Blender add-on ships this module too (`core/atomic.py`)."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

PRIVATE = 0o600


def public_mode(folder: bool = False) -> int:
    """The mode an ordinary new file (or folder) gets under the process's umask."""
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if folder else 0o666) & ~umask


def write_atomic(path: str | Path, data: bytes | str, mode: int) -> None:
    """Write `data` to a temporary sibling with permissions `mode`, then rename it over `path`; a crash
    leaves no partial file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def swap_folder(new: Path, out: Path) -> None:
    """Put the finished folder `new` at `out` (a sibling), replacing what was there: the old folder is
    moved aside first and put back if the move fails, so `out` is always whole, old or new."""
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(out, old)
    try:
        os.replace(new, out)
    except OSError:
        if old is not None:
            os.replace(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)

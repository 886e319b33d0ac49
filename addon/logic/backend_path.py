"""Finding a local backend interpreter (no bpy).

Installed from the repository (the add-on's source folder, or the staged build, lies inside a SoftFit
checkout), the checkout's `.venv` is the backend; otherwise the user names an interpreter in the
preferences (which wins), or `SOFTFIT_PYTHON` names one (handy for scripts and CI).
"""

from __future__ import annotations

import os
from pathlib import Path

MAX_LEVELS = 4  # addon/ or build/extension/softfit/ lie at most this deep in a checkout


def venv_python(root: Path) -> Path | None:
    for rel in (".venv/bin/python", ".venv/Scripts/python.exe"):
        p = root / rel
        if p.is_file():
            return p
    return None


def is_checkout(root: Path) -> bool:
    return (root / "backend" / "softfit" / "__init__.py").is_file() and (root / "pyproject.toml").is_file()


def find_repo_python(addon_dir: Path) -> Path | None:
    """The `.venv` interpreter of the SoftFit checkout holding `addon_dir`, if any."""
    here = addon_dir.resolve()
    for root in [here, *here.parents][: MAX_LEVELS + 1]:
        if is_checkout(root):
            return venv_python(root)
    return None


def local_python(configured: str, addon_dir: Path) -> Path | None:
    """The interpreter to launch: the configured path, else $SOFTFIT_PYTHON, else the checkout's .venv."""
    for cand in (configured, os.environ.get("SOFTFIT_PYTHON", "")):
        if cand:
            return Path(cand).expanduser()
    return find_repo_python(addon_dir)

"""The add-on's folder for user data (Blender keeps it across add-on updates): backend logs."""

from __future__ import annotations

import tempfile
from pathlib import Path

import bpy

from . import ADDON_PACKAGE


def user_dir() -> Path:
    """Blender's per-extension user folder; the temporary folder when not running as an extension
    (the headless script imports the add-on from the checkout)."""
    try:
        return Path(bpy.utils.extension_path_user(ADDON_PACKAGE, create=True))
    except ValueError:  # "does not name an extension"
        return Path(tempfile.gettempdir())


def save_backend_log(text: str) -> Path | None:
    """Keep the log of a backend that died, for the user to read; None when it cannot be written."""
    try:
        path = user_dir() / "softfit-backend.log"
        path.write_text(text)
        return path
    except OSError:
        return None

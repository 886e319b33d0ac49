"""Writing the fitted mesh as OBJ or PLY (no bpy), in Blender's world frame (+Z up), no axis swap: the
backend's own writers (`core/mesh/io.py`, shipped verbatim), so files written from Blender and from the
CLI are the same bytes; written to a temporary name and renamed, a failed export leaves no half file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.mesh.io import save_obj, save_ply
from ..core.mesh.types import Mesh
from .errors import InputError

FORMATS = (".obj", ".ply")


def save_mesh(path: str | Path, verts: np.ndarray, faces: np.ndarray) -> Path:
    """Write world-space `verts` (V, 3) and triangles `faces` (F, 3) as .obj or .ply (by extension)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"{path.name}: export as .obj or .ply")
    if not path.parent.is_dir():
        raise InputError(f"folder does not exist: {path.parent}")
    mesh = Mesh(np.asarray(verts, dtype=np.float64), np.asarray(faces, dtype=np.int64))
    try:
        (save_obj if suffix == ".obj" else save_ply)(path, mesh)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path

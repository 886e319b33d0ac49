"""Writing the fitted mesh as OBJ or PLY (no bpy), in Blender's world frame (+Z up), no axis swap.

Byte-for-byte the formats of `softfit.mesh.io.save_obj` / `save_ply` (which cannot ship in the
extension), so files written from Blender and from the CLI read back the same way. Written to a
temporary name and renamed: a failed export never leaves half a file.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from .core.atomic import public_mode, write_atomic
from .errors import InputError

OBJ_HEADER = (
    "# Written by SoftFit. Coordinates are in Blender's world frame (+Z up), with no axis swap.\n"
    "# Blender: File > Import > Wavefront (.obj) with Forward Axis = Y and Up Axis = Z, or\n"
    "# bpy.ops.wm.obj_import(filepath=..., forward_axis='Y', up_axis='Z').\n"
)
FORMATS = (".obj", ".ply")


def obj_bytes(verts: np.ndarray, faces: np.ndarray) -> bytes:
    buf = io.StringIO()
    buf.write(OBJ_HEADER + f"# {len(verts)} vertices, {len(faces)} triangles\n")
    np.savetxt(buf, np.asarray(verts, dtype=np.float32), fmt="v %.9g %.9g %.9g")  # exact for float32
    np.savetxt(buf, np.asarray(faces, dtype=np.int64) + 1, fmt="f %d %d %d")
    return buf.getvalue().encode("ascii")


def ply_bytes(verts: np.ndarray, faces: np.ndarray) -> bytes:
    header = (
        "ply\nformat binary_little_endian 1.0\n"
        "comment Written by SoftFit. Blender world frame (+Z up), no axis swap.\n"
        f"element vertex {len(verts)}\nproperty float x\nproperty float y\nproperty float z\n"
        f"element face {len(faces)}\nproperty list uchar int vertex_indices\nend_header\n"
    )
    rows = np.empty(len(faces), dtype=np.dtype([("n", "u1"), ("idx", "<i4", (3,))]))
    rows["n"] = 3
    rows["idx"] = faces
    return header.encode("ascii") + np.asarray(verts, dtype="<f4").tobytes() + rows.tobytes()


def save_mesh(path: str | Path, verts: np.ndarray, faces: np.ndarray) -> Path:
    """Write world-space `verts` (V, 3) and triangles `faces` (F, 3) as .obj or .ply (by extension)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"{path.name}: export as .obj or .ply")
    data = obj_bytes(verts, faces) if suffix == ".obj" else ply_bytes(verts, faces)
    if not path.parent.is_dir():
        raise InputError(f"folder does not exist: {path.parent}")
    try:
        write_atomic(path, data, public_mode())
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path

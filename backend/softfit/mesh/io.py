"""Reading and writing triangle meshes as OBJ and PLY, in Blender's world frame (+Z up), no axis swap.

Coordinates are written exactly as they are in `Mesh` (rounded to float32 precision, which is what the
fit produces). Blender's OBJ importer assumes Y-up files unless told otherwise, so SoftFit's OBJ files
say in their header to import them with Forward = Y, Up = Z; its PLY importer already keeps coordinates
as they are (Forward Y, Up Z are its defaults). Files are written to a temporary name and renamed, so a
failed write never leaves half a mesh behind. numpy only: the Blender add-on ships this module
(`core/mesh/io.py`) and exports with it, so both sides write the same bytes.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np

from ..atomic import public_mode, write_atomic
from ..errors import InputError
from .types import Mesh

OBJ_HEADER = (
    "# Written by SoftFit. Coordinates are in Blender's world frame (+Z up), with no axis swap.\n"
    "# Blender: File > Import > Wavefront (.obj) with Forward Axis = Y and Up Axis = Z, or\n"
    "# bpy.ops.wm.obj_import(filepath=..., forward_axis='Y', up_axis='Z').\n"
)

_PLY_TYPES = {
    "char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1",
    "short": "i2", "int16": "i2", "ushort": "u2", "uint16": "u2",
    "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
    "float": "f4", "float32": "f4", "double": "f8", "float64": "f8",
}


def load_mesh(path: str | Path) -> Mesh:
    """Read a triangle mesh from .obj or .ply (polygons are fan-triangulated)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".obj", ".ply"):
        raise InputError(f"{path}: unsupported mesh format {suffix or '(no extension)'}; use .obj or .ply")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read mesh file {path}: {exc.strerror or exc}") from exc
    if not data.strip():
        raise InputError(f"mesh file {path} is empty")
    try:
        verts, polys = _parse_obj(data) if suffix == ".obj" else _parse_ply(data)
        faces = _triangulate(polys, len(verts))
    except InputError as exc:
        raise InputError(f"mesh file {path}: {exc}") from None
    except (ValueError, IndexError, UnicodeDecodeError, OverflowError) as exc:
        raise InputError(f"mesh file {path} is corrupt: {exc}") from None
    if len(verts) == 0 or len(faces) == 0:
        raise InputError(f"mesh file {path} has no {'vertices' if len(verts) == 0 else 'faces'}")
    try:
        return Mesh(verts, faces)
    except InputError as exc:
        raise InputError(f"mesh file {path}: {exc}") from None


def save_obj(path: str | Path, mesh: Mesh) -> None:
    """Write `mesh` as a Wavefront OBJ (vertices and triangles only)."""
    buf = io.StringIO()
    buf.write(OBJ_HEADER + f"# {mesh.n_verts} vertices, {mesh.n_faces} triangles\n")
    # %.9g is exact for float32, the precision Blender stores.
    np.savetxt(buf, np.asarray(mesh.verts, dtype=np.float32), fmt="v %.9g %.9g %.9g")
    np.savetxt(buf, mesh.faces + 1, fmt="f %d %d %d")
    write_atomic(Path(path), buf.getvalue().encode("ascii"), public_mode())


def save_obj_polygons(path: str | Path, verts: np.ndarray, sizes: np.ndarray, corners: np.ndarray,
                      uv: np.ndarray | None = None, mtl: str | None = None, material: str | None = None
                      ) -> None:
    """Write a polygon mesh (quads, n-gons) as OBJ: `sizes` corners per face, `corners` the vertex
    indices of all faces in order, as Blender stores polygons; `uv` (sum sizes, 2): a texture coordinate
    per corner, with `mtl` the material library and `material` its material to use."""
    buf = io.StringIO()
    buf.write(OBJ_HEADER + f"# {len(verts)} vertices, {len(sizes)} polygons\n")
    if mtl:
        buf.write(f"mtllib {mtl}\n")
    np.savetxt(buf, np.asarray(verts, dtype=np.float32), fmt="v %.9g %.9g %.9g")
    if uv is not None:
        np.savetxt(buf, np.asarray(uv, dtype=np.float32), fmt="vt %.9g %.9g")
    if material:
        buf.write(f"usemtl {material}\n")
    starts = np.cumsum(sizes)[:-1]
    for k, face in enumerate(np.split(np.asarray(corners) + 1, starts)):
        if uv is None:
            buf.write("f " + " ".join(map(str, face.tolist())) + "\n")
        else:
            first = 1 + (int(starts[k - 1]) if k else 0)  # the corners' own vt lines, in corner order
            buf.write("f " + " ".join(f"{v}/{first + i}" for i, v in enumerate(face.tolist())) + "\n")
    write_atomic(Path(path), buf.getvalue().encode("ascii"), public_mode())


def save_ply(path: str | Path, mesh: Mesh) -> None:
    """Write `mesh` as a binary little-endian PLY: float x y z, int vertex_indices lists of 3."""
    header = (
        "ply\nformat binary_little_endian 1.0\n"
        "comment Written by SoftFit. Blender world frame (+Z up), no axis swap.\n"
        f"element vertex {mesh.n_verts}\nproperty float x\nproperty float y\nproperty float z\n"
        f"element face {mesh.n_faces}\nproperty list uchar int vertex_indices\nend_header\n"
    )
    face_dtype = np.dtype([("n", "u1"), ("idx", "<i4", (3,))])
    faces = np.empty(mesh.n_faces, dtype=face_dtype)
    faces["n"] = 3
    faces["idx"] = mesh.faces
    body = np.asarray(mesh.verts, dtype="<f4").tobytes() + faces.tobytes()
    write_atomic(Path(path), header.encode("ascii") + body, public_mode())


# ---------------------------------------------------------------------------------------------------
# OBJ


def _parse_obj(data: bytes) -> tuple[np.ndarray, list[list[int]]]:
    """Vertices and 0-based polygons; `f a/b/c` keeps the vertex index, negative indices count back."""
    text = data.decode("utf-8", errors="replace").replace("\\\r\n", " ").replace("\\\n", " ")
    verts: list[list[float]] = []
    polys: list[list[int]] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        key = parts[0]
        if key == "v":
            if len(parts) < 4:
                raise InputError(f"line {lineno}: a vertex needs x y z")
            try:
                verts.append([float(parts[1]), float(parts[2]), float(parts[3])])
            except ValueError:
                raise InputError(f"line {lineno}: bad vertex {line.strip()!r}") from None
        elif key == "f":
            poly = []
            for tok in parts[1:]:
                try:
                    i = int(tok.split("/", 1)[0])
                except ValueError:
                    raise InputError(f"line {lineno}: bad face index {tok!r}") from None
                if i == 0 or (i < 0 and -i > len(verts)):
                    raise InputError(f"line {lineno}: face index {i} out of range")
                poly.append(i - 1 if i > 0 else len(verts) + i)
            if len(poly) < 3:
                raise InputError(f"line {lineno}: a face needs at least 3 vertices")
            polys.append(poly)
        # vt, vn, groups, materials, lines and points say nothing about the surface: skipped.
    return np.asarray(verts, dtype=np.float64).reshape(-1, 3), polys


# ---------------------------------------------------------------------------------------------------
# PLY


def _parse_ply(data: bytes) -> tuple[np.ndarray, np.ndarray | list]:
    end = re.search(rb"end_header[ \t]*\r?\n", data)
    if not data.startswith(b"ply") or end is None:
        raise InputError("not a PLY file (no 'ply' magic or no end_header)")
    header = data[: end.start()].decode("ascii", errors="replace").splitlines()
    body = data[end.end():]
    fmt = None
    elements: list[tuple[str, int, list[tuple]]] = []  # (name, count, [(prop name, type, list count type)])
    for line in header[1:]:
        parts = line.split()
        if not parts or parts[0] in ("comment", "obj_info"):
            continue
        if parts[0] == "format":
            fmt = parts[1] if len(parts) > 1 else None
        elif parts[0] == "element" and len(parts) == 3:
            elements.append((parts[1], int(parts[2]), []))
        elif parts[0] == "property" and elements:
            if parts[1] == "list" and len(parts) == 5:
                elements[-1][2].append((parts[4], _ply_type(parts[3]), _ply_type(parts[2])))
            elif len(parts) == 3:
                elements[-1][2].append((parts[2], _ply_type(parts[1]), None))
            else:
                raise InputError(f"bad PLY property line {line!r}")
        else:
            raise InputError(f"bad PLY header line {line!r}")
    if fmt not in ("ascii", "binary_little_endian", "binary_big_endian"):
        raise InputError(f"unsupported PLY format {fmt!r}")
    read = _read_ply_ascii if fmt == "ascii" else _read_ply_binary
    values = read(body, elements, "<" if fmt == "binary_little_endian" else ">")
    if "vertex" not in values:
        raise InputError("PLY file has no vertex element")
    vert = values["vertex"]
    if not all(k in vert for k in "xyz"):
        raise InputError("PLY vertex element lacks x, y or z")
    verts = np.stack([np.asarray(vert[k], dtype=np.float64) for k in "xyz"], axis=1)
    face = values.get("face", {})
    polys = face.get("vertex_indices", face.get("vertex_index", []))
    return verts, polys


def _ply_type(name: str) -> str:
    if name not in _PLY_TYPES:
        raise InputError(f"unknown PLY type {name!r}")
    return _PLY_TYPES[name]


def _read_ply_binary(body: bytes, elements: list, order: str) -> dict[str, dict]:
    out: dict[str, dict] = {}
    pos = 0
    for name, count, props in elements:
        if not any(p[2] for p in props):  # fixed-size rows: one structured read
            dt = np.dtype([(f"p{i}", order + t) for i, (_, t, _) in enumerate(props)])
            arr = _frombuffer(body, dt, count, pos)
            out[name] = {p[0]: arr[f"p{i}"] for i, p in enumerate(props)}
            pos += dt.itemsize * count
            continue
        fast = _read_uniform_lists(body, props, count, pos, order)
        if fast is not None:
            out[name], pos = fast
            continue
        cols: dict[str, list] = {p[0]: [] for p in props}
        for _ in range(count):
            for pname, t, ct in props:
                if ct is None:
                    cols[pname].append(_frombuffer(body, np.dtype(order + t), 1, pos)[0])
                    pos += np.dtype(t).itemsize
                else:
                    n = int(_frombuffer(body, np.dtype(order + ct), 1, pos)[0])
                    pos += np.dtype(ct).itemsize
                    cols[pname].append(_frombuffer(body, np.dtype(order + t), n, pos))
                    pos += np.dtype(t).itemsize * n
        out[name] = cols
    return out


def _read_uniform_lists(body: bytes, props: list, count: int, pos: int, order: str):
    """Fast path when every list in the element has the length of the first row's (all triangles)."""
    if count == 0:
        return {p[0]: [] for p in props}, pos
    lengths, fields, off = [], [], pos
    for i, (_, t, ct) in enumerate(props):
        if ct is None:
            fields.append((f"p{i}", order + t))
            off += np.dtype(t).itemsize
        else:
            n = int(_frombuffer(body, np.dtype(order + ct), 1, off)[0])
            lengths.append(n)
            fields += [(f"n{i}", order + ct), (f"p{i}", order + t, (n,))]
            off += np.dtype(ct).itemsize + np.dtype(t).itemsize * n
    dt = np.dtype(fields)
    if pos + dt.itemsize * count > len(body):
        return None
    arr = np.frombuffer(body, dt, count, pos)
    for i, (_, _, ct) in enumerate(props):
        if ct is not None and (arr[f"n{i}"] != arr[f"n{i}"][0]).any():
            return None
    return {p[0]: arr[f"p{i}"] for i, p in enumerate(props)}, pos + dt.itemsize * count


def _frombuffer(body: bytes, dt: np.dtype, count: int, pos: int) -> np.ndarray:
    if pos + dt.itemsize * count > len(body):
        raise InputError("PLY file is truncated")
    return np.frombuffer(body, dt, count, pos)


def _read_ply_ascii(body: bytes, elements: list, order: str) -> dict[str, dict]:
    tokens = body.split()
    out: dict[str, dict] = {}
    pos = 0
    for name, count, props in elements:
        if not any(p[2] for p in props):
            n = len(props) * count
            if pos + n > len(tokens):
                raise InputError("PLY file is truncated")
            arr = np.array(tokens[pos:pos + n], dtype=np.float64).reshape(count, len(props))
            out[name] = {p[0]: arr[:, i] for i, p in enumerate(props)}
            pos += n
            continue
        cols: dict[str, list] = {p[0]: [] for p in props}
        for _ in range(count):
            for pname, _t, ct in props:
                if ct is None:
                    cols[pname].append(float(tokens[pos]))
                    pos += 1
                else:
                    k = int(tokens[pos])
                    if pos + 1 + k > len(tokens):
                        raise InputError("PLY file is truncated")
                    cols[pname].append(np.array(tokens[pos + 1:pos + 1 + k], dtype=np.float64))
                    pos += 1 + k
        out[name] = cols
    return out


# ---------------------------------------------------------------------------------------------------


def _triangulate(polys, n_verts: int) -> np.ndarray:
    """Fan-triangulate polygons (v0, vi, vi+1) in file order; rejects indices outside [0, n_verts)."""
    if isinstance(polys, np.ndarray) and polys.ndim == 2:  # uniform PLY lists
        lengths = np.full(len(polys), polys.shape[1], dtype=np.int64)
        flat = polys.reshape(-1)
    else:
        lengths = np.array([len(p) for p in polys], dtype=np.int64)
        flat = np.concatenate([np.asarray(p).reshape(-1) for p in polys]) if len(polys) else np.zeros(0)
    if len(lengths) == 0:
        return np.zeros((0, 3), dtype=np.int64)
    if lengths.min() < 3:
        raise InputError("a face has fewer than 3 vertices")
    if not np.array_equal(flat, np.round(flat)):
        raise InputError("face indices are not integers")
    flat = flat.astype(np.int64)
    if flat.min() < 0 or flat.max() >= n_verts:
        raise InputError(f"face index out of range [0, {n_verts})")
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    n_tris = lengths - 2
    poly = np.repeat(np.arange(len(lengths)), n_tris)
    k = np.arange(n_tris.sum()) - np.repeat(np.cumsum(n_tris) - n_tris, n_tris) + 1
    s0 = starts[poly]
    return np.stack([flat[s0], flat[s0 + k], flat[s0 + k + 1]], axis=1)

"""Source meshes as numpy triangles, built or imported by Blender (needs `bpy`).

Built-ins are normalised to a unit bounding box centred at the origin. Files are imported with
Forward = Y, Up = Z, so that the coordinates in a Z-up file (SoftFit's own, Blender's exports with those
axes) land unchanged in Blender's world."""

from __future__ import annotations

from pathlib import Path

import bmesh
import bpy
import numpy as np

from softfit.dataset.options import BUILTINS
from softfit.dataset.primitives import NUMPY_BUILTINS, normalized, union
from softfit.errors import InputError


def source_triangles(source: str) -> tuple[np.ndarray, np.ndarray]:
    """(verts (V, 3) float64, faces (F, 3) int64) of a built-in name or a mesh file."""
    if source in BUILTINS:
        verts, faces = _builtin(source)
        return normalized(verts), faces
    return _import_file(Path(source))


def _builtin(name: str) -> tuple[np.ndarray, np.ndarray]:
    if name in NUMPY_BUILTINS:
        return NUMPY_BUILTINS[name]()
    bm = bmesh.new()
    try:
        if name in ("suzanne", "suzanne_subdiv"):
            bmesh.ops.create_monkey(bm)
        elif name == "cube":
            bmesh.ops.create_cube(bm, size=1.0)
        elif name == "uv_sphere":
            bmesh.ops.create_uvsphere(bm, u_segments=32, v_segments=16, radius=0.5)
        elif name == "ico_sphere":
            bmesh.ops.create_icosphere(bm, subdivisions=3, radius=0.5)
        elif name in ("cone", "cylinder"):
            bmesh.ops.create_cone(bm, cap_ends=True, cap_tris=True, segments=32, radius1=0.5,
                                  radius2=0.0 if name == "cone" else 0.5, depth=1.0)
        else:  # pragma: no cover - BUILTINS and this list are kept together
            raise InputError(f"unknown built-in mesh {name!r}")
        mesh = bpy.data.meshes.new(name)
        bm.to_mesh(mesh)
    finally:
        bm.free()
    obj = bpy.data.objects.new(name, mesh)
    bpy.context.scene.collection.objects.link(obj)
    if name == "suzanne_subdiv":  # Catmull-Clark, 2 levels: ≈ 16 k smooth triangles
        mod = obj.modifiers.new("subdiv", "SUBSURF")
        mod.levels = mod.render_levels = 2
    try:
        return _world_triangles(obj)
    finally:
        bpy.data.objects.remove(obj)
        bpy.data.meshes.remove(mesh)


def _world_triangles(obj: bpy.types.Object) -> tuple[np.ndarray, np.ndarray]:
    """Triangles of `obj` after its modifiers, in world coordinates."""
    depsgraph = bpy.context.evaluated_depsgraph_get()
    ev = obj.evaluated_get(depsgraph)
    mesh = ev.to_mesh()
    try:
        mesh.calc_loop_triangles()
        co = np.empty(len(mesh.vertices) * 3, dtype=np.float32)
        mesh.vertices.foreach_get("co", co)
        tri = np.empty(len(mesh.loop_triangles) * 3, dtype=np.int32)
        mesh.loop_triangles.foreach_get("vertices", tri)
        m = np.array(ev.matrix_world, dtype=np.float64)
    finally:
        ev.to_mesh_clear()
    verts = co.reshape(-1, 3).astype(np.float64) @ m[:3, :3].T + m[:3, 3]
    return verts, tri.reshape(-1, 3).astype(np.int64)


def _import_file(path: Path) -> tuple[np.ndarray, np.ndarray]:
    suffix = path.suffix.lower()
    before = set(bpy.data.objects)
    axes = {"forward_axis": "Y", "up_axis": "Z"}
    try:
        if suffix == ".obj":
            result = bpy.ops.wm.obj_import(filepath=str(path), **axes)
        elif suffix == ".ply":
            result = bpy.ops.wm.ply_import(filepath=str(path), **axes)
        elif suffix == ".stl":
            result = bpy.ops.wm.stl_import(filepath=str(path), **axes)
        else:
            raise InputError(f"{path}: unsupported mesh format {suffix!r}; use .obj, .ply or .stl")
    except RuntimeError as exc:
        raise InputError(f"Blender could not import {path}: {str(exc).strip()}") from None
    new = [o for o in bpy.data.objects if o not in before]
    try:
        if "FINISHED" not in result:
            raise InputError(f"Blender could not import {path}")
        parts = [_world_triangles(o) for o in new if o.type == "MESH"]
    finally:
        for o in new:
            bpy.data.objects.remove(o)
    parts = [(v, f) for v, f in parts if len(f)]
    if not parts:
        raise InputError(f"mesh file {path} holds no triangles")
    return union(*parts)

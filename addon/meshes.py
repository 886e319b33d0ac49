"""Blender meshes <-> vertex arrays: the initial sphere (bmesh), reading a mesh for a fit, writing
streamed positions (`foreach_set` + `update`), and the copy a fit writes into."""

from __future__ import annotations

import contextlib

import bmesh
import bpy
import numpy as np

from .blend import collection, mesh_object, view_layer
from .core.mesh.sphere_rule import sphere_resolution
from .errors import InputError
from .geometry import check_frame, flat_co, pinned_from_weights, to_local, transform_points

ROLE = "softfit_role"  # custom property: "initial" on spheres, "result" on fit copies
SOURCE = "softfit_source"  # on a fit copy: the object it was fitted from
METRICS = "softfit_metrics"  # on a fit copy: the backend's metrics as JSON


def sphere_mesh(name: str, polys: int, radius: float) -> bpy.types.Mesh:
    """A UV sphere of about `polys` triangles (softfit's `sphere_resolution` rule): every vertex on the
    sphere, poles as triangle fans, quads split into triangles."""
    segments, rings = sphere_resolution(int(polys))
    bm = bmesh.new()
    try:
        bmesh.ops.create_uvsphere(bm, u_segments=segments, v_segments=rings, radius=radius)
        bmesh.ops.triangulate(bm, faces=[f for f in bm.faces if len(f.verts) > 3], quad_method="FIXED")
        mesh = bpy.data.meshes.new(name)
        bm.to_mesh(mesh)
    finally:
        bm.free()
    return mesh


def add_sphere(context: bpy.types.Context, polys: int, radius: float, center: tuple[float, float, float]
               ) -> bpy.types.Object:
    """The initial sphere as a new, selected and active object at `center`."""
    mesh = sphere_mesh("SoftFit Sphere", polys, radius)
    obj = bpy.data.objects.new("SoftFit Sphere", mesh)
    obj.location = center
    obj[ROLE] = "initial"
    collection(context).objects.link(obj)
    select_only(context, obj)
    return obj


def add_initial(context: bpy.types.Context, name: str, verts: np.ndarray, faces: np.ndarray
                ) -> bpy.types.Object:
    """An initial mesh computed elsewhere (world coordinates, triangles) as a new, selected, active object;
    InputError (and nothing added) when the arrays do not make a valid mesh."""
    verts, faces = np.asarray(verts, np.float64), np.asarray(faces, np.int64)
    if verts.ndim != 2 or verts.shape[1] != 3 or faces.ndim != 2 or faces.shape[1] != 3 or len(faces) == 0:
        raise InputError(f"{name}: expected (V, 3) vertices and (F >= 1, 3) faces")
    if faces.min() < 0 or faces.max() >= len(verts) or not np.isfinite(verts).all():
        raise InputError(f"{name}: face indices out of range or non-finite vertices")
    mesh = bpy.data.meshes.new(name)
    mesh.vertices.add(len(verts))
    mesh.vertices.foreach_set("co", verts.astype(np.float32).ravel())
    mesh.loops.add(faces.size)
    mesh.loops.foreach_set("vertex_index", faces.astype(np.int32).ravel())
    mesh.polygons.add(len(faces))
    mesh.polygons.foreach_set("loop_start", np.arange(0, faces.size, 3, dtype=np.int32))
    mesh.update()
    obj = bpy.data.objects.new(name, mesh)
    obj[ROLE] = "initial"
    collection(context).objects.link(obj)
    select_only(context, obj)
    return obj


def select_only(context: bpy.types.Context, obj: bpy.types.Object) -> None:
    layer = view_layer(context)
    for o in layer.objects:
        o.select_set(False)
    obj.select_set(True)
    layer.objects.active = obj


def matrix_np(obj: bpy.types.Object) -> np.ndarray:
    return np.array(obj.matrix_world, dtype=np.float64)


def local_verts(mesh: bpy.types.Mesh) -> np.ndarray:
    co = np.empty(len(mesh.vertices) * 3, dtype=np.float32)
    mesh.vertices.foreach_get("co", co)
    return co.reshape(-1, 3).astype(np.float64)


def triangles(mesh: bpy.types.Mesh) -> np.ndarray:
    """(F, 3) vertex indices of the mesh's triangulation (quads and n-gons split, vertices unchanged)."""
    mesh.calc_loop_triangles()
    tris = np.empty(len(mesh.loop_triangles) * 3, dtype=np.int32)
    mesh.loop_triangles.foreach_get("vertices", tris)
    return tris.reshape(-1, 3).astype(np.int64)


def read_world(obj: bpy.types.Object | None) -> tuple[np.ndarray, np.ndarray]:
    """World-space vertices and triangles of a mesh object (its own vertices, modifiers ignored)."""
    obj, mesh = mesh_object(obj)
    if obj.mode == "EDIT":
        obj.update_from_editmode()
    return transform_points(local_verts(mesh), matrix_np(obj)), triangles(mesh)


def write_world(obj: bpy.types.Object, verts: np.ndarray) -> None:
    """Move the object's vertices to world positions `verts` (V, 3): the streaming hot path."""
    obj, mesh = mesh_object(obj)
    v = check_frame(verts, len(mesh.vertices))
    mesh.vertices.foreach_set("co", flat_co(to_local(v, matrix_np(obj))))
    mesh.update()


def replace_geometry(obj: bpy.types.Object, verts: np.ndarray, faces: np.ndarray) -> None:
    """Give the object a new mesh (world verts, triangles) when the backend changed the topology."""
    obj, old = mesh_object(obj)
    mesh = bpy.data.meshes.new(old.name)
    local = to_local(np.asarray(verts, dtype=np.float64), matrix_np(obj))
    mesh.from_pydata(local.tolist(), [], np.asarray(faces, dtype=np.int64).tolist())
    mesh.update()
    obj.data = mesh
    if old.users == 0:
        bpy.data.meshes.remove(old)


def pinned_indices(obj: bpy.types.Object, group: str) -> np.ndarray | None:
    """Indices of the vertices in vertex group `group` (weight >= 0.5); None when no group is named."""
    if not group:
        return None
    vg = obj.vertex_groups.get(group)
    if vg is None:
        raise InputError(f"{obj.name} has no vertex group {group!r}")
    _obj, mesh = mesh_object(obj)
    idx, w = [], []
    for v in mesh.vertices:
        for g in v.groups:
            if g.group == vg.index:
                idx.append(v.index)
                w.append(g.weight)
    pinned = pinned_from_weights(np.asarray(idx, np.int64), np.asarray(w, np.float64))
    if len(pinned) == 0:
        raise InputError(f"vertex group {group!r} of {obj.name} is empty")
    return pinned


def fit_copy(context: bpy.types.Context, source: bpy.types.Object) -> bpy.types.Object:
    """A copy of `source` (own mesh, no shape keys) for the fit to write into; the source is hidden,
    never modified, so the artist's mesh is never lost."""
    _source, mesh = mesh_object(source)
    obj = source.copy()
    obj.data = copy = mesh.copy()
    if copy.shape_keys is not None:
        obj.shape_key_clear()
    base = source.get(SOURCE, source.name) if source.get(ROLE) == "result" else source.name
    obj.name = f"{base}.fit"
    obj[ROLE] = "result"
    obj[SOURCE] = source.name
    if obj.get(METRICS) is not None:
        del obj[METRICS]
    for coll in source.users_collection:
        coll.objects.link(obj)
    if not obj.users_collection:
        collection(context).objects.link(obj)
    obj.matrix_world = source.matrix_world.copy()
    source.hide_set(True)
    select_only(context, obj)
    return obj


def discard_copy(name: str) -> None:
    """Remove a fit copy and show its source again (a failed fit leaves the scene as it was)."""
    obj = bpy.data.objects.get(name)
    if obj is None:
        return
    source = bpy.data.objects.get(obj.get(SOURCE, ""))
    mesh = obj.data
    bpy.data.objects.remove(obj)
    if isinstance(mesh, bpy.types.Mesh) and mesh.users == 0:
        bpy.data.meshes.remove(mesh)
    if source is not None:
        with contextlib.suppress(RuntimeError):  # not in the current view layer
            source.hide_set(False)

"""Blender meshes <-> vertex arrays: the initial sphere (numpy + `foreach_set`), reading a mesh for a
fit, writing streamed positions (`foreach_set` + `update`), the copy a fit writes into, shape keys."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Generator
from typing import Any

import bpy
import numpy as np

from ..core.mesh.quadtexture import fan_loops
from ..core.mesh.sphere import uv_sphere
from ..logic.errors import InputError
from ..logic.geometry import (
    check_frame,
    flat_co,
    mesh_topology,
    pinned_from_weights,
    to_local,
    transform_points,
)
from .blend import collection, mesh_object, view_layer

ROLE = "softfit_role"  # custom property: "initial" on spheres, "result" on fit copies
SOURCE = "softfit_source"  # on a fit copy: the object it was fitted from
METRICS = "softfit_metrics"  # on a fit copy: the backend's metrics as JSON
JOB = "softfit_job"  # on a fit copy while its fit runs: "<add-on session token>:<job id>" (saved)
HIDDEN = "softfit_hidden"  # on a fit copy while its fit runs: JSON list of the objects hidden for the fit


def attribute(mesh: bpy.types.Mesh, name: str) -> Any:
    """A mesh attribute (its `data` takes and gives whole arrays: `foreach_set`/`foreach_get` copy the
    buffer at once, unlike `vertices.foreach_set("co")`, which goes item by item)."""
    return mesh.attributes[name]


STEP_BUDGET = 0.02  # seconds of main-thread work per step of a mesh built over several timer ticks
FOREACH_FACES = 250_000  # up to this many faces, all face starts go in one `foreach_set` (~10 ms)


def build_mesh_steps(name: str, verts: np.ndarray, faces: np.ndarray,
                     topology: tuple[np.ndarray, np.ndarray] | None = None
                     ) -> Generator[None, None, bpy.types.Mesh]:
    """A new mesh datablock from (V, 3) vertices and (F, 3) triangles, built in steps (each `next` does
    one bounded piece of work, so a timer can spread a large mesh over ticks; the mesh is the generator's
    return value). Everything goes through whole-array attribute writes with the edges given (`topology`
    from `geometry.mesh_topology`, best computed in a worker thread), so Blender derives nothing itself.
    The face starts have no array attribute: up to FOREACH_FACES they go in one `foreach_set`, beyond
    that in slices of STEP_BUDGET. No object uses the mesh until it is complete, so nothing evaluates
    or draws it half-built."""
    verts = np.ascontiguousarray(verts, np.float32).reshape(-1, 3)
    faces = np.ascontiguousarray(faces, np.int32).reshape(-1, 3)
    edges, corner_edge = topology if topology is not None else mesh_topology(faces, len(verts))
    mesh = bpy.data.meshes.new(name)
    mesh.vertices.add(len(verts))
    attribute(mesh, "position").data.foreach_set("vector", verts.ravel())
    yield
    mesh.edges.add(len(edges))
    yield
    attribute(mesh, ".edge_verts").data.foreach_set("value", np.ascontiguousarray(edges, np.int32).ravel())
    yield
    mesh.loops.add(faces.size)
    yield
    attribute(mesh, ".corner_vert").data.foreach_set("value", faces.ravel())
    attribute(mesh, ".corner_edge").data.foreach_set("value", np.ascontiguousarray(corner_edge, np.int32))
    yield
    mesh.polygons.add(len(faces))
    if len(faces) <= FOREACH_FACES:
        mesh.polygons.foreach_set("loop_start", np.arange(0, faces.size, 3, dtype=np.int32))
    else:
        polygons, i = mesh.polygons, 0
        while i < len(faces):
            yield
            end = time.perf_counter() + STEP_BUDGET
            while i < len(faces) and time.perf_counter() < end:
                for j in range(i, min(i + 2048, len(faces))):
                    polygons[j].loop_start = 3 * j
                i = min(i + 2048, len(faces))
    yield
    mesh.update(calc_edges=False)
    return mesh


def mesh_from_arrays(name: str, verts: np.ndarray, faces: np.ndarray,
                     topology: tuple[np.ndarray, np.ndarray] | None = None) -> bpy.types.Mesh:
    """`build_mesh_steps` in one go (small meshes, scripts)."""
    steps = build_mesh_steps(name, verts, faces, topology)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


SphereArrays = tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]


def sphere_arrays(polys: int, radius: float) -> SphereArrays:
    """The backend's UV sphere of about `polys` triangles (`core.mesh.sphere`, shipped verbatim: every
    vertex on the sphere, poles as triangle fans, outward winding) and its topology; no bpy, so a worker
    thread can build a large one."""
    sphere = uv_sphere(int(polys), radius)
    return sphere.verts, sphere.faces, mesh_topology(sphere.faces, len(sphere.verts))


def add_sphere(context: bpy.types.Context, polys: int, radius: float, center: tuple[float, float, float],
               arrays: SphereArrays | None = None) -> bpy.types.Object:
    """The initial sphere as a new, selected and active object at `center` (`arrays`: from
    `sphere_arrays`, computed beforehand)."""
    verts, faces, topology = arrays if arrays is not None else sphere_arrays(polys, radius)
    return link_sphere(context, mesh_from_arrays("SoftFit Sphere", verts, faces, topology), center)


def add_sphere_steps(context: bpy.types.Context, arrays: SphereArrays, center: tuple[float, float, float]
                     ) -> Generator[None, None, bpy.types.Object]:
    """`add_sphere` over several timer ticks (a large sphere: see `build_mesh_steps`)."""
    verts, faces, topology = arrays
    mesh = yield from build_mesh_steps("SoftFit Sphere", verts, faces, topology)
    yield
    return link_sphere(context, mesh, center)


def link_sphere(context: bpy.types.Context, mesh: bpy.types.Mesh, center: tuple[float, float, float]
                ) -> bpy.types.Object:
    obj = bpy.data.objects.new("SoftFit Sphere", mesh)
    obj.location = center
    obj[ROLE] = "initial"
    collection(context).objects.link(obj)
    select_only(context, obj)
    return obj


def add_initial(context: bpy.types.Context, name: str, verts: np.ndarray, faces: np.ndarray,
                topology: tuple[np.ndarray, np.ndarray] | None = None) -> bpy.types.Object:
    """An initial mesh computed elsewhere (world coordinates, triangles) as a new, selected, active object;
    InputError (and nothing added) when the arrays do not make a valid mesh."""
    verts, faces = np.asarray(verts, np.float64), np.asarray(faces, np.int64)
    if verts.ndim != 2 or verts.shape[1] != 3 or faces.ndim != 2 or faces.shape[1] != 3 or len(faces) == 0:
        raise InputError(f"{name}: expected (V, 3) vertices and (F >= 1, 3) faces")
    if faces.min() < 0 or faces.max() >= len(verts) or not np.isfinite(verts).all():
        raise InputError(f"{name}: face indices out of range or non-finite vertices")
    mesh = mesh_from_arrays(name, verts, faces, topology)
    obj = bpy.data.objects.new(name, mesh)
    obj[ROLE] = "initial"
    collection(context).objects.link(obj)
    select_only(context, obj)
    return obj


def select_only(context: bpy.types.Context, obj: bpy.types.Object) -> None:
    layer = view_layer(context)
    if any(o is None for o in layer.objects):
        # Objects removed since the view layer was last synced are listed as None, and setting the active
        # object then can crash Blender (seen without a window, where nothing syncs it): sync it first.
        layer.update()
    for o in layer.objects:
        o.select_set(False)
    obj.select_set(True)
    layer.objects.active = obj


def matrix_np(obj: bpy.types.Object) -> np.ndarray:
    return np.array(obj.matrix_world, dtype=np.float64)


def local_verts(mesh: bpy.types.Mesh) -> np.ndarray:
    co = np.empty(len(mesh.vertices) * 3, dtype=np.float32)
    attribute(mesh, "position").data.foreach_get("vector", co)  # a copy of the array, not item by item
    return co.reshape(-1, 3).astype(np.float64)


def triangles(mesh: bpy.types.Mesh) -> np.ndarray:
    """(F, 3) vertex indices of the mesh's triangles: the corner array itself for a triangle mesh, else
    each polygon split as a fan (vertices unchanged). Read through the attribute arrays, as
    `loop_triangles.foreach_get` takes 150 ms per 200 k triangles."""
    corner = np.empty(len(mesh.loops), dtype=np.int32)
    attribute(mesh, ".corner_vert").data.foreach_get("value", corner)
    return corner[triangle_loops(mesh)].astype(np.int64)


def triangle_loops(mesh: bpy.types.Mesh) -> np.ndarray:
    """(F, 3) corner (loop) indices of `triangles`' triangles: per-corner data such as UVs, by triangle."""
    n_loops, n_polys = len(mesh.loops), len(mesh.polygons)
    if n_loops == 3 * n_polys:  # every polygon has >= 3 corners: all are triangles, in order
        return np.arange(n_loops, dtype=np.int64).reshape(-1, 3)
    starts = np.empty(n_polys, dtype=np.int32)
    mesh.polygons.foreach_get("loop_start", starts)
    return fan_loops(np.diff(np.append(np.sort(starts), n_loops)))  # polygons by their first corner


def read_world(obj: bpy.types.Object | None, depsgraph: bpy.types.Depsgraph | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """World-space vertices and triangles of a mesh object as the artist sees it: with `depsgraph`, the
    evaluated mesh (shape keys, modifiers); without, its own vertices."""
    obj, mesh = mesh_object(obj)
    if obj.mode == "EDIT":
        obj.update_from_editmode()
    if depsgraph is None:
        return transform_points(local_verts(mesh), matrix_np(obj)), triangles(mesh)
    evaluated = obj.evaluated_get(depsgraph)
    em = evaluated.to_mesh()
    try:
        return transform_points(local_verts(em), matrix_np(obj)), triangles(em)
    finally:
        evaluated.to_mesh_clear()


def write_world(obj: bpy.types.Object, verts: np.ndarray) -> None:
    """Move the object's vertices to world positions `verts` (V, 3): the streaming hot path."""
    obj, mesh = mesh_object(obj)
    v = check_frame(verts, len(mesh.vertices))
    # The position attribute takes the buffer as it is; `vertices.foreach_set("co")` goes item by item
    # (about 50 ms per 100 k vertices against well under 1 ms).
    attribute(mesh, "position").data.foreach_set("vector", flat_co(to_local(v, matrix_np(obj))))
    mesh.update()


def write_local(obj: bpy.types.Object, flat: np.ndarray) -> None:
    """Copy a flat float32 buffer of local positions (`geometry.local_buffer`) into the mesh."""
    obj, mesh = mesh_object(obj)
    if flat.size != 3 * len(mesh.vertices):
        raise InputError(f"a frame of {flat.size // 3} vertices for a mesh of {len(mesh.vertices)}")
    attribute(mesh, "position").data.foreach_set("vector", flat)
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


def base_name(source: bpy.types.Object) -> str:
    """The artist's object a fit of `source` belongs to (a result refits on behalf of its source)."""
    return str(source.get(SOURCE, source.name)) if source.get(ROLE) == "result" else source.name


def results_of(base: str) -> list[bpy.types.Object]:
    return [o for o in bpy.data.objects if o.get(ROLE) == "result" and o.get(SOURCE) == base]


def fit_copy(context: bpy.types.Context, source: bpy.types.Object, depsgraph: bpy.types.Depsgraph | None
             ) -> tuple[bpy.types.Object, list[str]]:
    """A copy of `source` for the fit to write into: the evaluated mesh (modifiers and shape keys
    applied, so it has the vertices the fit starts from), no modifiers. The source and the base's other
    results are hidden, never modified; returns the copy and the names of what was hidden."""
    _source, mesh = mesh_object(source)
    obj = source.copy()
    if depsgraph is not None:
        copy = bpy.data.meshes.new_from_object(source.evaluated_get(depsgraph), preserve_all_data_layers=True,
                                               depsgraph=depsgraph)
    else:
        copy = mesh.copy()
    obj.data = copy
    obj.modifiers.clear()
    if copy.shape_keys is not None:
        obj.shape_key_clear()
    base = base_name(source)
    obj.name = f"{base}.fit"
    obj[ROLE] = "result"
    obj[SOURCE] = base
    if obj.get(METRICS) is not None:
        del obj[METRICS]
    for coll in source.users_collection:
        coll.objects.link(obj)
    if not obj.users_collection:
        collection(context).objects.link(obj)
    obj.matrix_world = source.matrix_world.copy()
    hidden = []
    for other in [source, *results_of(base)]:
        if other != obj and not other.hide_get():
            with contextlib.suppress(RuntimeError):  # not in the current view layer
                other.hide_set(True)
                hidden.append(other.name)
    select_only(context, obj)
    return obj, hidden


def remove_object(obj: bpy.types.Object) -> None:
    mesh = obj.data
    bpy.data.objects.remove(obj)
    if isinstance(mesh, bpy.types.Mesh) and mesh.users == 0:
        bpy.data.meshes.remove(mesh)


def discard_copy(name: str, show: list[str] | None = None, uid: int | None = None) -> None:
    """Remove a fit copy (if it is still there and, with `uid`, still the same object) and show the
    objects named in `show` again, the first one selected and active: a failed or cancelled fit leaves
    the scene as it was."""
    obj = bpy.data.objects.get(name)
    if obj is not None and (uid is None or obj.session_uid == uid):
        remove_object(obj)
    shown: list[bpy.types.Object] = []
    for other in show or []:
        o = bpy.data.objects.get(other)
        if o is not None:
            with contextlib.suppress(RuntimeError):  # not in the current view layer
                o.hide_set(False)
                shown.append(o)
    layer = bpy.context.view_layer
    if shown and layer is not None and layer.objects.active is None:
        with contextlib.suppress(RuntimeError, InputError):
            select_only(bpy.context, shown[0])


SHAPE_KEY = "SoftFit"


def write_shape_key(original: bpy.types.Object, result: bpy.types.Object) -> bool:
    """The result's shape as the shape key "SoftFit" on `original` (replacing an earlier one), at value
    1, made so that the shape-key mix equals the result (the other keys keep their values); False when
    the vertex counts differ (modifiers changed the topology: keep the copy instead)."""
    _o, mesh = mesh_object(original)
    _r, rmesh = mesh_object(result)
    n = len(mesh.vertices)
    if n != len(rmesh.vertices):
        return False
    world = transform_points(local_verts(rmesh), matrix_np(result))
    target = to_local(world, matrix_np(original))
    if mesh.shape_keys is None:
        original.shape_key_add(name="Basis", from_mix=False)
    assert mesh.shape_keys is not None
    old = mesh.shape_keys.key_blocks.get(SHAPE_KEY)
    if old is not None:
        original.shape_key_remove(old)
    mix_key = original.shape_key_add(name="SoftFit mix", from_mix=True)  # what the keys show now
    mix = np.empty(n * 3, np.float32)
    mix_key.data.foreach_get("co", mix)
    original.shape_key_remove(mix_key)
    basis = np.empty(n * 3, np.float32)
    mesh.shape_keys.reference_key.data.foreach_get("co", basis)
    key = original.shape_key_add(name=SHAPE_KEY, from_mix=False)
    key.data.foreach_set("co", flat_co(basis.reshape(-1, 3) + target - mix.reshape(-1, 3)))
    key.value = 1.0
    mesh.update()
    return True

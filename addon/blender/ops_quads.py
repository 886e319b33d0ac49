"""Operator: Quad Remesh: Blender's QuadriFlow on the active mesh, for an artist who wants quads to edit.

Blender's own QuadriFlow operator, run from a script, blocks the interface for seconds to minutes. So
this runs it in a second Blender process (`core/mesh/quadriflow.py`, the same child `softfit fit
--quads` runs), from a worker thread: the interface stays live. The child also measures how far the quad
surface strays from the source and retries with more faces until 99 % of it is within the tolerance.
The result is a new object beside the source, which is hidden, not changed: compare, keep either. A
textured source (a fitted result, or any mesh with UVs and an image in its material) passes its texture
on: the child unwraps the quads (Smart UV Project) and carries the colours over texel by texel
(`core/mesh/quadtexture.py`), and the quads get their own material."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import bpy

from ..core.mesh.quadriflow import QuadMesh, QuadriflowError, describe, remesh
from ..logic.errors import InputError, in_panel_terms
from ..logic.geometry import to_local
from . import tasks
from .blend import collection, mesh_object, settings
from .meshes import matrix_np, read_world, select_only
from .ops_mesh import say
from .texturing import apply_texture, read_texture

if TYPE_CHECKING:
    from bpy.stub_internal.rna_enums import OperatorReturnItems

TASK = "quads"
SUFFIX = " Quads"


def launcher() -> tuple[list[str], bool]:
    """Blender's own binary inside Blender; the bpy module's Python where bpy is a module (tests,
    `blender --background` has a binary too)."""
    if bpy.app.binary_path:
        return [bpy.app.binary_path], True
    return [sys.executable], False


def add_quads(context: bpy.types.Context, source: bpy.types.Object, quads: QuadMesh) -> bpy.types.Object:
    """A new object of the quad mesh with the source's transform; the source is hidden. It gets the
    carried-over texture when there is one; never the source's materials, whose UVs it does not have."""
    local = to_local(quads.verts, matrix_np(source))
    mesh = bpy.data.meshes.new(source.name + SUFFIX)
    mesh.from_pydata(local.tolist(), [], [p.tolist() for p in quads.polygons()])
    mesh.shade_smooth()
    mesh.update()
    obj = bpy.data.objects.new(source.name + SUFFIX, mesh)
    obj.matrix_world = source.matrix_world.copy()
    obj["softfit_quads"] = json.dumps(quads.summary())
    collection(context).objects.link(obj)
    if quads.uv is not None and quads.texture is not None:
        apply_texture(obj, quads.uv, quads.texture)
    source.hide_set(True)
    select_only(context, obj)
    return obj


class SOFTFIT_OT_quad_remesh(bpy.types.Operator):
    """Remesh the active mesh into quads with QuadriFlow (in the background), kept within the tolerance of
    its shape; the result is a new object, the source is hidden"""

    bl_idname = "softfit.quad_remesh"
    bl_label = "Quad Remesh"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        obj = context.active_object
        return obj is not None and obj.type == "MESH" and tasks.busy(TASK) is None

    def execute(self, context: bpy.types.Context) -> set[OperatorReturnItems]:
        try:
            source, _mesh = mesh_object(context.active_object)
            verts, faces = read_world(source)
            if len(faces) < 4:
                raise InputError(f"{source.name} has no closed surface to remesh")
            texture = read_texture(source)
        except InputError as exc:
            self.report({"ERROR"}, f"SoftFit: {in_panel_terms(str(exc))}")
            return {"CANCELLED"}
        s = settings(context)
        target = int(s.quad_faces) or None
        tolerance = float(s.quad_tolerance) / 100.0
        argv, blender = launcher()
        name = source.name

        def work() -> QuadMesh:
            return remesh(verts, faces, target, tolerance, argv, blender, texture=texture)

        def done(quads: QuadMesh) -> None:
            src = bpy.data.objects.get(name)
            if src is None:
                say(f"quad remesh of {name}: the object is gone (deleted meanwhile); nothing added", True)
                return
            obj = add_quads(bpy.context, src, quads)
            text = describe(quads.summary(), source="the source")
            say(f"{obj.name}: {text}", "WARNING" in text)

        def failed(exc: BaseException) -> None:
            why = str(exc) if isinstance(exc, QuadriflowError | InputError) else repr(exc)
            say(f"quad remesh of {name} failed: {why}", True)

        tasks.run(TASK, f"quad remeshing {name}", work, done, failed)
        self.report({"INFO"}, f"SoftFit: quad remeshing {name} in the background")
        return {"FINISHED"}


CLASSES = (SOFTFIT_OT_quad_remesh,)

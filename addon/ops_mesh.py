"""Operator: Initial Mesh (the subdivided UV sphere the fit starts from)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import bpy

from .blend import mesh_object, settings
from .errors import InputError
from .meshes import add_sphere

if TYPE_CHECKING:
    from bpy.stub_internal.rna_enums import OperatorReturnItems


class SOFTFIT_OT_initial_mesh(bpy.types.Operator):
    """Add the initial UV sphere (triangulated, every vertex on the sphere) with the chosen triangle count"""

    bl_idname = "softfit.initial_mesh"
    bl_label = "Initial Mesh"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context: bpy.types.Context) -> set[OperatorReturnItems]:
        if context.mode != "OBJECT":
            bpy.ops.object.mode_set(mode="OBJECT")
        try:
            s = settings(context)
            center = (s.init_center[0], s.init_center[1], s.init_center[2])
            _obj, mesh = mesh_object(add_sphere(context, s.init_polys, s.init_radius, center))
        except InputError as exc:
            self.report({"ERROR"}, f"SoftFit: {exc}")
            return {"CANCELLED"}
        self.report({"INFO"}, f"SoftFit: sphere with {len(mesh.vertices)} vertices, "
                              f"{len(mesh.polygons)} triangles")
        return {"FINISHED"}


CLASSES = (SOFTFIT_OT_initial_mesh,)

"""Operator: export the active mesh as OBJ or PLY in Blender's world frame (+Z up, no axis swap).

No `from __future__ import annotations`: Blender reads the property annotations as objects."""

from typing import TYPE_CHECKING

import bpy
from bpy.props import StringProperty
from bpy_extras.io_utils import ExportHelper

from ..logic.errors import InputError, in_panel_terms
from ..logic.meshfile import save_mesh
from .meshes import read_world

if TYPE_CHECKING:
    from bpy.stub_internal.rna_enums import OperatorReturnItems


class SOFTFIT_OT_export(bpy.types.Operator, ExportHelper):  # type: ignore[misc]  # stubs: invoke/check differ
    """Write the active mesh (world coordinates, triangles) as .obj or .ply"""

    bl_idname = "softfit.export"
    bl_label = "Export Mesh"
    filename_ext = ".obj"
    filter_glob: StringProperty(default="*.obj;*.ply", options={"HIDDEN"})
    check_extension = False  # .ply is as welcome as .obj
    if TYPE_CHECKING:
        filepath: str  # ExportHelper's property, as the type checker should see it

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return context.active_object is not None and context.active_object.type == "MESH"

    def execute(self, context: bpy.types.Context) -> "set[OperatorReturnItems]":
        try:
            verts, faces = read_world(context.active_object)
            path = save_mesh(self.filepath, verts, faces)
        except InputError as exc:
            self.report({"ERROR"}, f"SoftFit: {in_panel_terms(str(exc))}")
            return {"CANCELLED"}
        self.report({"INFO"}, f"SoftFit: wrote {path}")
        return {"FINISHED"}


CLASSES = (SOFTFIT_OT_export,)

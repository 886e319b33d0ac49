"""Operator: import a `softfit fit` result (its `mesh.glb`) as a textured object.

Blender's own glTF importer reads the file: it converts glTF's +Y up back to Blender's +Z up (SoftFit
wrote the file from Blender's world frame), merges the vertices glTF had to split along UV seams (the
mesh stays watertight) and builds a Principled material whose Base Color is the baked texture.

No `from __future__ import annotations`: Blender reads the property annotations as objects."""

from pathlib import Path
from typing import TYPE_CHECKING

import bpy
from bpy.props import StringProperty
from bpy_extras.io_utils import ImportHelper

if TYPE_CHECKING:
    from bpy.stub_internal.rna_enums import OperatorReturnItems

RESULT_FILE = "mesh.glb"


def result_file(path: str) -> Path:
    """`path` itself if it is a .glb file, else the mesh.glb inside the result folder `path`."""
    p = Path(path)
    if p.is_dir() or p.name in ("", "metrics.json", "mesh.obj", "mesh.ply"):
        p = (p if p.is_dir() else p.parent) / RESULT_FILE
    if p.suffix.lower() != ".glb":
        raise ValueError(f"{p} is not a .glb file: choose a SoftFit result folder or its mesh.glb")
    if not p.is_file():
        raise ValueError(f"{p} not found: was the fit run with --no-texture?")
    return p


def import_result(context: bpy.types.Context, path: str) -> bpy.types.Object:
    """Import the textured result and return its mesh object (selected and active)."""
    glb = result_file(path)
    before = set(bpy.data.objects)
    bpy.ops.import_scene.gltf(filepath=str(glb), merge_vertices=True)
    new = [o for o in bpy.data.objects if o not in before and isinstance(o.data, bpy.types.Mesh)]
    if not new:
        raise ValueError(f"{glb} holds no mesh")
    obj = new[0]
    obj.name = f"SoftFit {glb.parent.name}"
    mesh = obj.data
    assert isinstance(mesh, bpy.types.Mesh)
    for mat in mesh.materials:
        tree = mat.node_tree if mat is not None else None
        images = [n for n in tree.nodes if n.type == "TEX_IMAGE"] if tree is not None else []
        if tree is not None and images:  # the image node active: Solid view's Texture colour uses it
            tree.nodes.active = images[0]
    if context.view_layer is not None:
        context.view_layer.objects.active = obj
    return obj


class SOFTFIT_OT_import_result(bpy.types.Operator, ImportHelper):  # type: ignore[misc]
    """Import a SoftFit result folder's textured mesh (mesh.glb) with its material"""

    bl_idname = "softfit.import_result"
    bl_label = "Import SoftFit Result"
    filename_ext = ".glb"
    filter_glob: StringProperty(default="*.glb", options={"HIDDEN"})
    if TYPE_CHECKING:
        filepath: str

    def execute(self, context: bpy.types.Context) -> "set[OperatorReturnItems]":
        try:
            obj = import_result(context, self.filepath)
        except (ValueError, RuntimeError) as exc:
            self.report({"ERROR"}, f"SoftFit: {exc}")
            return {"CANCELLED"}
        self.report({"INFO"}, f"SoftFit: imported {obj.name}")
        return {"FINISHED"}


def _menu(self: bpy.types.Menu, context: bpy.types.Context) -> None:  # noqa: ARG001
    if self.layout is not None:
        self.layout.operator(SOFTFIT_OT_import_result.bl_idname, text="SoftFit result (.glb)")


def register() -> None:
    bpy.types.TOPBAR_MT_file_import.append(_menu)


def unregister() -> None:
    bpy.types.TOPBAR_MT_file_import.remove(_menu)


CLASSES = (SOFTFIT_OT_import_result,)

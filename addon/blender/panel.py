"""The sidebar panel (View3D > Sidebar > SoftFit) and the status-bar progress line."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import bpy

from ..logic.summary import metric_lines
from . import fitting, tasks
from .blend import layout, settings, status
from .meshes import METRICS, ROLE
from .preferences import draw_backend_box

if TYPE_CHECKING:
    from .properties import SOFTFIT_PG_settings

CATEGORY = "SoftFit"


class _Panel(bpy.types.Panel):
    """Shared placement; never registered itself."""

    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = CATEGORY


class SOFTFIT_PT_main(_Panel):
    """What an artist needs: backend state, input, preset, initial mesh, Fit; raw settings live in the
    collapsed Advanced panel."""

    bl_idname = "SOFTFIT_PT_main"
    bl_label = "SoftFit"

    def draw(self, context: bpy.types.Context) -> None:
        s = settings(context)
        lay = layout(self)
        draw_backend_box(lay)
        col = lay.column()
        col.prop(s, "input_path")
        col.operator("softfit.setup_scene", icon="OUTLINER_OB_CAMERA")
        col.separator()
        col.label(text="Preset")
        col.row(align=True).prop(s, "preset", expand=True)
        col.separator()
        col.label(text="Initial Mesh")
        row = col.row(align=True)
        row.operator("softfit.initial_mesh", text="Visual Hull", icon="MESH_ICOSPHERE").method = "HULL"
        row.operator("softfit.initial_mesh", text="Sphere", icon="MESH_UVSPHERE").method = "SPHERE"
        col.separator()
        draw_fit(col, context)


def draw_fit(col: bpy.types.UILayout, context: bpy.types.Context) -> None:
    """Fit / Refine, or Cancel / Keep with the live progress while a fit runs."""
    row = col.row(align=True)
    row.scale_y = 1.4
    if not fitting.pending():
        row.operator("softfit.fit", icon="PLAY")
        row.operator("softfit.refine", icon="MODIFIER")
    else:
        row.operator("softfit.cancel", text="Cancel", icon="CANCEL").keep = False
        row.operator("softfit.cancel", text="Stop & Keep", icon="CHECKMARK").keep = True
    st = status()
    if st is None:
        return
    task = tasks.busy()
    if st.running:
        box = col.box()
        box.label(text=f"{st.object_name}: {st.message}")
        box.label(text=f"loss {st.loss:.4f}   IoU {st.iou:.3f}   {st.elapsed:.1f} s   frames {st.frames}")
        if st.iterations:
            box.progress(factor=min(1.0, max(st.iteration, 0) / st.iterations),
                         text=f"{st.iteration}/{st.iterations}")
        box.label(text="Esc cancels", icon="EVENT_ESC")
    elif task is not None:
        col.label(text=f"{task.label}...", icon="SORTTIME")
    elif st.message:
        col.label(text=st.message, icon="ERROR" if st.error else "INFO")


class _SubPanel(_Panel):
    """Under the main panel, collapsed at first: drawn as one column of the scene's settings."""

    bl_parent_id = "SOFTFIT_PT_main"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context: bpy.types.Context) -> None:
        self.fill(layout(self).column(), settings(context), context)

    def fill(self, col: bpy.types.UILayout, s: SOFTFIT_PG_settings, context: bpy.types.Context) -> None:
        raise NotImplementedError


class SOFTFIT_PT_input(_SubPanel):
    bl_idname = "SOFTFIT_PT_input"
    bl_label = "Input"

    def fill(self, col: bpy.types.UILayout, s: SOFTFIT_PG_settings, context: bpy.types.Context) -> None:
        col.prop(s, "input_kind")
        if s.input_path.endswith(".npz"):
            col.prop(s, "object_index")
        col.prop(s, "allow_outside_paths")
        col.operator("softfit.read_with_backend", icon="IMPORT")  # videos, COLMAP projects, HEIC photos
        col.prop(s, "camera_source")
        if s.camera_source == "TURNTABLE":
            box = col.box()
            for name in ("tt_distance", "tt_elevation", "tt_fov", "tt_start", "tt_clockwise"):
                box.prop(s, name)
        col.prop(s, "silhouette")
        if s.silhouette == "BACKDROP":
            col.prop(s, "backdrop_path")
        elif s.silhouette == "DEEPLAB":
            col.prop(s, "deeplab_weights")


class SOFTFIT_PT_advanced(_SubPanel):
    """The raw settings behind the presets."""

    bl_idname = "SOFTFIT_PT_advanced"
    bl_label = "Advanced"

    def fill(self, col: bpy.types.UILayout, s: SOFTFIT_PG_settings, context: bpy.types.Context) -> None:
        for name in ("iterations", "image_size", "lr", "views_per_step", "holdout", "seed", "device",
                     "extra_params"):
            col.prop(s, name)
        col.separator()
        col.prop(s, "init_method")
        col.prop(s, "detail")
        if s.detail == "FIXED" or s.init_method == "SPHERE":  # Auto's hull is sized by the backend's rule
            col.prop(s, "init_polys")
        if s.init_method == "SPHERE":
            col.prop(s, "init_radius")
            col.prop(s, "init_center")
        col.operator("softfit.initial_mesh", text="Initial Mesh", icon="MESH_UVSPHERE").method = "SETTINGS"
        col.separator()
        obj = context.active_object
        if obj is not None and obj.type == "MESH":
            col.prop_search(s, "pin_group", obj, "vertex_groups")
        else:
            col.prop(s, "pin_group")
        col.prop(s, "refine_iterations")
        col.prop(s, "result_as_shape_key")
        col.prop(s, "texture")
        if s.texture:
            col.prop(s, "texture_refine")


class SOFTFIT_PT_result(_Panel):
    bl_idname = "SOFTFIT_PT_result"
    bl_label = "Result"
    bl_parent_id = "SOFTFIT_PT_main"

    def draw(self, context: bpy.types.Context) -> None:
        col = layout(self).column()
        obj = context.active_object
        raw = obj.get(METRICS) if obj is not None and obj.get(ROLE) == "result" else None
        if isinstance(raw, str):
            try:
                metrics = json.loads(raw)
            except ValueError:
                metrics = {}
            for line in metric_lines(metrics if isinstance(metrics, dict) else {}):
                col.label(text=line)
        else:
            col.label(text="Select a fitted object to see its metrics")
        col.operator("softfit.export", icon="EXPORT")
        col.separator()
        s = settings(context)
        row = col.row(align=True)
        row.prop(s, "quad_faces")
        row.prop(s, "quad_tolerance", text="Tol. %")
        col.operator("softfit.quad_remesh", icon="MOD_REMESH")


def draw_status(self: bpy.types.Header, context: bpy.types.Context) -> None:
    """Appended to the status bar: the running fit's progress."""
    st = status()
    if st is not None and st.running:
        row = layout(self).row(align=True)
        factor = min(1.0, max(st.iteration, 0) / st.iterations) if st.iterations else 0.0
        row.progress(factor=factor, type="BAR", text=f"SoftFit {st.iteration}/{st.iterations}")
        row.label(text=f"IoU {st.iou:.3f}  (Esc cancels)")
        return
    task = tasks.busy()
    if task is not None:
        layout(self).label(text=f"SoftFit: {task.label}...", icon="SORTTIME")


CLASSES = (SOFTFIT_PT_main, SOFTFIT_PT_input, SOFTFIT_PT_advanced, SOFTFIT_PT_result)


def register() -> None:
    bpy.types.STATUSBAR_HT_header.append(draw_status)


def unregister() -> None:
    bpy.types.STATUSBAR_HT_header.remove(draw_status)

"""Typed access to Blender data the add-on uses. The API marks most context members optional (there may
be no scene, no active object, no layout); these helpers check once and fail with a clear InputError."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

import bpy

from ..logic.errors import InputError

if TYPE_CHECKING:
    from .properties import SOFTFIT_PG_settings, SOFTFIT_PG_status


def scene(context: bpy.types.Context) -> bpy.types.Scene:
    if context.scene is None:
        raise InputError("no active scene")
    return context.scene


def settings(context: bpy.types.Context) -> SOFTFIT_PG_settings:
    """The scene's SoftFit settings (`Scene.softfit`)."""
    return scene(context).softfit  # type: ignore[attr-defined]


def status() -> SOFTFIT_PG_status | None:
    """The live fit status (`WindowManager.softfit`); None while the add-on is not registered."""
    wm = bpy.context.window_manager
    return getattr(wm, "softfit", None) if wm is not None else None  # noqa: B009 - may be unregistered


def mesh_object(obj: bpy.types.Object | None) -> tuple[bpy.types.Object, bpy.types.Mesh]:
    """`obj` and its mesh, or InputError when it is not a mesh object."""
    if obj is None or not isinstance(obj.data, bpy.types.Mesh):
        raise InputError("select a mesh object (e.g. from Initial Mesh) first")
    return obj, obj.data


def layout(ui: Any) -> bpy.types.UILayout:
    """A panel's, header's or menu's layout (None only outside drawing)."""
    lay = ui.layout
    assert lay is not None
    return lay


def view_layer(context: bpy.types.Context) -> bpy.types.ViewLayer:
    if context.view_layer is None:
        raise InputError("no active view layer")
    return context.view_layer


def collection(context: bpy.types.Context) -> bpy.types.Collection:
    return context.collection if context.collection is not None else scene(context).collection


OperatorT = TypeVar("OperatorT", bound=bpy.types.Operator)


def operator_variant(base: type[OperatorT], idname: str, label: str, doc: str, **attrs: object
                     ) -> type[OperatorT]:
    """A registrable operator that is `base` (the shared behaviour, never registered itself: a registered
    operator must not be subclassed) with its own id, label, tooltip (`doc`) and class attributes, named
    as Blender expects (`softfit.fit` -> `SOFTFIT_OT_fit`)."""
    group, _, name = idname.partition(".")
    namespace = {"bl_idname": idname, "bl_label": label, "__doc__": doc, "__module__": base.__module__,
                 **attrs}
    return type(f"{group.upper()}_OT_{name}", (base,), namespace)

"""Operator: Initial Mesh: a UV sphere made here, or the bbox / visual-hull mesh the backend builds from
the scene's views (`Client.prepare`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import bpy

from . import inputs, session
from .blend import mesh_object, settings
from .errors import InputError
from .meshes import add_initial, add_sphere
from .preferences import backend_config
from .wire.errors import WireError

if TYPE_CHECKING:
    from bpy.stub_internal.rna_enums import OperatorReturnItems

BACKEND_METHODS = {"BBOX": ("bbox", "SoftFit BBox"), "HULL": ("hull", "SoftFit Hull")}
PREPARE_TIMEOUT = 300.0  # a hull from many large views takes a while on a CPU backend


def backend_initial(context: bpy.types.Context, method: str) -> tuple[bpy.types.Object, str]:
    """Ask the backend for the `method` initial mesh of the scene's views; the object is added only once
    the reply is in, so any failure leaves the scene as it was."""
    init, name = BACKEND_METHODS[method]
    s = settings(context)
    _views, data = inputs.load(s)
    sess = session.connect(backend_config(context))
    assert sess.client is not None
    reply = sess.client.prepare(data.silhouettes, data.images, data.transforms(), init=init,
                                polys=int(s.init_polys), silhouette_method=data.backend_method,
                                timeout=PREPARE_TIMEOUT, params=s.fit_params())
    if reply.verts is None or reply.faces is None:
        raise InputError(f"the backend sent no {init} mesh")
    return add_initial(context, name, reply.verts, reply.faces), reply.message


class SOFTFIT_OT_initial_mesh(bpy.types.Operator):
    """Add the initial mesh: a UV sphere, or the views' bounding-box ellipsoid or visual hull from the
    backend"""

    bl_idname = "softfit.initial_mesh"
    bl_label = "Initial Mesh"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context: bpy.types.Context) -> set[OperatorReturnItems]:
        if context.mode != "OBJECT":
            bpy.ops.object.mode_set(mode="OBJECT")
        try:
            s = settings(context)
            if s.init_method in BACKEND_METHODS:
                _obj, message = backend_initial(context, s.init_method)
                self.report({"INFO"}, f"SoftFit: {message}")
                return {"FINISHED"}
            center = (s.init_center[0], s.init_center[1], s.init_center[2])
            _obj, mesh = mesh_object(add_sphere(context, s.init_polys, s.init_radius, center))
        except (InputError, WireError) as exc:
            self.report({"ERROR"}, f"SoftFit: {exc}")
            return {"CANCELLED"}
        self.report({"INFO"}, f"SoftFit: sphere with {len(mesh.vertices)} vertices, "
                              f"{len(mesh.polygons)} triangles")
        return {"FINISHED"}


CLASSES = (SOFTFIT_OT_initial_mesh,)

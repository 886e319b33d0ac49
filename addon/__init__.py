"""SoftFit for Blender 5.0: fit a mesh to multi-view silhouettes, live in the viewport.

The panel (View3D > Sidebar > SoftFit) sets up cameras from the input, adds the initial mesh, and runs
fits on a backend process over ZeroMQ, streaming vertices into a copy of the mesh.

Two sub-packages, the way Blender's glTF add-on keeps `bpy` at the edge:
- `logic/`: everything that needs no Blender (the backend connection and session, input options and
  assembly, vertex-array conversions, texts, the backend installer). It never imports bpy (a test reads
  its imports), so it is imported and tested without Blender.
- `blender/`: what touches bpy: properties, preferences, operators, panels, timers and handlers
  (tasks.py, streaming.py), reading and writing Blender meshes and images.
Code shared with the backend is copied in verbatim at build time as the `wire` client and `core`
(cameras, errors, atomic writes, mesh files, the sphere, the numpy input path); see
scripts/build_extension.py. This file only registers `blender/`'s classes.
"""

from __future__ import annotations

from types import ModuleType


def _modules() -> list[ModuleType]:
    from .blender import (
        ops_backend,
        ops_export,
        ops_fit,
        ops_import,
        ops_install,
        ops_mesh,
        ops_quads,
        ops_scene,
        panel,
        preferences,
        properties,
        streaming,
    )

    return [properties, preferences, ops_backend, ops_scene, ops_mesh, ops_fit, ops_install, ops_export,
            ops_import, ops_quads, panel, streaming]


def register() -> None:
    import bpy

    for mod in _modules():
        for cls in getattr(mod, "CLASSES", ()):
            bpy.utils.register_class(cls)
        if hasattr(mod, "register"):
            mod.register()


def unregister() -> None:
    import bpy

    from .blender import streaming, tasks
    from .logic import session

    streaming.stop_timer()
    tasks.shutdown()
    session.shutdown()
    for mod in reversed(_modules()):
        if hasattr(mod, "unregister"):
            mod.unregister()
        for cls in reversed(getattr(mod, "CLASSES", ())):
            bpy.utils.unregister_class(cls)

"""SoftFit for Blender 5.0: fit a mesh to multi-view silhouettes, live in the viewport.

The panel (View3D > Sidebar > SoftFit) sets up cameras from the input, adds the initial sphere, and
runs fits on a backend process over ZeroMQ, streaming vertices into a copy of the mesh through
`bpy.app.timers`. Every wait on the backend happens in worker threads that never touch bpy (tasks.py,
streaming.JobPump); the main thread only applies what they deliver. Code shared with the backend is
copied in verbatim at build time: the `wire` client and `core` (cameras, errors, atomic writes, mesh
files, the sphere, and the backend's whole numpy input path: layout readers, view gathering, resizing,
undistortion); see scripts/build_extension.py.

Nothing here imports bpy at import time, so the pure modules (views, fitdata, geometry,
meshfile, summary, backend_path) are importable and tested without Blender, from a staged copy.
"""

from __future__ import annotations

from types import ModuleType


def _modules() -> list[ModuleType]:
    from . import (
        ops_backend,
        ops_export,
        ops_fit,
        ops_import,
        ops_install,
        ops_mesh,
        ops_scene,
        panel,
        preferences,
        properties,
        streaming,
    )

    return [properties, preferences, ops_backend, ops_scene, ops_mesh, ops_fit, ops_install, ops_export,
            ops_import, panel, streaming]


def register() -> None:
    import bpy

    for mod in _modules():
        for cls in getattr(mod, "CLASSES", ()):
            bpy.utils.register_class(cls)
        if hasattr(mod, "register"):
            mod.register()


def unregister() -> None:
    import bpy

    from . import session, streaming, tasks

    streaming.stop_timer()
    tasks.shutdown()
    session.shutdown()
    for mod in reversed(_modules()):
        if hasattr(mod, "unregister"):
            mod.unregister()
        for cls in reversed(getattr(mod, "CLASSES", ())):
            bpy.utils.unregister_class(cls)

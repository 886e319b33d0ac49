"""Add-on preferences: which backend to use (a local interpreter the add-on launches, or a remote
server with its token and CURVE key), start/stop/restart, and the connection status.

No `from __future__ import annotations`: Blender reads the property annotations as objects."""

import bpy
from bpy.props import EnumProperty, FloatProperty, StringProperty

from ..logic import backend_path, session
from ..logic.errors import InputError
from . import ADDON_PACKAGE

MODES = [
    ("LOCAL", "Local", "Launch `python -m softfit serve` from a local interpreter on 127.0.0.1"),
    ("REMOTE", "Remote", "Connect to a running `softfit serve` (e.g. on a GPU machine)"),
]


class SoftFitPreferences(bpy.types.AddonPreferences):
    bl_idname = ADDON_PACKAGE

    mode: EnumProperty(name="Backend", items=MODES, default="LOCAL")
    python: StringProperty(
        name="Python", subtype="FILE_PATH",
        description="Interpreter with softfit installed (empty: the SoftFit checkout's .venv when the "
                    "add-on runs from one, or $SOFTFIT_PYTHON)")
    args: StringProperty(name="Server Arguments", description="Extra arguments for `softfit serve`")
    address: StringProperty(name="Address", default="tcp://127.0.0.1:5555",
                            description="tcp://host:port of the remote server")
    token: StringProperty(name="Token", subtype="PASSWORD", description="The server's token")
    server_key: StringProperty(name="Server Key",
                               description="The server's CURVE public key (Z85 text or a server.key file); "
                                           "required for non-loopback servers")
    client_key: StringProperty(name="Client Key", subtype="FILE_PATH",
                               description="This client's NAME.key_secret from `softfit keys client` (a "
                                           "CURVE server admits allow-listed clients only)")
    package: StringProperty(
        name="Backend Package", subtype="FILE_PATH",
        description="SoftFit backend wheel or folder of wheels to install (empty: the wheel bundled with "
                    "the extension, else `softfit` from pip's configured index)")
    pip_args: StringProperty(name="pip Arguments",
                             description="Extra arguments for pip, e.g. --index-url URL for a local index")
    timeout: FloatProperty(name="Timeout", default=10.0, min=4.0, max=600.0, unit="TIME_ABSOLUTE",
                           description="Seconds of silence before the backend counts as gone; a local "
                                       "backend keeps a silent Blender's fit this long")

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        layout.prop(self, "mode", expand=True)
        if self.mode == "LOCAL":
            from .ops_install import draw_install

            draw_install(layout)
            layout.prop(self, "package")
            layout.prop(self, "pip_args")
            layout.prop(self, "python")
            found = backend_path.local_python(self.python, session.ADDON_DIR)
            layout.label(text=f"Interpreter: {found}" if found else "Interpreter: none found, set one above",
                         icon="CHECKMARK" if found else "ERROR")
            layout.prop(self, "args")
        else:
            layout.prop(self, "address")
            layout.prop(self, "token")
            layout.prop(self, "server_key")
            layout.prop(self, "client_key")
        layout.prop(self, "timeout")
        draw_backend_box(layout)


def draw_backend_box(layout: bpy.types.UILayout) -> None:
    """Status and start/stop/restart buttons (shared by the preferences and the panel)."""
    from . import tasks

    s = session.get()
    box = layout.box()
    task = tasks.busy("backend")
    if task is not None:
        box.label(text=f"{task.label}...", icon="SORTTIME")
    else:
        box.label(text=s.summary(), icon="LINKED" if s.connected else "UNLINKED")
    row = box.row(align=True)
    row.operator("softfit.backend_start", text="Start" if not s.connected else "Connected", icon="PLAY")
    row.operator("softfit.backend_stop", text="Stop", icon="PAUSE")
    row.operator("softfit.backend_restart", text="Restart", icon="FILE_REFRESH")


def preferences(context: bpy.types.Context) -> SoftFitPreferences:
    addon = context.preferences.addons.get(ADDON_PACKAGE) if context.preferences is not None else None
    prefs = addon.preferences if addon is not None else None
    if not isinstance(prefs, SoftFitPreferences):
        raise InputError("the SoftFit add-on is not enabled (no preferences)")
    return prefs


def backend_config(context: bpy.types.Context) -> session.BackendConfig:
    p = preferences(context)
    return session.BackendConfig(mode=p.mode, python=bpy.path.abspath(p.python) if p.python else "",
                                 args=p.args, address=p.address, token=p.token,
                                 server_key=p.server_key, timeout=p.timeout,
                                 client_key=bpy.path.abspath(p.client_key) if p.client_key else "")


CLASSES = (SoftFitPreferences,)

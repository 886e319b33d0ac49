"""Operators: Install Backend (a local backend in the add-on's user folder, from the preferences) and
Cancel Install. The work runs in installer.Installer's thread; a timer watches it and, once the
self-test fit passed, fills in the interpreter path in the preferences."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import bpy

from ..logic import installer, session
from . import userdata
from .preferences import preferences

if TYPE_CHECKING:
    from bpy.stub_internal.rna_enums import OperatorReturnItems

WATCH_INTERVAL = 0.25
VENV_NAME = "backend-venv"


def current() -> installer.Installer | None:
    s = session._session  # never create a session just to look (unregister runs this)
    return s.installer if s is not None else None


def package_source(prefs: bpy.types.AddonPreferences) -> str:
    """The preferences' package, else the wheel bundled in the extension, else `softfit` from pip's
    configured index."""
    if prefs.package:  # type: ignore[attr-defined]
        return bpy.path.abspath(prefs.package)  # type: ignore[attr-defined]
    wheel = installer.bundled_wheel(session.ADDON_DIR)
    return str(wheel) if wheel is not None else installer.PACKAGE


def start_install(context: bpy.types.Context) -> installer.Installer:
    prefs = preferences(context)
    venv = userdata.user_dir() / VENV_NAME
    inst = installer.Installer(venv, package_source(prefs), prefs.pip_args).start()
    session.get().installer = inst
    if not bpy.app.timers.is_registered(watch):
        bpy.app.timers.register(watch, first_interval=WATCH_INTERVAL)
    return inst


def finish(context: bpy.types.Context, inst: installer.Installer) -> None:
    """Main thread, once the installer is done: fill in the interpreter."""
    if inst.result is not None:
        prefs = preferences(context)
        prefs.mode, prefs.python = "LOCAL", str(inst.result)
        print(f"SoftFit: backend installed: {inst.result} (self-test {inst.selftest})")
    else:
        print(f"SoftFit: backend installation failed: {inst.error} (log: {inst.log_path})")


def watch() -> float | None:
    inst = current()
    if inst is None:
        return None
    from .streaming import tag_redraw

    tag_redraw()
    if not inst.finished.is_set():
        return WATCH_INTERVAL
    finish(bpy.context, inst)
    return None


class SOFTFIT_OT_install_backend(bpy.types.Operator):
    """Install a local SoftFit backend (Python environment, pip install, self-test fit) in the add-on's
    user folder; takes minutes, Blender stays usable"""

    bl_idname = "softfit.install_backend"
    bl_label = "Install Local Backend"

    def execute(self, context: bpy.types.Context) -> set[OperatorReturnItems]:
        inst = current()
        if inst is not None and not inst.finished.is_set():
            self.report({"WARNING"}, "SoftFit: the backend is being installed")
            return {"CANCELLED"}
        inst = start_install(context)
        self.report({"INFO"}, f"SoftFit: installing the backend into {inst.venv}")
        return {"FINISHED"}


class SOFTFIT_OT_cancel_install(bpy.types.Operator):
    """Stop the backend installation"""

    bl_idname = "softfit.cancel_install"
    bl_label = "Cancel Install"

    def execute(self, context: bpy.types.Context) -> set[OperatorReturnItems]:
        inst = current()
        if inst is None or inst.finished.is_set():
            return {"CANCELLED"}
        inst.cancel()
        return {"FINISHED"}


def draw_install(layout: bpy.types.UILayout) -> None:
    """The preferences' install box: button, progress, the log's last lines."""
    box = layout.box()
    inst = current()
    running = inst is not None and not inst.finished.is_set()
    row = box.row()
    if running:
        assert inst is not None
        row.progress(factor=inst.progress, text=f"{inst.step}...")
        row.operator("softfit.cancel_install", text="", icon="CANCEL")
    else:
        row.operator("softfit.install_backend", icon="IMPORT")
    if inst is not None:
        if inst.error:
            box.label(text=inst.error[:200], icon="ERROR")
        elif inst.result is not None:
            box.label(text=f"Installed, self-test train IoU {inst.selftest.get('train_iou', 0):.3f}",
                      icon="CHECKMARK")
        col = box.column(align=True)
        col.scale_y = 0.7
        for line in list(inst.log_lines)[-6:]:
            col.label(text=line[:160])
        box.label(text=f"Log: {Path(inst.log_path)}")


CLASSES = (SOFTFIT_OT_install_backend, SOFTFIT_OT_cancel_install)


def unregister() -> None:
    if bpy.app.timers.is_registered(watch):
        bpy.app.timers.unregister(watch)
    inst = current()
    if inst is not None:
        inst.cancel()

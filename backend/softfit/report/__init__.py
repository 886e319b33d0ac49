"""Writing a fit's output folder atomically: mesh.obj/.ply (Blender world frame), metrics.json,
cameras.json (the transforms.json actually used), loss.png, overlays.png and optionally turntable.gif."""

from softfit.report.folder import atomic_folder, check_output_dir
from softfit.report.writer import json_safe, write_report

__all__ = ["atomic_folder", "check_output_dir", "json_safe", "write_report"]

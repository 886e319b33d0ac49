"""Assemble the output folder of one fit (see `softfit.report`)."""

from __future__ import annotations

import json
from pathlib import Path

from softfit.cameras import transforms_dict
from softfit.data.types import MultiViewData
from softfit.errors import InputError
from softfit.fit.engine import FitResult
from softfit.mesh.io import save_obj, save_ply
from softfit.mesh.quadriflow import QuadMesh
from softfit.metrics import render_silhouettes, silhouette_iou
from softfit.report.folder import atomic_folder
from softfit.report.plots import loss_plot, overlays_plot, pick_views
from softfit.report.turntable import turntable_gif
from softfit.texture.bake import Texture
from softfit.texture.export import save_quads, save_textured
from softfit.wire.protocol import json_safe

FILES = ("mesh.obj", "mesh.ply", "metrics.json", "cameras.json", "loss.png", "overlays.png")


def write_report(out: str | Path, result: FitResult, data: MultiViewData, *, force: bool = False,
                 turntable: bool = False, file_paths: list[str] | None = None, overlay_views: int = 24,
                 device: str = "cpu", texture: Texture | None = None, quads: QuadMesh | None = None) -> Path:
    """Write every output file into a temporary sibling of `out`, then move it into place.

    file_paths: the image paths to record in cameras.json (default: the view names); texture: a baked
    texture of `result.mesh` (mesh.obj then carries its UVs, plus mesh.mtl, texture.png, mesh.glb); quads:
    its quad remesh (mesh_quads.obj, plus mesh_quads.mtl and texture_quads.png when it carries the
    texture)."""
    try:
        return _write(out, result, data, force, turntable, file_paths, overlay_views, device, texture, quads)
    except OSError as exc:  # disk full, folder removed meanwhile...: one line, and nothing half-written
        raise InputError(f"writing the output folder {out} failed: {exc.strerror or exc}") from exc


def _write(out: str | Path, result: FitResult, data: MultiViewData, force: bool, turntable: bool,
           file_paths: list[str] | None, overlay_views: int, device: str, texture: Texture | None,
           quads: QuadMesh | None) -> Path:
    metrics = json_safe(result.metrics)
    held = list(metrics.get("heldout_views", []))
    with atomic_folder(out, force) as tmp:
        save_obj(tmp / "mesh.obj", result.mesh)
        save_ply(tmp / "mesh.ply", result.mesh)
        if texture is not None:
            save_textured(tmp, texture)
        if quads is not None:
            save_quads(tmp, quads)
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=1, allow_nan=False))
        cams = transforms_dict(data.cameras, file_paths if file_paths is not None else list(data.names))
        (tmp / "cameras.json").write_text(json.dumps(cams, indent=1))
        loss_plot(tmp / "loss.png", metrics)
        views = pick_views(len(data), held, overlay_views)
        fitted = render_silhouettes(result.mesh, data.cameras.subset(views), device)
        targets = data.silhouettes[views]
        ious = silhouette_iou(fitted, targets).tolist()
        segmented = "segmentation" in data.info
        overlays_plot(tmp / "overlays.png", targets, fitted, [data.names[i] for i in views], ious,
                      [i in set(held) for i in views], None if data.images is None else data.images[views],
                      "segmented mask (IoU = agreement)" if segmented else "target")
        if turntable:
            turntable_gif(tmp / "turntable.gif", result.mesh)
    return Path(out).expanduser().absolute()

"""One-line texts for the panel and reports (no bpy): fit outcome and metrics."""

from __future__ import annotations

from .errors import in_panel_terms

METRIC_ROWS = (("heldout_iou", "Held-out IoU", "{:.4f}"), ("train_iou", "Train IoU", "{:.4f}"),
               ("chamfer", "Chamfer", "{:.5f}"), ("iterations", "Iterations", "{}"),
               ("wall_time", "Time", "{:.1f} s"), ("device", "Device", "{}"))


def _number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def metric_lines(metrics: dict) -> list[str]:
    """The metrics worth a line in the panel, in a fixed order; missing or malformed ones are skipped."""
    lines = []
    for key, label, fmt in METRIC_ROWS:
        v = metrics.get(key)
        if v is None or (fmt != "{}" and not _number(v)):
            continue
        lines.append(f"{label}: {fmt.format(v)}")
    if metrics.get("cancelled"):
        lines.append("Cancelled before the end")
    return lines


def result_message(metrics: dict) -> str:
    """'done, held-out IoU 0.951, train IoU 0.962, 41.2 s' (or 'cancelled, ...'). Silhouettes segmented
    on the server make the IoUs agreement with that segmentation, and say so; then come the segmentation
    method, the texture (its size and the photos' it was baked from, or why there is none) and the warnings
    (`metrics["segmentation_warnings"]`, `silhouette_warnings` about given silhouettes that leave the
    frame, `view_warnings` about views too few or all on one side, `mesh_warnings` about a result that
    still crosses itself), the things an artist must know, with the command line's options they name in
    the panel's terms."""
    parts = ["cancelled" if metrics.get("cancelled") else "done"]
    segmented = "segmentation" in str(metrics.get("iou_against", ""))
    for key, label in (("heldout_iou", "held-out IoU"), ("train_iou", "train IoU")):
        if _number(metrics.get(key)):
            label = label.replace("IoU", "agreement with the segmentation") if segmented else label
            parts.append(f"{label} {metrics[key]:.3f}")
    if _number(metrics.get("wall_time")):
        parts.append(f"{metrics['wall_time']:.1f} s")
    if segmented and metrics.get("silhouette_method"):
        why = metrics.get("silhouette_reason")
        parts.append(f"silhouettes by {metrics['silhouette_method']}" + (f" because {why}" if why else ""))
    texture = _texture(metrics.get("texture"))
    if texture:
        parts.append(texture)
    warnings = [w for k in ("segmentation_warnings", "silhouette_warnings", "view_warnings", "mesh_warnings")
                if isinstance(metrics.get(k), list) for w in metrics[k]]
    if warnings:
        parts.append("WARNING: " + in_panel_terms("; ".join(str(w) for w in warnings)))
    return ", ".join(parts)


def _texture(tex: object) -> str:
    """'texture 550x535 from the photos at 1024x768', 'no texture: <why>', or '' (none asked for: a shape
    key result, or the Texture box unticked, which the panel shows already)."""
    if not isinstance(tex, dict) or not tex:
        return ""
    if "skipped" in tex:
        why = str(tex["skipped"])
        return "" if why.startswith("turned off") else f"no texture: {why}"
    size, photos = tex.get("size"), tex.get("photo_size")
    if not (isinstance(size, list) and len(size) == 2):
        return ""
    if isinstance(photos, list) and len(photos) == 2:
        return f"texture {size[0]}x{size[1]} from the photos at {photos[0]}x{photos[1]}"
    return f"texture {size[0]}x{size[1]}"

"""The report's pictures: loss/IoU curves and per-view silhouette overlays.

Figures are drawn on matplotlib's Agg canvas directly (no pyplot, no global backend), so the server can
write reports from worker threads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from softfit.pixelbox import around

# Overlay colours (RGB): where the fit and the target agree, and where each one alone covers a pixel.
BOTH = (60, 175, 75)
TARGET_ONLY = (225, 40, 60)
FIT_ONLY = (40, 110, 220)
NEITHER = (245, 245, 245)
HELDOUT_EDGE = "#ff9900"
BOTH_HEX = "#{:02x}{:02x}{:02x}".format(*BOTH)


def _save(fig: Figure, path: Path) -> None:
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=100)


def loss_plot(path: str | Path, metrics: dict) -> None:
    """Left: total loss and each unweighted term per iteration (log scale), stage changes dashed.
    Right: soft IoU of each step's views, and the final hard IoU on training and held-out views."""
    h = metrics.get("history", {})
    it = np.asarray(h.get("iteration", []))
    fig = Figure(figsize=(11, 4.2))
    ax_l, ax_r = fig.subplots(1, 2)
    if len(it):
        ax_l.plot(it, np.maximum(h["loss"], 1e-8), label="total", color="black", lw=1.2)
        for name, vals in h.get("terms", {}).items():
            ax_l.plot(it, np.maximum(vals, 1e-8), label=name, lw=0.9, alpha=0.8)
        sizes = np.asarray(h.get("size", []))
        for k in np.nonzero(np.diff(sizes))[0] if len(sizes) else []:
            for ax in (ax_l, ax_r):
                ax.axvline(it[k + 1], color="gray", ls="--", lw=0.7)
            ax_r.text(it[k + 1], 0.97, f" {sizes[k + 1]} px", transform=ax_r.get_xaxis_transform(),
                      fontsize=7, color="gray", va="top")
        ax_l.set_yscale("log")
        iou = np.asarray(h["iou"])
        ax_r.plot(it, iou, color="#999999", lw=0.6, label="step views (soft IoU)")
        k = max(1, len(iou) // 50)
        if len(iou) > k:
            smooth = np.convolve(iou, np.ones(k) / k, mode="valid")
            ax_r.plot(it[k - 1:], smooth, color="black", lw=1.2, label=f"moving mean ({k})")
    if metrics.get("train_iou") is not None:
        ax_r.axhline(metrics["train_iou"], color=BOTH_HEX, ls=":",
                     label=f"train, hard {metrics['train_iou']:.3f}")
    if metrics.get("heldout_iou") is not None:
        ax_r.axhline(metrics["heldout_iou"], color=HELDOUT_EDGE, ls="-",
                     label=f"held-out, hard {metrics['heldout_iou']:.3f}")
    ax_l.set(xlabel="iteration", ylabel="loss", title="loss and terms (unweighted)")
    ax_r.set(xlabel="iteration", ylabel="IoU", title="silhouette IoU")
    tail = list(h.get("iou", []))[len(h.get("iou", [])) // 10:]  # skip the first steps' plunge
    ax_r.set_ylim(max(0.0, min(tail + [v for v in (metrics.get("train_iou"), metrics.get("heldout_iou"))
                                       if v is not None] or [0.0]) - 0.02), 1.0)
    if len(it):  # a fit of no steps has no curves to name
        ax_l.legend(fontsize=8)
    if ax_r.get_legend_handles_labels()[0]:
        ax_r.legend(fontsize=8, loc="lower right")
    fig.suptitle(f"{metrics.get('iterations', 0)} iterations, {metrics.get('stop_reason', '')}, "
                 f"{metrics.get('fit_time', 0.0):.1f} s on {metrics.get('device', '?')}", fontsize=10)
    fig.tight_layout()
    _save(fig, path)



def overlay_image(target: np.ndarray, fitted: np.ndarray, photo: np.ndarray | None = None) -> np.ndarray:
    """(H, W, 3) uint8: green = both cover the pixel, red = target only, blue = fit only. Over a `photo`
    the colours are tinted onto it (so a mask that took in the floor shows the floor under its tint)."""
    t, f = target > 0.5, fitted > 0.5
    img = np.empty((*t.shape, 3), dtype=np.uint8)
    img[...] = NEITHER
    img[t & f] = BOTH
    img[t & ~f] = TARGET_ONLY
    img[~t & f] = FIT_ONLY
    if photo is not None:
        p = np.asarray(photo, dtype=np.float32)[..., :3]
        tint = np.where((t | f)[..., None], 0.5 * p + 0.5 * img, 0.6 * p)
        img = np.clip(tint, 0, 255).astype(np.uint8)
    return img


def pick_views(n_views: int, heldout: list[int], limit: int = 24) -> list[int]:
    """Every held-out view (up to `limit`) plus training views evenly spread over the rest."""
    held = sorted(heldout)[:limit]
    train = [i for i in range(n_views) if i not in set(held)]
    room = max(0, limit - len(held))
    if room and train:
        pos = np.linspace(0, len(train) - 1, min(room, len(train))).round().astype(int)
        picked = [train[k] for k in np.unique(pos)]
    else:
        picked = []
    return sorted(set(picked) | set(held))


def _crop(targets: np.ndarray, fitted: np.ndarray, margin: float = 0.1, photos: np.ndarray | None = None
          ) -> tuple[np.ndarray, ...]:
    """Crop every view to one box around everything either silhouette covers (plus a margin), so a small
    object fills its cell; one box for all views keeps their scale comparable."""
    cover = ((targets > 0.5) | (fitted > 0.5)).any(0) if len(targets) else np.zeros((0, 0), bool)
    box = around(cover, 2, margin)
    if box is None:
        return targets, fitted, photos
    crop = (slice(None), *box)
    return targets[crop], fitted[crop], None if photos is None else photos[crop]


def overlays_plot(path: str | Path, targets: np.ndarray, fitted: np.ndarray, names: list[str],
                  ious: list[float], heldout: list[bool], photos: np.ndarray | None = None,
                  target_label: str = "target") -> None:
    """A grid of overlays, one per view, titled with its name and hard IoU; held-out views framed.
    `photos`: the views' images under the masks; `target_label` names what the targets are (segmented
    masks make the IoU agreement with the segmentation, and the legend says so)."""
    targets, fitted, photos = _crop(np.asarray(targets), np.asarray(fitted), photos=photos)
    n = len(targets)
    cols = int(np.ceil(np.sqrt(n * 4 / 3))) if n else 1
    rows = max(1, int(np.ceil(n / cols)))
    h, w = targets.shape[1:] if n else (1, 1)
    cell = 2.2
    fig = Figure(figsize=(cols * cell, rows * cell * h / w + 0.6))
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax in axes:
        ax.set_axis_off()
    for k in range(n):
        ax = axes[k]
        ax.imshow(overlay_image(targets[k], fitted[k], None if photos is None else photos[k]),
                  interpolation="nearest")
        label = f"{names[k]}  IoU {ious[k]:.3f}"
        if heldout[k]:
            label = "held-out " + label
            ax.set_axis_on()
            ax.set_xticks([])
            ax.set_yticks([])
            for s in ax.spines.values():
                s.set_edgecolor(HELDOUT_EDGE)
                s.set_linewidth(3)
        ax.set_title(label, fontsize=7, color=HELDOUT_EDGE if heldout[k] else "black")
    handles = [Patch(color=np.asarray(c) / 255, label=t) for c, t in
               ((BOTH, "both"), (TARGET_ONLY, f"{target_label} only"), (FIT_ONLY, "fit only"))]
    handles.append(Patch(facecolor="none", edgecolor=HELDOUT_EDGE, lw=2, label="held-out view"))
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    _save(fig, path)

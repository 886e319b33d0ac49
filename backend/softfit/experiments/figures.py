"""The report's pictures: IoU-vs-iteration curves and grids of images (renders, masks, overlays, meshes).

Drawn on matplotlib's Agg canvas directly (no pyplot, no global state)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from softfit.mesh.types import Mesh
from softfit.metrics import render_silhouettes
from softfit.report.plots import overlay_image
from softfit.report.turntable import render_frame

Cell = tuple[str, np.ndarray]  # (title, RGB or grey image)


def save(fig: Figure, path: Path) -> None:
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=90)


def curves_plot(path: Path, panels: Sequence[tuple[str, dict[str, list], float | None]],
                ylabel: str = "held-out IoU (hard raster)") -> None:
    """One panel per case: a line per label through (iteration, value) points; an optional dashed
    horizontal reference (the fixed sphere's final IoU)."""
    n = len(panels)
    cols = min(n, 2)
    rows = (n + cols - 1) // cols
    fig = Figure(figsize=(5.2 * cols, 3.6 * rows))
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax in axes[n:]:
        ax.set_axis_off()
    for ax, (title, lines, ref) in zip(axes, panels, strict=False):
        for label, pts in lines.items():
            if pts:
                x, y = zip(*pts, strict=True)
                ax.plot(x, y, label=label, lw=1.6)
        if ref is not None:
            ax.axhline(ref, color="grey", ls="--", lw=1, label="fixed sphere, final")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("iteration")
        ax.set_ylabel(ylabel)
        ax.set_ylim(0.0, 1.0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    save(fig, path)


def image_grid(path: Path, rows: Sequence[tuple[str, Sequence[Cell]]], cell: float = 2.0) -> None:
    """A grid of images: one labelled row per entry, titled cells."""
    n_cols = max(len(cells) for _, cells in rows)
    fig = Figure(figsize=(cell * n_cols + 0.8, cell * len(rows) + 0.2))
    axes = np.asarray(fig.subplots(len(rows), n_cols, squeeze=False))
    for r, (label, cells) in enumerate(rows):
        for c in range(n_cols):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= len(cells):
                ax.set_axis_off()
                continue
            title, img = cells[c]
            ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=255 if img.dtype == np.uint8
                      else 1, interpolation="nearest")
            ax.set_title(title, fontsize=7)
            if c == 0:
                ax.set_ylabel(label, fontsize=8)
    fig.tight_layout()
    save(fig, path)


def mesh_view(mesh: Mesh, azimuth: float = 30.0, elevation: float = 20.0, size: int = 160) -> np.ndarray:
    """A shaded picture of a mesh (painter's algorithm, no Blender)."""
    return np.asarray(render_frame(mesh, azimuth, elevation, size))


def overlay(mesh: Mesh, truth: np.ndarray, cameras, view: int) -> np.ndarray:
    """The fitted mesh's silhouette against the true one in `view` (green both, red truth only, blue fit
    only)."""
    fitted = render_silhouettes(mesh, cameras.subset([view]))[0]
    return overlay_image(truth[view], fitted)

"""Helpers shared by the dataset and camera round-trip tests: SoftFit's hard silhouettes and IoU."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from softfit.cameras import Cameras
from softfit.mesh.types import Mesh
from softfit.projection import camera_tensors, project
from softfit.raster import rasterize_silhouette

MIN_IOU = 0.99


def hard_masks(mesh: Mesh, cams: Cameras) -> np.ndarray:
    """(N, H, W) bool coverage of pixel centres by SoftFit's hard rasteriser."""
    v = torch.tensor(mesh.verts, dtype=torch.float64)
    w2c, intr = camera_tensors(cams, v)
    alpha = rasterize_silhouette(project(v, w2c, intr), torch.tensor(mesh.faces), (cams.height, cams.width),
                                 hard=True)
    return alpha.numpy() > 0.5


def ious(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    inter = (a & b).sum(axis=(1, 2))
    union = (a | b).sum(axis=(1, 2))
    assert (union > 0).all(), "a view shows nothing"
    return inter / union


def read_masks(paths) -> np.ndarray:
    return np.stack([np.asarray(Image.open(p)) > 127 for p in paths])

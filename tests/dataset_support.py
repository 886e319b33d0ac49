"""Helpers shared by the dataset and camera round-trip tests: SoftFit's hard silhouettes and IoU."""

from __future__ import annotations

import math

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


def softras_pixels(points_yup: np.ndarray, dist: float, elev: float, azim: float, size: int,
                   viewing_angle: float = 15.0) -> np.ndarray:
    """(P, 2) pixel (col, row) of Y-up points as SoftRas projects them, written out independently of
    softfit.cameras: eye d*(cos e sin a, sin e, -cos e cos a), look_at with x = up × z, perspective
    x / (z tan viewing_angle) with viewing_angle=15 as SoftRas renders its demo and ShapeNet data, image
    row 0 at the top. The test reference for the SoftRas conversion."""
    e, a = math.radians(elev), math.radians(azim)
    eye = dist * np.array([math.cos(e) * math.sin(a), math.sin(e), -math.cos(e) * math.cos(a)])
    z = -eye / np.linalg.norm(eye)
    x = np.cross([0.0, 1.0, 0.0], z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    pc = (points_yup - eye) @ np.stack([x, y, z]).T
    t = math.tan(math.radians(viewing_angle))
    xn, yn = pc[:, 0] / (pc[:, 2] * t), pc[:, 1] / (pc[:, 2] * t)
    return np.stack([(xn + 1) / 2 * size, (1 - yn) / 2 * size], axis=1)

"""Helpers for the silhouette and initial-mesh tests: read a rendered dataset's photos, ground-truth masks
and cameras straight from its transforms.json (independent of the data loader under test elsewhere)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from softfit.cameras import Cameras, load_transforms
from softfit.data.types import MultiViewData

# Datasets shared by the tests (render_dataset_cached keys; small so each renders in a few seconds).
BLACK = {"source": "suzanne", "layout": "aloi", "views": 24, "size": "192x144"}
BACKDROP = {"source": "suzanne", "views": 12, "size": "192x144", "background": "backdrop", "elevation": 15}
# The same scene without the object in view (moved far outside the room): the empty-scene photo.
EMPTY = {**BACKDROP, "offset": "100,0,0"}
RINGS = {"source": "suzanne", "views": 24, "size": "160x120", "cameras": "rings"}


def load_views(folder: Path) -> tuple[np.ndarray, np.ndarray, Cameras]:
    """(images (N, H, W, 3) uint8, ground-truth masks (N, H, W) bool, cameras)."""
    cams, frames = load_transforms(folder)
    images = np.stack([np.asarray(Image.open(f.image).convert("RGB")) for f in frames])
    masks = np.stack([np.asarray(Image.open(f.mask).convert("L")) > 127 for f in frames])
    return images, masks, cams


def multiview(folder: Path) -> MultiViewData:
    images, masks, cams = load_views(folder)
    return MultiViewData(masks.astype(np.float32), cams, [str(i) for i in range(len(cams))], images)


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N,) IoU of boolean masks."""
    inter = (a & b).reshape(len(a), -1).sum(1)
    return inter / np.maximum((a | b).reshape(len(a), -1).sum(1), 1)

"""Photos for the support steps' tests (`turntable`, `tabletop`): synthetic ones with known geometry
(solids sampled as dense points and splatted far to near on a grainy floor), and real renders with
their true masks."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from softfit.bench.silhouettes import truth_view
from softfit.cameras import Cameras
from softfit.data.load import load_dataset

FLOOR = (190, 160, 120)
STEP = 0.006  # surface sampling (world units): dense enough that the splats close at 200 px


def cylinder(radius: float, z0: float, z1: float) -> np.ndarray:
    """Points on a closed cylinder about the z axis."""
    rr, tt = np.meshgrid(np.arange(0, radius, STEP), np.arange(0, 2 * np.pi, STEP / radius))
    cap = np.stack([rr * np.cos(tt), rr * np.sin(tt)], -1).reshape(-1, 2)
    zz, tt = np.meshgrid(np.arange(z0, z1, STEP / 2), np.arange(0, 2 * np.pi, STEP / radius))
    side = np.stack([radius * np.cos(tt), radius * np.sin(tt), zz], -1).reshape(-1, 3)
    return np.concatenate([np.c_[cap, np.full(len(cap), z0)], np.c_[cap, np.full(len(cap), z1)], side])


def box(half: float, z0: float, z1: float, half_y: float | None = None, turn_deg: float = 30.0) -> np.ndarray:
    """Points on a box standing on z0 (half sides `half` and `half_y`), turned `turn_deg` about z (a box
    on a turntable then changes as it turns)."""
    hy = half if half_y is None else half_y
    gx, gy, gz = np.arange(-half, half, STEP), np.arange(-hy, hy, STEP), np.arange(z0, z1, STEP)
    a, b = np.meshgrid(gx, gy)
    faces = [np.c_[a.ravel(), b.ravel(), np.full(a.size, z1)]]
    for s in (-half, half):
        a, z = np.meshgrid(gy, gz)
        faces.append(np.c_[np.full(a.size, s), a.ravel(), z.ravel()])
    for s in (-hy, hy):
        a, z = np.meshgrid(gx, gz)
        faces.append(np.c_[a.ravel(), np.full(a.size, s), z.ravel()])
    p = np.concatenate(faces)
    c, s = np.cos(np.radians(turn_deg)), np.sin(np.radians(turn_deg))
    return p @ np.array([[c, s, 0], [-s, c, 0], [0, 0, 1]])


def photos(cams: Cameras, parts: list[tuple[np.ndarray, tuple[int, int, int] | np.ndarray]]
           ) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, H, W, 3) uint8, masks (N, H, W) bool): the parts' points splatted far to near on a
    grainy floor; the masks are every part's pixels (what a segmentation that took the support in
    gives). A part's colour is one for all its points or one per point (`grained`)."""
    rng = np.random.default_rng(0)
    pts = np.concatenate([p for p, _ in parts])
    rgb = np.concatenate([np.broadcast_to(np.asarray(c, np.float64), (len(p), 3)) for p, c in parts])
    proj = cams.project_points(pts)
    h, w = cams.height, cams.width
    images = np.clip(np.array(FLOOR) + rng.normal(0, 5, (len(cams), h, w, 3)), 0, 255)
    masks = np.zeros((len(cams), h, w), bool)
    for v in range(len(cams)):
        order = np.argsort(-proj[v, :, 2])
        x = proj[v, order, 0].astype(int)
        y = proj[v, order, 1].astype(int)
        ok = (x >= 0) & (x < w - 1) & (y >= 0) & (y < h - 1)
        for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
            images[v, y[ok] + dy, x[ok] + dx] = rgb[order][ok]
            masks[v, y[ok] + dy, x[ok] + dx] = True
    images = np.clip(images + rng.normal(0, 3, images.shape), 0, 255).astype(np.uint8)
    return images, masks


def grained(points: np.ndarray, colour: tuple[int, int, int], spread: float = 30.0, cell: float = 0.02
            ) -> np.ndarray:
    """(len(points), 3) colours: `colour` varied by a grain fixed on the surface (cells of side `cell`,
    each lighter or darker by up to `spread`), which every view sees alike, as a wooden top's."""
    keys = np.floor(points / cell).astype(np.int64) @ np.array([73856093, 19349663, 83492791])
    shade = (keys % 1009) / 1008.0 * 2 * spread - spread
    return np.clip(np.asarray(colour, np.float64) + shade[:, None], 0, 255)


def rendered(render: Callable, tmp: pytest.TempPathFactory, name: str, size: str = "320x240",
             samples: int = 8) -> tuple[np.ndarray, np.ndarray, Cameras]:
    """(photos, true masks (bool) at 256 px, cameras) of scene `name` rendered with Cycles at `size`,
    16 views, `samples` samples (`render`: the `render_scene_cached` fixture); the truth only scores."""
    folder = render(name, views=16, size=size, samples=samples)
    data = load_dataset(truth_view(folder, tmp.mktemp(name)), silhouette="mask", image_size=256)
    return data.images, data.silhouettes > 0.5, data.cameras


def as_benchmarked(render: Callable, tmp: pytest.TempPathFactory, name: str
                   ) -> tuple[Callable[[], tuple[np.ndarray, list[str]]], np.ndarray]:
    """(a function that segments scene `name` as `softfit fit` loads a user's photos -> (masks at 256 px,
    the segmentation's notes and warnings), the true masks): rendered as the benchmark renders it
    (400x300, 16 views, 12 samples); the lost part and the steps that bring it back depend on the photos'
    size."""
    folder = render(name, views=16, size="400x300", samples=12)
    truth = load_dataset(truth_view(folder, tmp.mktemp("truth")), silhouette="mask",
                         image_size=256).silhouettes > 0.5

    def masks() -> tuple[np.ndarray, list[str]]:
        data = load_dataset(folder, silhouette="auto", image_size=256)
        seg = data.info["segmentation"]
        return data.silhouettes > 0.5, [*seg["multiview"]["notes"], *seg["warnings"]]

    return masks, truth

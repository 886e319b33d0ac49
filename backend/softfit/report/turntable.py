"""A shaded turntable animation of a mesh (GIF), drawn with the painter's algorithm in PIL.

Only for looking at the result: no depth buffer, faces are sorted far to near per frame, which is exact
enough for the closed, mostly convex-ish shapes a silhouette fit produces and needs no GPU or Blender."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from softfit.cameras import look_at
from softfit.mesh.types import Mesh

BASE = np.array([200.0, 200.0, 210.0])
BACKGROUND = (40, 40, 46)


def render_frame(mesh: Mesh, azimuth_deg: float, elevation_deg: float = 20.0, size: int = 256,
                 fov_deg: float = 35.0) -> Image.Image:
    """One RGB frame, camera orbiting the mesh's bounding-box centre at a distance that frames it."""
    v, f = mesh.verts, mesh.faces
    lo, hi = v.min(0), v.max(0)
    center, radius = 0.5 * (lo + hi), max(0.5 * float(np.linalg.norm(hi - lo)), 1e-9)
    dist = radius / np.sin(np.radians(fov_deg) / 2) * 1.05
    az, el = np.radians(azimuth_deg), np.radians(elevation_deg)
    eye = center + dist * np.array([np.sin(az) * np.cos(el), -np.cos(az) * np.cos(el), np.sin(el)])
    c2w = look_at(eye, center)
    r, t = c2w[:3, :3], c2w[:3, 3]
    pc = (v - t) @ r  # camera coordinates (looking down -Z)
    depth = -pc[:, 2]
    focal = 0.5 * size / np.tan(np.radians(fov_deg) / 2)
    xy = np.stack([size / 2 + focal * pc[:, 0] / depth, size / 2 - focal * pc[:, 1] / depth], 1)
    tri = pc[f]
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    light = np.array([0.4, 0.5, 0.77])  # from the upper left, camera frame
    shade = 0.25 + 0.75 * np.abs(n @ (light / np.linalg.norm(light)))  # two-sided: winding may vary
    order = np.argsort(-depth[f].mean(1))
    img = Image.new("RGB", (size, size), BACKGROUND)
    draw = ImageDraw.Draw(img)
    cols = np.clip(BASE[None] * shade[:, None], 0, 255).astype(np.uint8)
    for k in order:
        if (depth[f[k]] <= 1e-6).any():
            continue
        draw.polygon([tuple(p) for p in xy[f[k]]], fill=tuple(int(c) for c in cols[k]))
    return img


def turntable_gif(path: str | Path, mesh: Mesh, frames: int = 36, size: int = 256,
                  elevation_deg: float = 20.0, frame_ms: int = 80) -> None:
    """Write a looping GIF of `frames` views a full turn around the mesh."""
    imgs = [render_frame(mesh, 360.0 * k / frames, elevation_deg, size) for k in range(frames)]
    imgs[0].save(path, save_all=True, append_images=imgs[1:], duration=frame_ms, loop=0, optimize=True)

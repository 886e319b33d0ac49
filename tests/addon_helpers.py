"""Helpers for the add-on tests: exact silhouettes of convex meshes (no renderer involved), small
datasets in the input layouts the panel reads, and running Blender-side scenarios in subprocesses.

Ground truth: a convex mesh's silhouette is the convex hull of its projected vertices, so a pixel is
covered exactly when its centre lies inside that polygon. `softfit.cameras` projects; nothing here
shares code with the add-on's camera conversion, which is what the Blender renders check.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.spatial import ConvexHull

from softfit.cameras import Cameras, look_at, save_transforms

ROOT = Path(__file__).resolve().parent.parent
DRIVER = Path(__file__).resolve().parent / "addon_driver.py"
REPO_MODULE = "sftest"  # the temporary local extension repository: bl_ext.sftest.softfit


def box_mesh(half: tuple[float, float, float], center: tuple[float, float, float] = (0, 0, 0),
             yaw_deg: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A box (8 vertices, 12 triangles, outward winding) rotated by `yaw_deg` about Z."""
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float) * half
    a = np.radians(yaw_deg)
    rot = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    verts = corners @ rot.T + np.asarray(center, float)
    hull = ConvexHull(verts)
    faces = hull.simplices.copy()
    for i, (f, eq) in enumerate(zip(faces, hull.equations, strict=True)):  # outward normals
        n = np.cross(verts[f[1]] - verts[f[0]], verts[f[2]] - verts[f[0]])
        if np.dot(n, eq[:3]) < 0:
            faces[i] = f[[0, 2, 1]]
    return verts, faces


def convex_silhouettes(cameras: Cameras, verts: np.ndarray) -> np.ndarray:
    """(N, H, W) float32: 1 where the pixel centre lies inside the projected convex hull."""
    proj = cameras.project_points(verts)
    if (proj[..., 2] <= 0).any():
        raise ValueError("a vertex lies behind a camera")
    ys, xs = np.mgrid[0:cameras.height, 0:cameras.width] + 0.5
    centres = np.stack([xs.ravel(), ys.ravel()], axis=1)
    out = np.zeros((len(cameras), cameras.height, cameras.width), np.float32)
    for i in range(len(cameras)):
        pts = proj[i, :, :2]
        poly = pts[ConvexHull(pts).vertices]  # counter-clockwise in (x, y) as given
        edges = np.roll(poly, -1, axis=0) - poly
        rel = centres[:, None, :] - poly[None, :, :]
        cross = edges[None, :, 0] * rel[..., 1] - edges[None, :, 1] * rel[..., 0]
        out[i] = (cross >= 0).all(axis=1).reshape(cameras.height, cameras.width)
    return out


def ring_cameras(n: int, width: int, height: int, distance: float = 3.0, elevations=(15.0, -10.0),
                 fov_deg: float = 40.0, aspect: float = 1.0, shift_px: tuple[float, float] = (0.0, 0.0),
                 target=(0.0, 0.0, 0.0)) -> Cameras:
    """n cameras around the target at alternating elevations; fy = fx * aspect; principal point moved
    by shift_px from the centre (off-centre cameras, non-square pixels)."""
    c2w = []
    for i in range(n):
        az, el = np.radians(360.0 * i / n + 7.0), np.radians(elevations[i % len(elevations)])
        eye = np.asarray(target) + distance * np.array([np.sin(az) * np.cos(el), -np.cos(az) * np.cos(el),
                                                        np.sin(el)])
        c2w.append(look_at(eye, np.asarray(target, float)))
    f = 0.5 * max(width, height) / np.tan(np.radians(fov_deg) / 2)
    cx, cy = width / 2 + shift_px[0], height / 2 + shift_px[1]
    return Cameras(np.stack(c2w), f, f * aspect, cx, cy, width, height)


def write_rgba_dataset(folder: Path, cameras: Cameras, silhouettes: np.ndarray, masks: bool = False,
                       labels: bool = False) -> Path:
    """A transforms.json dataset: RGBA images whose alpha is the silhouette (or RGB + masks/ when
    `masks`; `labels`: the masks saved as 0/1). Returns the transforms.json path."""
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    rng = np.random.default_rng(0)
    for i, s in enumerate(silhouettes):
        name = f"view_{i:03d}"
        names.append(f"images/{name}.png")
        (folder / "images").mkdir(exist_ok=True)
        rgb = (rng.uniform(0.2, 0.8, 3) * 255 * np.ones(s.shape + (3,))).astype(np.uint8)
        a = (s * 255).astype(np.uint8)
        if masks:
            (folder / "masks").mkdir(exist_ok=True)
            Image.fromarray(rgb).save(folder / "images" / f"{name}.png")
            m = (s > 0.5).astype(np.uint8) if labels else a
            Image.fromarray(m).save(folder / "masks" / f"{name}.png")
        else:
            Image.fromarray(np.dstack([rgb, a])).save(folder / "images" / f"{name}.png")
    save_transforms(folder / "transforms.json", cameras, names)
    return folder / "transforms.json"


def pypi_reachable() -> bool:
    """Whether PyPI answers (a failed download is excused only when it does not)."""
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
        return True
    except OSError:
        return False


def index_unreachable(what: str) -> None:
    """A package index that cannot be reached: skipped on a developer's offline machine, a FAILURE in CI
    (`.ci/run` sets CI), where the build must install everything it needs itself."""
    import pytest

    message = f"the package index is unreachable: cannot {what}"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI must be able to install what it needs)")
    pytest.skip(message)


def run_driver(scenario: str, work: Path, args: dict, timeout: float = 240.0) -> dict:
    """Run one Blender-side scenario of addon_driver.py in its own process (one bpy per process), with
    BLENDER_USER_RESOURCES in `work`; returns the JSON it reports, raises with its output on failure."""
    work.mkdir(parents=True, exist_ok=True)
    report = work / f"{scenario}.json"
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(work / "blender_user"), PYTHONUNBUFFERED="1")
    env.pop("SOFTFIT_PYTHON", None)
    cmd = [sys.executable, str(DRIVER), scenario, json.dumps(args), str(report)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=work)
    if proc.returncode != 0 or not report.is_file():
        raise AssertionError(f"scenario {scenario} failed (exit {proc.returncode}):\n"
                             f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return json.loads(report.read_text())

"""Pinhole cameras on the Blender side, in SoftFit's one convention (DESIGN.md §1). No bpy, numpy only.

World frame: Blender's (+Z up). Camera frame: looks down local -Z, +Y up, +X right; a camera is a 4x4
camera-to-world matrix, which is exactly a Blender camera object's `matrix_world`. Pixels: origin at the
top-left corner, y down, centres at (i + 0.5, j + 0.5); intrinsics fx, fy, cx, cy in pixels.

This is the add-on's twin of `softfit.cameras` (which imports the backend package and so cannot ship in
the extension); tests/test_addon_pure.py checks that both give the same numbers.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from .errors import InputError

SOFTRAS_DISTANCE = 2.732
SOFTRAS_VIEW_ANGLE_DEG = 30.0  # SoftRas' `viewing_angle` is the half field of view.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".PNG", ".JPG", ".JPEG", ".exr", ".tif", ".tiff", ".bmp")


@dataclass(frozen=True)
class ViewCameras:
    """N pinhole cameras sharing one image size: c2w (N, 4, 4); fx, fy, cx, cy (N,) pixels."""

    c2w: np.ndarray
    fx: np.ndarray
    fy: np.ndarray
    cx: np.ndarray
    cy: np.ndarray
    width: int
    height: int

    def __post_init__(self) -> None:
        c2w = np.asarray(self.c2w, dtype=np.float64)
        if c2w.ndim != 3 or c2w.shape[1:] != (4, 4):
            raise InputError(f"camera-to-world matrices must be (N, 4, 4), got {c2w.shape}")
        object.__setattr__(self, "c2w", c2w)
        for name in ("fx", "fy", "cx", "cy"):
            v = np.broadcast_to(np.asarray(getattr(self, name), dtype=np.float64), (len(c2w),)).copy()
            object.__setattr__(self, name, v)  # scalars are broadcast to (N,)
        if int(self.width) <= 0 or int(self.height) <= 0:
            raise InputError(f"image size must be positive, got {self.width}x{self.height}")
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "height", int(self.height))
        if not (np.isfinite(c2w).all() and np.isfinite(self.fx).all() and np.isfinite(self.fy).all()
                and np.isfinite(self.cx).all() and np.isfinite(self.cy).all()):
            raise InputError("camera parameters contain NaN or Inf")
        if (self.fx <= 0).any() or (self.fy <= 0).any():
            raise InputError("focal lengths must be positive")

    def __len__(self) -> int:
        return int(self.c2w.shape[0])

    def resized(self, width: int, height: int) -> ViewCameras:
        """The same cameras for images resampled to width x height (pixel-corner convention)."""
        sx, sy = width / self.width, height / self.height
        return ViewCameras(self.c2w, self.fx * sx, self.fy * sy, self.cx * sx, self.cy * sy, width, height)

    def subset(self, index: Sequence[int]) -> ViewCameras:
        idx = np.asarray(index, dtype=np.int64)
        return ViewCameras(self.c2w[idx], self.fx[idx], self.fy[idx], self.cx[idx], self.cy[idx],
                           self.width, self.height)

    def project_points(self, points: np.ndarray) -> np.ndarray:
        """(N, P, 3) of (x_px, y_px, depth) for world points (P, 3)."""
        p = np.asarray(points, dtype=np.float64)
        r = self.c2w[:, :3, :3]
        t = self.c2w[:, :3, 3]
        pc = np.einsum("nji,npj->npi", r, p[None] - t[:, None, :])  # R^T (p - t)
        depth = -pc[..., 2]
        safe = np.where(np.abs(depth) < 1e-12, 1e-12, depth)
        x = self.cx[:, None] + self.fx[:, None] * pc[..., 0] / safe
        y = self.cy[:, None] - self.fy[:, None] * pc[..., 1] / safe
        return np.stack([x, y, depth], axis=-1)


def look_at(eye: Sequence[float] | np.ndarray, target: Sequence[float] | np.ndarray | None = None,
            up: Sequence[float] | np.ndarray | None = None) -> np.ndarray:
    """Camera-to-world matrix of a camera at `eye` looking at `target` (origin) with `up` (+Z) drawn up."""
    eye = np.asarray(eye, dtype=np.float64)
    target = np.zeros(3) if target is None else np.asarray(target, dtype=np.float64)
    up = np.array([0.0, 0.0, 1.0]) if up is None else np.asarray(up, dtype=np.float64)
    forward = target - eye
    norm = np.linalg.norm(forward)
    if norm < 1e-12:
        raise InputError("camera position coincides with its target")
    forward /= norm
    right = np.cross(forward, up)
    if np.linalg.norm(right) < 1e-9:  # looking straight along `up`: any right vector will do
        right = np.cross(forward, np.array([0.0, 1.0, 0.0]))
    right /= np.linalg.norm(right)
    cam_up = np.cross(right, forward)
    c2w = np.eye(4)
    c2w[:3, 0], c2w[:3, 1], c2w[:3, 2], c2w[:3, 3] = right, cam_up, -forward, eye
    return c2w


def focal_from_fov(fov_deg: float, size: int) -> float:
    """Focal length in pixels for a full field of view `fov_deg` across `size` pixels."""
    if not 0.0 < fov_deg < 180.0:
        raise InputError(f"field of view must be in (0, 180) degrees, got {fov_deg}")
    return 0.5 * size / math.tan(math.radians(fov_deg) / 2.0)


def turntable(azimuths_deg: Sequence[float], distance: float, elevation_deg: float, fov_deg: float,
              width: int, height: int) -> ViewCameras:
    """Cameras on a circle around the origin looking at it; azimuth 0 on -Y, 90 on +X; `fov_deg` spans
    the image's longer side (the same rule as `softfit.cameras.turntable`)."""
    if distance <= 0:
        raise InputError(f"turntable distance must be positive, got {distance}")
    az = np.radians(np.asarray(azimuths_deg, dtype=np.float64))
    el = math.radians(elevation_deg)
    eyes = distance * np.stack([np.sin(az) * math.cos(el), -np.cos(az) * math.cos(el),
                                np.full_like(az, math.sin(el))], axis=1)
    c2w = np.stack([look_at(e) for e in eyes]) if len(eyes) else np.zeros((0, 4, 4))
    n = len(c2w)
    f = np.full(n, focal_from_fov(fov_deg, max(width, height)))
    return ViewCameras(c2w, f, f, np.full(n, width / 2.0), np.full(n, height / 2.0), width, height)


def from_softras(rows: np.ndarray, image_size: int, view_angle_deg: float = SOFTRAS_VIEW_ANGLE_DEG
                 ) -> ViewCameras:
    """SoftRas camera rows (distance, elevation deg, azimuth deg) in its Y-up world, turned Z-up.

    SoftRas' eye d*(cos e sin a, sin e, -cos e cos a) maps by (x, y, z) -> (x, -z, y) to
    d*(cos e sin a, cos e cos a, sin e); its renders are left-right mirrored against these cameras."""
    rows = np.asarray(rows, dtype=np.float64)
    if rows.ndim != 2 or rows.shape[1] != 3:
        raise InputError(f"SoftRas cameras must be (N, 3) rows of distance, elevation, azimuth, got "
                         f"{rows.shape}")
    d, e, a = rows[:, 0], np.radians(rows[:, 1]), np.radians(rows[:, 2])
    eyes = np.stack([d * np.cos(e) * np.sin(a), d * np.cos(e) * np.cos(a), d * np.sin(e)], axis=1)
    c2w = np.stack([look_at(x) for x in eyes])
    f = np.full(len(c2w), 0.5 * image_size / math.tan(math.radians(view_angle_deg)))
    c = np.full(len(c2w), image_size / 2.0)
    return ViewCameras(c2w, f, f, c, c, image_size, image_size)


# ---------------------------------------------------------------------------------------------------
# transforms.json (nerfstudio / instant-ngp)


@dataclass(frozen=True)
class Frame:
    """One view of a transforms.json: its image and optional mask, as absolute paths."""

    image: Path
    mask: Path | None


def resolve_image(base: Path, rel: str) -> Path:
    """`file_path` is relative to the json file, with or without an extension."""
    p = (base / rel).resolve()
    if p.suffix and p.exists():
        return p
    for ext in IMAGE_EXTENSIONS:
        cand = p.with_name(p.name + ext)
        if cand.exists():
            return cand
    return p


def _intrinsics(meta: dict, frame: dict, size: Callable[[], tuple[int, int]]
                ) -> tuple[float, float, float, float, float, float]:
    """(fx, fy, cx, cy, w, h) of one frame; per-frame values override the top-level ones."""

    def get(key: str) -> float | None:
        v = frame.get(key, meta.get(key))
        if v is None:
            return None
        try:
            return float(v)
        except (TypeError, ValueError) as exc:
            raise InputError(f"transforms.json: {key} must be a number, got {v!r}") from exc

    w, h = get("w"), get("h")
    if w is None or h is None:
        w, h = (float(s) for s in size())
    fx, fy = get("fl_x"), get("fl_y")
    ax, ay = get("camera_angle_x"), get("camera_angle_y")
    if fx is None and ax is not None:
        fx = 0.5 * w / math.tan(ax / 2.0)
    if fy is None and ay is not None:
        fy = 0.5 * h / math.tan(ay / 2.0)
    if fx is None and fy is None:
        raise InputError("transforms.json needs camera_angle_x or fl_x (focal length)")
    fxv = fy if fx is None else fx
    fyv = fx if fy is None else fy
    assert fxv is not None and fyv is not None
    cx, cy = get("cx"), get("cy")
    return fxv, fyv, (w / 2.0 if cx is None else cx), (h / 2.0 if cy is None else cy), w, h


def parse_transforms(path: Path, image_size: Callable[[Path], tuple[int, int]]
                     ) -> tuple[ViewCameras, list[Frame]]:
    """Read a transforms.json; `image_size(path)` gives (w, h) where the file does not. Views of other
    sizes are rescaled to the first frame's size (as `softfit.cameras.load_transforms` does)."""
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise InputError(f"camera file not found: {path}") from exc
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not a readable JSON file: {exc}") from exc
    frames = meta.get("frames") if isinstance(meta, dict) else None
    if not isinstance(frames, list) or not frames:
        raise InputError(f"{path} has no frames")
    c2w, intr, out = [], [], []
    for i, fr in enumerate(frames):
        try:
            m = np.asarray(fr["transform_matrix"], dtype=np.float64)
            image = resolve_image(path.parent, str(fr["file_path"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{path}: frame {i} lacks a valid file_path/transform_matrix") from exc
        if m.shape != (4, 4):
            raise InputError(f"{path}: frame {i} transform_matrix must be 4x4, got {m.shape}")
        intr.append(_intrinsics(meta, fr, partial(image_size, image)))
        c2w.append(m)
        mask = fr.get("mask_path")
        out.append(Frame(image, resolve_image(path.parent, str(mask)) if mask else None))
    a = np.asarray(intr)
    w0, h0 = a[0, 4], a[0, 5]
    sx, sy = w0 / a[:, 4], h0 / a[:, 5]
    cams = ViewCameras(np.stack(c2w), a[:, 0] * sx, a[:, 1] * sy, a[:, 2] * sx, a[:, 3] * sy,
                       int(round(w0)), int(round(h0)))
    return cams, out


def transforms_dict(cameras: ViewCameras, names: Sequence[str]) -> dict:
    """transforms.json content for `cameras` (intrinsics per frame, so nothing is lost): what the add-on
    sends to the backend with the fit request."""
    if len(names) != len(cameras):
        raise InputError(f"{len(names)} view names for {len(cameras)} cameras")
    frames = [{"file_path": str(name), "transform_matrix": cameras.c2w[i].tolist(),
               "fl_x": float(cameras.fx[i]), "fl_y": float(cameras.fy[i]),
               "cx": float(cameras.cx[i]), "cy": float(cameras.cy[i])} for i, name in enumerate(names)]
    meta: dict = {"w": cameras.width, "h": cameras.height, "frames": frames}
    if len(cameras):
        meta["camera_angle_x"] = float(2 * math.atan(0.5 * cameras.width / cameras.fx[0]))
    return meta


# ---------------------------------------------------------------------------------------------------
# Blender cameras


def blender_settings(cameras: ViewCameras, index: int, sensor_width: float = 36.0) -> dict:
    """Blender camera and render settings that reproduce camera `index` at width x height.

    Sensor fit AUTO: the sensor spans the longer side (of the aspect-scaled image); the principal point
    becomes lens shift in units of that side; fx != fy becomes a pixel aspect ratio (Blender stretches the
    narrower pixel direction). Same formulas as `softfit.cameras.blender_camera_settings`."""
    w, h = cameras.width, cameras.height
    fx, fy = float(cameras.fx[index]), float(cameras.fy[index])
    aspect_x, aspect_y = (1.0, fx / fy) if fx >= fy else (fy / fx, 1.0)
    side_px = max(w * aspect_x, h * aspect_y)
    f_side = fx * aspect_x
    return {
        "sensor_fit": "AUTO",
        "sensor_width": sensor_width,
        "lens": f_side / side_px * sensor_width,
        "shift_x": (w / 2.0 - float(cameras.cx[index])) * aspect_x / side_px,
        "shift_y": (float(cameras.cy[index]) - h / 2.0) * aspect_y / side_px,
        "pixel_aspect_x": aspect_x,
        "pixel_aspect_y": aspect_y,
        "resolution_x": w,
        "resolution_y": h,
    }

"""Pinhole cameras in one convention (DESIGN.md §1), and the camera files SoftFit reads and writes.

World frame: Blender's (right-handed, +Z up). Camera frame: Blender/OpenGL (looks down local -Z, +Y up,
+X right), stored as a 4x4 camera-to-world matrix. Pixels: origin at the image's top-left corner, x right,
y down, pixel centres at (i + 0.5, j + 0.5). Intrinsics fx, fy, cx, cy in pixels.

This module needs only numpy and imports its one sibling (`errors`) relatively, because the Blender
add-on ships this very file as `core/cameras.py` (scripts/build_extension.py); torch projection lives in
`projection.py`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import InputError

ALOI_VIEWS = 72
ALOI_STEP_DEG = 5.0
SOFTRAS_DISTANCE = 2.732
SOFTRAS_VIEW_ANGLE_DEG = 30.0  # SoftRas' `viewing_angle` (the half field of view): its library default
# ... but SoftRas renders its demo data (examples/demo_deform.py) and its ShapeNet sets (examples/recon/
# models.py) with viewing_angle=15, a 30 deg field of view: the angle its data files must be read with.
SOFTRAS_DATA_VIEW_ANGLE_DEG = 15.0
RIGID_TOL = 1e-3  # |R^T R - I| and |det R - 1| allowed: float32 round-off in files, not a scale or shear
MAX_IMAGE_SIDE = 100_000  # px: larger than any sensor; beyond it a declared size is a mistake
FOV_RANGE_DEG = (1e-3, 179.0)  # full field of view across the longer side a focal length may give


@dataclass(frozen=True)
class Cameras:
    """N pinhole cameras sharing one image size.

    c2w: (N, 4, 4) camera-to-world; fx, fy, cx, cy: (N,) pixels; width, height: image size in pixels."""

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
        n = c2w.shape[0]
        object.__setattr__(self, "c2w", c2w)
        for name in ("fx", "fy", "cx", "cy"):
            v = np.broadcast_to(np.asarray(getattr(self, name), dtype=np.float64), (n,)).copy()
            object.__setattr__(self, name, v)
        if self.width <= 0 or self.height <= 0:
            raise InputError(f"image size must be positive, got {self.width}x{self.height}")
        if max(self.width, self.height) > MAX_IMAGE_SIDE:
            raise InputError(f"image size {self.width}x{self.height} is over {MAX_IMAGE_SIDE} px per side: "
                             "check the camera file's w and h")
        if not (np.isfinite(c2w).all() and np.isfinite(self.intrinsics).all()):
            raise InputError("camera parameters contain NaN or Inf")
        check_rigid(c2w)
        self._check_intrinsics()

    def _check_intrinsics(self) -> None:
        """Focal lengths must give a field of view a lens can have; the principal point must lie in the
        image. A focal of 1e-300 px or a centre far outside the frame is a broken file, not a camera."""
        long_side = max(self.width, self.height)
        lo, hi = (0.5 * long_side / math.tan(math.radians(a) / 2.0) for a in reversed(FOV_RANGE_DEG))
        for name in ("fx", "fy"):
            f = getattr(self, name)
            bad = np.flatnonzero(~((f >= lo) & (f <= hi)))
            if len(bad):
                i = int(bad[0])
                raise InputError(f"camera {i}: focal length {name}={f[i]:.6g} px is outside "
                                 f"[{lo:.3g}, {hi:.3g}] px, a field of view of {FOV_RANGE_DEG[0]:g} to "
                                 f"{FOV_RANGE_DEG[1]:g} degrees over {long_side} px")
        bad = np.flatnonzero((self.cx < 0) | (self.cx > self.width) | (self.cy < 0) | (self.cy > self.height))
        if len(bad):
            i = int(bad[0])
            raise InputError(f"camera {i}: principal point ({self.cx[i]:.6g}, {self.cy[i]:.6g}) px lies "
                             f"outside its {self.width}x{self.height} image")

    def __len__(self) -> int:
        return self.c2w.shape[0]

    @property
    def intrinsics(self) -> np.ndarray:
        """(N, 4) rows of fx, fy, cx, cy."""
        return np.stack([self.fx, self.fy, self.cx, self.cy], axis=1)

    @property
    def centers(self) -> np.ndarray:
        """(N, 3) camera positions in the world."""
        return self.c2w[:, :3, 3].copy()

    @property
    def w2c(self) -> np.ndarray:
        """(N, 4, 4) world-to-camera matrices (rigid inverse, no general matrix inverse)."""
        r = self.c2w[:, :3, :3]
        t = self.c2w[:, :3, 3]
        out = np.zeros_like(self.c2w)
        out[:, :3, :3] = np.transpose(r, (0, 2, 1))
        out[:, :3, 3] = -np.einsum("nji,nj->ni", r, t)
        out[:, 3, 3] = 1.0
        return out

    def subset(self, index: Sequence[int] | np.ndarray) -> Cameras:
        idx = np.asarray(index, dtype=np.int64)
        return Cameras(self.c2w[idx], self.fx[idx], self.fy[idx], self.cx[idx], self.cy[idx],
                       self.width, self.height)

    def resized(self, width: int, height: int) -> Cameras:
        """The same cameras for images resampled to width x height (pixel-corner convention)."""
        sx, sy = width / self.width, height / self.height
        return Cameras(self.c2w, self.fx * sx, self.fy * sy, self.cx * sx, self.cy * sy, width, height)

    def project_points(self, points: np.ndarray, dtype: type = np.float64) -> np.ndarray:
        """(N, P, 3) of (x_px, y_px, depth) for world points (P, 3); numpy twin of `projection.project`.
        `dtype` float32: for searches that project 10⁵ points into every view (a batched matmul, some ten
        times faster than the float64 path's einsum, whose results the rest of the code was measured with)."""
        p = np.asarray(points, dtype=dtype)
        w2c = self.w2c.astype(dtype)
        if dtype == np.float64:
            pc = np.einsum("nij,pj->npi", w2c[:, :3, :3], p) + w2c[:, None, :3, 3]
        else:
            pc = np.matmul(p[None], np.transpose(w2c[:, :3, :3], (0, 2, 1))) + w2c[:, None, :3, 3]
        depth = -pc[..., 2]
        safe = np.where(np.abs(depth) < 1e-12, dtype(1e-12), depth)
        x = self.cx[:, None].astype(dtype) + self.fx[:, None].astype(dtype) * pc[..., 0] / safe
        y = self.cy[:, None].astype(dtype) - self.fy[:, None].astype(dtype) * pc[..., 1] / safe
        return np.stack([x, y, depth], axis=-1)


MAX_SCALE = 16.0  # images may be a copy of the declared size scaled by at most this (images_2 ... _8)


def check_declared_size(declared: tuple[float, float], actual: tuple[int, int], label: str,
                        tolerance_px: float = 1.0) -> float:
    """The factor actual / declared image size; InputError unless the images are the declared size or a
    copy of it scaled by at most MAX_SCALE with the same aspect ratio (within `tolerance_px`). A camera
    file that declares 1e9 x 1e9 for 48 px images describes other images."""
    (dw, dh), (w, h) = declared, actual
    scale = w / dw if dw > 0 else 0.0
    if not (1.0 / MAX_SCALE <= scale <= MAX_SCALE) or abs(h - dh * scale) > tolerance_px:
        raise InputError(f"{label} is {w}x{h} but the cameras declare {dw:g}x{dh:g}: declared sizes must "
                         f"match the images (or a copy of them scaled by at most {MAX_SCALE:g}x, same aspect "
                         "ratio)")
    return scale


def check_rigid(c2w: np.ndarray, tol: float = RIGID_TOL) -> None:
    """Camera-to-world matrices must be rigid: an orthonormal rotation with determinant +1 (no scale,
    shear or mirror), a finite translation and a last row of (0, 0, 0, 1). InputError names the camera."""
    r = c2w[:, :3, :3]
    gram_err = np.abs(np.einsum("nji,njk->nik", r, r) - np.eye(3)).max(axis=(1, 2)) if len(r) else r
    det = np.linalg.det(r) if len(r) else r
    row_err = np.abs(c2w[:, 3, :] - np.array([0.0, 0.0, 0.0, 1.0])).max(axis=1) if len(r) else r
    for i in range(len(c2w)):
        if row_err[i] > tol:
            raise InputError(f"camera {i}: transform_matrix's last row must be 0 0 0 1, got "
                             f"{np.round(c2w[i, 3], 6).tolist()}")
        err = max(gram_err[i], abs(det[i] - 1.0))
        if err > tol:
            raise InputError(f"camera {i}: transform_matrix is not a rigid camera pose (its rotation is not "
                             f"orthonormal with determinant +1: off by {err:.3g}, tolerance {tol:g}); "
                             "scaled, sheared, mirrored or singular matrices are refused")


def look_at(eye: np.ndarray, target: np.ndarray | None = None, up: np.ndarray | None = None) -> np.ndarray:
    """Camera-to-world matrix of a camera at `eye` looking at `target` (origin), `up` (+Z) drawn up."""
    eye = np.asarray(eye, dtype=np.float64)
    target = np.zeros(3) if target is None else np.asarray(target, dtype=np.float64)
    up = np.array([0.0, 0.0, 1.0]) if up is None else np.asarray(up, dtype=np.float64)
    forward = target - eye
    if np.linalg.norm(forward) < 1e-12:
        raise InputError(f"a camera at {eye.tolist()} sits on the point it looks at")
    forward /= np.linalg.norm(forward)
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
    return 0.5 * size / math.tan(math.radians(fov_deg) / 2.0)


def turntable(
    azimuths_deg: Sequence[float],
    distance: float = SOFTRAS_DISTANCE,
    elevation_deg: float | Sequence[float] = 0.0,
    fov_deg: float = 2 * SOFTRAS_VIEW_ANGLE_DEG,
    width: int = 256,
    height: int = 256,
) -> Cameras:
    """Cameras on a circle around the origin, looking at it, world up +Z.

    Azimuth 0 puts the camera on -Y (Blender's front view), 90 on +X (counter-clockwise seen from
    above); elevation lifts it towards +Z. `fov_deg` spans the image's longer side."""
    az = np.radians(np.asarray(azimuths_deg, dtype=np.float64))
    el = np.radians(np.broadcast_to(np.asarray(elevation_deg, dtype=np.float64), az.shape))
    eyes = distance * np.stack([np.sin(az) * np.cos(el), -np.cos(az) * np.cos(el), np.sin(el)], axis=1)
    c2w = np.stack([look_at(e) for e in eyes]) if len(eyes) else np.zeros((0, 4, 4))
    f = focal_from_fov(fov_deg, max(width, height))
    return Cameras(c2w, f, f, width / 2.0, height / 2.0, width, height)


def aloi_turntable(width: int = 384, height: int = 288, fov_deg: float = 2 * SOFTRAS_VIEW_ANGLE_DEG,
                   distance: float = SOFTRAS_DISTANCE) -> Cameras:
    """ALOI's layout: 72 views, azimuth 5 deg apart, elevation 0, at SoftRas' default distance."""
    return turntable([ALOI_STEP_DEG * i for i in range(ALOI_VIEWS)], distance, 0.0, fov_deg, width, height)


def from_softras(camera_npy: np.ndarray, image_size: int = 64,
                 view_angle_deg: float = SOFTRAS_DATA_VIEW_ANGLE_DEG) -> Cameras:
    """Convert SoftRas camera rows (distance, elevation deg, azimuth deg) in its Y-up world.

    SoftRas places the eye at d*(cos e sin a, sin e, -cos e cos a) with Y up. Rotating Y-up to Z-up
    (x, y, z) -> (x, -z, y) gives d*(cos e sin a, cos e cos a, sin e) in Blender's frame. SoftRas' own
    renders are the left-right mirror of a pinhole camera at that pose: flip its images horizontally
    when loading them (`softfit.data` does) so that they match these cameras. `view_angle_deg` is SoftRas'
    `viewing_angle` (half the field of view); default 15, what SoftRas' own data was rendered with."""
    rows = np.asarray(camera_npy, dtype=np.float64)
    if rows.ndim != 2 or rows.shape[1] != 3:
        raise InputError(
            f"SoftRas cameras must be (N, 3) rows of distance, elevation, azimuth, got {rows.shape}")

    d, e, a = rows[:, 0], np.radians(rows[:, 1]), np.radians(rows[:, 2])
    eyes = np.stack([d * np.cos(e) * np.sin(a), d * np.cos(e) * np.cos(a), d * np.sin(e)], axis=1)
    c2w = np.stack([look_at(x) for x in eyes])
    f = 0.5 * image_size / math.tan(math.radians(view_angle_deg))
    return Cameras(c2w, f, f, image_size / 2.0, image_size / 2.0, image_size, image_size)


# ---------------------------------------------------------------------------------------------------
# transforms.json (nerfstudio / instant-ngp)


@dataclass(frozen=True)
class Frame:
    """One view of a transforms.json: the image file and its optional mask, resolved to absolute paths."""

    image: Path
    mask: Path | None


def resolve_frame_path(base: Path, rel: str, allow_outside: bool = False) -> Path:
    """The file a frame's `file_path` names: relative to the json file, with or without an extension.

    It must stay inside the dataset folder `base` (after resolving `..` and links) unless `allow_outside`:
    a camera file may not make SoftFit read, and show in its reports, any image on the disk. Backslashes
    separate folders when no file has the name as written (a camera file written on Windows)."""
    if "\\" in rel and not (base / rel).exists():
        rel = rel.replace("\\", "/")
    p = (base / rel).resolve()
    if not allow_outside and not p.is_relative_to(base.resolve()):
        raise InputError(f"{rel!r} lies outside the dataset folder {base}: paths in a camera file must stay "
                         "inside it (pass --allow-outside-paths if you trust this file)")
    if p.suffix and p.exists():
        return p
    for ext in (".png", ".jpg", ".jpeg", ".PNG", ".JPG", ".exr", ".tif", ".tiff"):
        cand = p.with_name(p.name + ext)
        if cand.exists():
            return cand
    return p


def _intrinsics(meta: dict, frame: dict, image_size: tuple[int, int] | None) -> tuple[float, ...]:
    """(fx, fy, cx, cy, w, h) for one frame: per-frame values override the top-level ones."""

    def get(key: str) -> float | None:
        v = frame.get(key, meta.get(key))
        if v is None:
            return None
        if isinstance(v, bool):
            raise ValueError(f"{key} must be a number, got {v!r}")
        x = float(v)
        if not math.isfinite(x):
            raise ValueError(f"{key} must be a finite number, got {v!r}")
        return x

    w, h = get("w"), get("h")
    if w is None or h is None:
        if image_size is None:
            raise InputError("transforms.json gives no image size (w, h) and the image could not be read")
        w, h = float(image_size[0]), float(image_size[1])
    fx, fy = get("fl_x"), get("fl_y")
    ax, ay = get("camera_angle_x"), get("camera_angle_y")
    if fx is None and ax is not None:
        fx = 0.5 * w / math.tan(ax / 2.0)
    if fy is None and ay is not None:
        fy = 0.5 * h / math.tan(ay / 2.0)
    if fx is None and fy is None:
        raise InputError("transforms.json needs camera_angle_x or fl_x (focal length)")
    fx = fy if fx is None else fx
    fy = fx if fy is None else fy
    cx, cy = get("cx"), get("cy")
    return fx, fy, (w / 2.0 if cx is None else cx), (h / 2.0 if cy is None else cy), w, h


def _image_size(path: Path) -> tuple[int, int] | None:
    try:
        from PIL import Image

        with Image.open(path) as im:
            return im.size
    except Exception:
        return None


def load_transforms(path: str | Path, allow_outside: bool = False,
                    image_size: Callable[[Path], tuple[int, int] | None] | None = None
                    ) -> tuple[Cameras, list[Frame]]:
    """Read a transforms.json; views of other sizes are rescaled to the first frame's size. Frame paths
    must stay inside the json's folder unless `allow_outside`. `image_size` measures (w, h) of frames
    that state none (default: PIL's header read; Blender passes its own)."""
    path = Path(path)
    if path.is_dir():
        path = path / "transforms.json"
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise InputError(f"camera file not found: {path}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not valid JSON: {exc}") from exc
    return parse_transforms(meta, path.parent, str(path), allow_outside, image_size or _image_size)


def parse_transforms(meta: dict, base: Path | None = None, source: str = "transforms",
                     allow_outside: bool = False,
                     image_size: Callable[[Path], tuple[int, int] | None] | None = None
                     ) -> tuple[Cameras, list[Frame]]:
    """Cameras and frames from transforms.json content; `base` resolves file paths (None: images are
    not on this machine, e.g. sent over the wire, so w/h must be given), which must stay inside `base`
    unless `allow_outside`."""
    frames = meta.get("frames") if isinstance(meta, dict) else None
    if not frames or not isinstance(frames, list):
        raise InputError(f"{source} has no frames")
    c2w, intr, out = [], [], []
    for i, fr in enumerate(frames):
        try:
            m = np.asarray(fr["transform_matrix"], dtype=np.float64)
            rel = str(fr["file_path"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{source}: frame {i} lacks a valid file_path/transform_matrix") from exc
        if m.shape == (3, 4):  # some exporters leave out the last row, always (0, 0, 0, 1) for a camera
            m = np.vstack([m, [0.0, 0.0, 0.0, 1.0]])
        if m.shape != (4, 4):
            raise InputError(f"{source}: frame {i} transform_matrix must be 4x4 (or 3x4), got {m.shape}")
        image = resolve_frame_path(base, rel, allow_outside) if base is not None else Path(rel)
        need_size = base is not None and any(k not in fr and k not in meta for k in ("w", "h"))
        try:
            intr.append(_intrinsics(meta, fr, (image_size or _image_size)(image) if need_size else None))
        except (TypeError, ValueError) as exc:
            raise InputError(f"{source}: frame {i} has bad intrinsics ({exc})") from exc
        c2w.append(m)
        mask = fr.get("mask_path")
        out.append(Frame(image, resolve_frame_path(base, str(mask), allow_outside)
                         if mask and base is not None else None))
    intr_a = np.asarray(intr)
    bad = np.flatnonzero(((intr_a[:, 4:6] < 1) | (intr_a[:, 4:6] > MAX_IMAGE_SIDE)).any(axis=1))
    if len(bad):
        i = int(bad[0])
        raise InputError(f"{source}: frame {i} declares an image size of {intr_a[i, 4]:g}x{intr_a[i, 5]:g} "
                         f"px; sides must lie in [1, {MAX_IMAGE_SIDE}]")
    w0, h0 = intr_a[0, 4], intr_a[0, 5]
    sx, sy = w0 / intr_a[:, 4], h0 / intr_a[:, 5]
    cams = Cameras(np.stack(c2w), intr_a[:, 0] * sx, intr_a[:, 1] * sy, intr_a[:, 2] * sx,
                   intr_a[:, 3] * sy, int(round(w0)), int(round(h0)))
    return cams, out


def transforms_dict(cameras: Cameras, file_paths: Sequence[str], mask_paths: Sequence[str] | None = None
                    ) -> dict:
    """The transforms.json content for `cameras`; intrinsics per frame so nothing is lost."""
    if len(file_paths) != len(cameras):
        raise InputError(f"{len(file_paths)} file paths for {len(cameras)} cameras")
    frames = []
    for i, fp in enumerate(file_paths):
        fr = {
            "file_path": str(fp),
            "transform_matrix": cameras.c2w[i].tolist(),
            "fl_x": float(cameras.fx[i]), "fl_y": float(cameras.fy[i]),
            "cx": float(cameras.cx[i]), "cy": float(cameras.cy[i]),
        }
        if mask_paths is not None:
            fr["mask_path"] = str(mask_paths[i])
        frames.append(fr)
    meta = {"w": cameras.width, "h": cameras.height, "frames": frames}
    if len(cameras):
        meta["camera_angle_x"] = float(2 * math.atan(0.5 * cameras.width / cameras.fx[0]))
    return meta


def save_transforms(path: str | Path, cameras: Cameras, file_paths: Sequence[str],
                    mask_paths: Sequence[str] | None = None) -> None:
    Path(path).write_text(json.dumps(transforms_dict(cameras, file_paths, mask_paths), indent=2))


# ---------------------------------------------------------------------------------------------------
# Blender camera settings


def blender_camera_settings(cameras: Cameras, index: int, sensor_width: float = 36.0) -> dict:
    """Blender camera data settings reproducing camera `index` at the render resolution width x height.

    With sensor_fit AUTO the sensor spans the image's longer side; the principal point offset maps to
    lens shift in units of that side; unequal fx/fy become a pixel aspect ratio."""
    w, h = cameras.width, cameras.height
    fx, fy = float(cameras.fx[index]), float(cameras.fy[index])
    # Blender scales the narrower pixel direction: keep fx as the reference and stretch y pixels.
    aspect_x, aspect_y = (1.0, fx / fy) if fx >= fy else (fy / fx, 1.0)
    # With a pixel aspect ratio, Blender's effective sensor spans max(w*ax, h*ay) in aspect-scaled units.
    side_px = max(w * aspect_x, h * aspect_y)
    f_side = fx * aspect_x  # focal length in aspect-scaled pixel units (same along both axes)
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

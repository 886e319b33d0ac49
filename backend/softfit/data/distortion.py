"""Lens distortion of real captures, removed at load time (numpy: the add-on ships this module).

SoftFit's cameras are pinholes, so a distorted photo is resampled (bilinearly, by the lens model's own
forward map) into the image the same pinhole (same fx, fy, cx, cy, size) would have taken; its mask goes
through the very same map. Images and masks are undistorted, never the model: the loader's info says so
(`undistorted`). `distort`, which makes synthetic captures for tests, uses OpenCV's iterative inverse.

Models as transforms.json writers (nerfstudio, instant-ngp, COLMAP converters) name them:
- OPENCV: radial k1, k2, k3 and tangential p1, p2 (OpenCV's (k1, k2, p1, p2, k3)). nerfstudio also allows
  a k4 r^8 term, which OpenCV's model lacks: a non-zero k4 is refused rather than ignored;
- OPENCV_FISHEYE: equidistant fisheye k1..k4 (OpenCV's `cv2.fisheye`); p1, p2 must be zero.
Without `camera_model`, non-zero coefficients mean OPENCV (instant-ngp writes no model name)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError

MODELS = ("OPENCV", "OPENCV_FISHEYE")
KEYS = ("k1", "k2", "k3", "k4", "p1", "p2")
# Camera models that need no undistortion at all.
PINHOLE_MODELS = ("PINHOLE", "SIMPLE_PINHOLE")


@dataclass(frozen=True)
class Distortion:
    """One camera's lens model and coefficients (k1..k4, p1, p2; unused ones zero)."""

    model: str
    k1: float = 0.0
    k2: float = 0.0
    k3: float = 0.0
    k4: float = 0.0
    p1: float = 0.0
    p2: float = 0.0

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise InputError(f"unsupported camera_model {self.model!r}; SoftFit undistorts "
                             f"{', '.join(MODELS)} (or {', '.join(PINHOLE_MODELS)}: none)")
        values = [getattr(self, k) for k in KEYS]
        if not all(np.isfinite(v) for v in values):
            raise InputError(f"distortion coefficients must be finite numbers, got {values}")
        if self.model == "OPENCV" and self.k4 != 0:
            raise InputError("camera_model OPENCV with k4 (an r^8 term) is not supported by OpenCV's model; "
                             "convert the capture to OPENCV without k4 or to FULL_OPENCV-free coefficients")
        if self.model == "OPENCV_FISHEYE" and (self.p1 or self.p2):
            raise InputError("camera_model OPENCV_FISHEYE has no tangential terms: p1 and p2 must be 0")

    @property
    def coefficients(self) -> np.ndarray:
        """OpenCV's distortion vector for this model."""
        if self.model == "OPENCV":
            return np.array([self.k1, self.k2, self.p1, self.p2, self.k3], dtype=np.float64)
        return np.array([self.k1, self.k2, self.k3, self.k4], dtype=np.float64)

    def to_dict(self) -> dict:
        return {"camera_model": self.model, **{k: getattr(self, k) for k in KEYS if getattr(self, k)}}


def from_transforms(meta: dict, frame: dict, source: str = "transforms.json") -> Distortion | None:
    """The frame's distortion (per-frame keys override top-level ones), or None for a pinhole."""

    def get(key: str):
        return frame.get(key, meta.get(key))

    model = get("camera_model")
    values = {}
    for key in KEYS:
        v = get(key)
        try:
            values[key] = 0.0 if v is None else float(v)
        except (TypeError, ValueError):
            raise InputError(f"{source}: distortion coefficient {key}={v!r} is not a number") from None
    if model is not None:
        model = str(model).upper()
        if model in PINHOLE_MODELS:
            if any(values.values()):
                raise InputError(f"{source}: camera_model {model} takes no distortion coefficients")
            return None
    if not any(values.values()):
        return None
    return Distortion(model or "OPENCV", **values)


def _source_coords(dist: Distortion, K: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """For every pixel of the pinhole image, where the lens put it in the photo (the forward lens model,
    closed form, as OpenCV's initUndistortRectifyMap evaluates it; pixel centres at integers)."""
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    u, v = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    x, y = (u - cx) / fx, (v - cy) / fy
    r2 = x * x + y * y
    if dist.model == "OPENCV_FISHEYE":
        r = np.sqrt(r2)
        theta = np.arctan(r)
        t2 = theta * theta
        theta_d = theta * (1 + t2 * (dist.k1 + t2 * (dist.k2 + t2 * (dist.k3 + t2 * dist.k4))))
        scale = np.divide(theta_d, r, out=np.ones_like(r), where=r > 1e-12)
        xd, yd = x * scale, y * scale
    else:
        radial = 1 + r2 * (dist.k1 + r2 * (dist.k2 + r2 * dist.k3))
        xd = x * radial + 2 * dist.p1 * x * y + dist.p2 * (r2 + 2 * x * x)
        yd = y * radial + dist.p1 * (r2 + 2 * y * y) + 2 * dist.p2 * x * y
    return fx * xd + cx, fy * yd + cy


def remap_bilinear(array: np.ndarray, sx: np.ndarray, sy: np.ndarray) -> np.ndarray:
    """`array` (H, W[, C]) sampled at (sy, sx) bilinearly; samples off the image count as 0 (so pixels the
    lens never saw come out black / empty). uint8 in, uint8 out (rounded); floats stay float32."""
    a = np.asarray(array, dtype=np.float32)
    h, w = a.shape[:2]
    x0, y0 = np.floor(sx).astype(np.int64), np.floor(sy).astype(np.int64)
    fx, fy = (sx - x0).astype(np.float32), (sy - y0).astype(np.float32)
    if a.ndim == 3:
        fx, fy = fx[..., None], fy[..., None]
    out = np.zeros(sx.shape + a.shape[2:], np.float32)
    for dy, wy in ((0, 1 - fy), (1, fy)):
        for dx, wx in ((0, 1 - fx), (1, fx)):
            xi, yi = x0 + dx, y0 + dy
            inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
            vals = a[np.clip(yi, 0, h - 1), np.clip(xi, 0, w - 1)]
            vals[~inside] = 0.0
            out += wx * wy * vals
    if np.asarray(array).dtype == np.uint8:
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return out


def undistort(image: np.ndarray, dist: Distortion, fx: float, fy: float, cx: float, cy: float,
              mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """(image, mask) as the pinhole (fx, fy, cx, cy) at the image's own size would have seen them.

    numpy only (the Blender add-on undistorts with this too). Pixels the lens never saw come out black /
    empty. Masks are resampled bilinearly as fractions: their 0.5 level set follows the undistorted edge."""
    h, w = image.shape[:2]
    K = np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
    sx, sy = _source_coords(dist, K, w, h)
    img = remap_bilinear(image, sx, sy)
    out_mask = None if mask is None else remap_bilinear(np.asarray(mask, dtype=np.float32), sx, sy)
    return img, out_mask


def distort(image: np.ndarray, dist: Distortion, fx: float, fy: float, cx: float, cy: float,
            interpolation: int | None = None) -> np.ndarray:
    """The inverse of `undistort`: what the lens makes of a pinhole image (for tests and synthetic
    captures): each distorted pixel looks up the pinhole pixel its ray came from."""
    import cv2

    h, w = image.shape[:2]
    K = np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
    u, v = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    pts = np.stack([u.ravel(), v.ravel()], axis=1).reshape(-1, 1, 2)
    if dist.model == "OPENCV_FISHEYE":
        und = cv2.fisheye.undistortPoints(pts, K, dist.coefficients, P=K)
    else:
        und = cv2.undistortPointsIter(pts, K, dist.coefficients, None, K,
                                      (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 50, 1e-9))
    und = und.reshape(h, w, 2).astype(np.float32)
    mode = cv2.INTER_LINEAR if interpolation is None else interpolation
    return cv2.remap(np.ascontiguousarray(image), und[..., 0], und[..., 1], mode,
                     borderMode=cv2.BORDER_REPLICATE)

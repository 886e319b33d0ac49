"""From COLMAP's arbitrary frame to SoftFit's world frame (DESIGN.md §1).

COLMAP gives world-to-camera poses in an OpenCV camera frame (+Z forward, +Y down) and a world with
arbitrary origin, orientation and scale. SoftFit wants camera-to-world matrices in an OpenGL camera
frame (-Z forward, +Y up) in Blender's world: turntable axis = +Z, the object (where the cameras look)
at the origin, cameras at the chosen distance, view 0 at azimuth 0 (on -Y). For a turntable the axis is
the normal of the plane through the camera centres; without that hint, the cameras' mean up vector."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

CV_TO_GL = np.diag([1.0, -1.0, -1.0])  # flips +Y down / +Z forward into +Y up / -Z forward
MAX_TURNTABLE_RESIDUAL = 0.1  # plane or circle fit residual (relative to the radius) beyond which the
# centres are not a turntable circle and the generic frame is used instead


def colmap_to_c2w(R: np.ndarray, t: np.ndarray) -> np.ndarray:
    """(M, 4, 4) OpenGL camera-to-world from COLMAP world-to-camera rotations (M, 3, 3) and translations
    (M, 3): x_cam = R x_world + t, so the centre is -Rᵀt and the camera axes are the rows of R."""
    R = np.asarray(R, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    rt = np.transpose(R, (0, 2, 1))
    c2w = np.zeros((len(R), 4, 4))
    c2w[:, :3, :3] = rt @ CV_TO_GL
    c2w[:, :3, 3] = -np.einsum("nij,nj->ni", rt, t)
    c2w[:, 3, 3] = 1.0
    return c2w


def look_point(c2w: np.ndarray) -> np.ndarray:
    """The point nearest (least squares) to every camera's optical axis: where the cameras look."""
    centres, forward = c2w[:, :3, 3], -c2w[:, :3, 2]
    proj = np.eye(3)[None] - forward[:, :, None] * forward[:, None, :]
    a = proj.sum(axis=0)
    b = np.einsum("nij,nj->i", proj, centres)
    if np.linalg.cond(a) > 1e8:  # all axes parallel: no crossing point; look from the centroid
        return centres.mean(axis=0) + forward.mean(axis=0) * np.linalg.norm(centres.std(axis=0))
    return np.linalg.solve(a, b)


@dataclass(frozen=True)
class CircleFit:
    """Turntable circle through the camera centres: centre, unit normal, radius and relative residuals."""

    centre: np.ndarray
    normal: np.ndarray
    radius: float
    plane_residual: float
    circle_residual: float

    @property
    def ok(self) -> bool:
        return (self.radius > 0 and self.plane_residual < MAX_TURNTABLE_RESIDUAL
                and self.circle_residual < MAX_TURNTABLE_RESIDUAL)


def fit_circle(centres: np.ndarray) -> CircleFit | None:
    """Plane by SVD, then an algebraic (Kåsa) circle fit in that plane; None for < 3 or collinear points."""
    if len(centres) < 3:
        return None
    mean = centres.mean(axis=0)
    _, sv, vt = np.linalg.svd(centres - mean)
    if sv[1] < 1e-9 * max(sv[0], 1e-300):
        return None
    e1, e2, normal = vt[0], vt[1], vt[2]
    uv = np.stack([(centres - mean) @ e1, (centres - mean) @ e2], axis=1)
    # |p|^2 = 2 c·p + (r^2 - |c|^2): linear least squares in (c, k).
    a = np.column_stack([2 * uv, np.ones(len(uv))])
    sol, *_ = np.linalg.lstsq(a, (uv ** 2).sum(axis=1), rcond=None)
    c2 = sol[:2]
    r2 = sol[2] + c2 @ c2
    if r2 <= 0:
        return None
    radius = math.sqrt(r2)
    dist = np.linalg.norm(uv - c2, axis=1)
    return CircleFit(
        centre=mean + c2[0] * e1 + c2[1] * e2, normal=normal, radius=radius,
        plane_residual=float(np.sqrt(np.mean(((centres - mean) @ normal) ** 2)) / radius),
        circle_residual=float(np.sqrt(np.mean((dist - radius) ** 2)) / radius))


def _axis_point(c2w: np.ndarray, origin: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """The point on the line origin + s·axis nearest (least squares) to all optical axes."""
    centres, forward = c2w[:, :3, 3], -c2w[:, :3, 2]
    proj = np.eye(3)[None] - forward[:, :, None] * forward[:, None, :]
    pn = proj @ axis
    pc = np.einsum("nij,nj->ni", proj, origin[None] - centres)
    den = float((pn * pn).sum())
    s = -float((pn * pc).sum()) / den if den > 1e-12 else 0.0
    return origin + s * axis


def _basis_with_z(z: np.ndarray) -> np.ndarray:
    """A rotation whose rows are x, y, z with the given unit z (maps z onto +Z)."""
    helper = np.array([1.0, 0.0, 0.0]) if abs(z[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    x = np.cross(helper, z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    return np.stack([x, y, z])


def _rot_z(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def azimuths(centres: np.ndarray) -> np.ndarray:
    """SoftFit azimuth (radians) of world positions: 0 on -Y, +90° on +X (`cameras.turntable`)."""
    return np.arctan2(centres[:, 0], -centres[:, 1])


@dataclass(frozen=True)
class WorldFrame:
    """world_softfit = scale · rotation · (x_colmap - origin), plus what the fit found.

    azimuth0/azimuth_step (radians): the line az ≈ azimuth0 + step·index fitted to the registered views
    (after the rotation azimuth0 is 0); azimuth_residual: its RMS error; elevation: mean elevation."""

    scale: float
    rotation: np.ndarray
    origin: np.ndarray
    turntable: bool
    circle: CircleFit | None
    azimuth_step: float
    azimuth_residual: float
    elevation: float

    def apply(self, c2w: np.ndarray) -> np.ndarray:
        out = np.array(c2w, dtype=np.float64, copy=True)
        out[:, :3, :3] = self.rotation @ c2w[:, :3, :3]
        out[:, :3, 3] = self.scale * (c2w[:, :3, 3] - self.origin) @ self.rotation.T
        return out

    def summary(self) -> dict:
        """JSON-safe description for reports."""
        d = {
            "turntable": self.turntable,
            "azimuth_step_deg": math.degrees(self.azimuth_step),
            "azimuth_residual_deg": math.degrees(self.azimuth_residual),
            "elevation_deg": math.degrees(self.elevation),
        }
        if self.circle is not None:
            d["circle_plane_residual"] = self.circle.plane_residual
            d["circle_residual"] = self.circle.circle_residual
        return d


def _fit_azimuths(az: np.ndarray, index: np.ndarray) -> tuple[float, float, float]:
    """(offset, step, rms) of az ≈ offset + step·index over views sorted by index (angles unwrapped)."""
    order = np.argsort(index)
    a, i = np.unwrap(az[order]), index[order].astype(np.float64)
    if len(a) < 2:
        return float(a[0]) if len(a) else 0.0, 0.0, 0.0
    step, offset = np.polyfit(i, a, 1)
    rms = float(np.sqrt(np.mean((a - (offset + step * i)) ** 2)))
    return float(offset), float(step), rms


def world_frame(c2w: np.ndarray, index: np.ndarray, distance: float, turntable: bool = True) -> WorldFrame:
    """Fit the similarity taking COLMAP camera-to-world matrices (OpenGL axes) to SoftFit's world.

    index: each camera's position in the input sequence (view order around the turntable)."""
    centres, up = c2w[:, :3, 3], c2w[:, :3, 1]
    circle = fit_circle(centres) if turntable else None
    use_circle = circle is not None and circle.ok
    if use_circle:
        axis = circle.normal if float((up @ circle.normal).mean()) >= 0 else -circle.normal
        origin = _axis_point(c2w, circle.centre, axis)
    else:
        axis = up.mean(axis=0)
        axis /= np.linalg.norm(axis)
        origin = look_point(c2w)
    rotation = _basis_with_z(axis)
    mean_dist = float(np.linalg.norm(centres - origin, axis=1).mean())
    scale = distance / mean_dist if mean_dist > 0 else 1.0
    local = (centres - origin) @ rotation.T
    az = azimuths(local)
    if use_circle:
        offset, step, rms = _fit_azimuths(az, np.asarray(index))
    else:  # no turntable: simply start the first camera at azimuth 0
        offset, step, rms = float(az[int(np.argmin(index))]), 0.0, 0.0
    rotation = _rot_z(-offset) @ rotation
    elevation = float(np.mean(np.arcsin(np.clip(local[:, 2] / np.linalg.norm(local, axis=1), -1, 1))))
    return WorldFrame(scale, rotation, origin, use_circle, circle, step, rms, elevation)

"""Similarity alignment (Umeyama 1991) and camera pose errors against ground truth.

SfM recovers cameras only up to a similarity; before comparing with ground truth the estimated camera
centres are aligned to the true ones, then rotation and position errors are measured per view."""

from __future__ import annotations

import math

import numpy as np

from softfit.cameras import Cameras
from softfit.errors import InputError


def umeyama(src: np.ndarray, dst: np.ndarray, with_scale: bool = True
            ) -> tuple[float, np.ndarray, np.ndarray]:
    """(s, R, t) minimising Σ |dst - (s R src + t)|² over points (N, D); R is a proper rotation."""
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    if src.shape != dst.shape or src.ndim != 2 or len(src) < src.shape[1]:
        raise InputError(f"alignment needs two matching (N, D) point sets with N >= D, got {src.shape}, "
                         f"{dst.shape}")
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    xs, xd = src - mu_s, dst - mu_d
    cov = xd.T @ xs / len(src)
    u, d, vt = np.linalg.svd(cov)
    sign = np.ones(len(d))
    if np.linalg.det(u) * np.linalg.det(vt) < 0:  # reflection: flip the weakest axis
        sign[-1] = -1.0
    rot = u @ np.diag(sign) @ vt
    var_s = (xs ** 2).sum() / len(src)
    scale = float((d * sign).sum() / var_s) if with_scale and var_s > 0 else 1.0
    trans = mu_d - scale * rot @ mu_s
    return scale, rot, trans


def rotation_angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle (degrees) of the relative rotation aᵀb for stacks of rotations (N, 3, 3)."""
    rel = np.einsum("nji,njk->nik", a, b)
    cos = (np.trace(rel, axis1=1, axis2=2) - 1.0) / 2.0
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def _stats(prefix: str, v: np.ndarray) -> dict:
    return {f"{prefix}_mean": float(v.mean()), f"{prefix}_median": float(np.median(v)),
            f"{prefix}_max": float(v.max())}


def pose_errors(est: Cameras, gt: Cameras, align: bool = True) -> dict:
    """Rotation (degrees) and position errors of `est` against `gt`, view by view (same order).

    align=True first maps est's camera centres onto gt's with a similarity (needs >= 3 views); positions
    are in gt's units, and also relative to gt's mean camera distance from the centres' centroid.
    align=False compares the cameras as they are (checks a world-frame convention). The focal error is
    relative, after rescaling est to gt's image size."""
    if len(est) != len(gt):
        raise InputError(f"pose_errors needs the same views: {len(est)} estimated, {len(gt)} ground truth")
    if len(gt) == 0:
        raise InputError("pose_errors needs at least one view")
    ce, cg = est.centers, gt.centers
    if align:
        s, rot, t = umeyama(ce, cg)
    else:
        s, rot, t = 1.0, np.eye(3), np.zeros(3)
    ce_aligned = s * ce @ rot.T + t
    r_est = np.einsum("ij,njk->nik", rot, est.c2w[:, :3, :3])
    rot_err = rotation_angle_deg(gt.c2w[:, :3, :3], r_est)
    pos_err = np.linalg.norm(ce_aligned - cg, axis=1)
    spread = float(np.linalg.norm(cg - cg.mean(axis=0), axis=1).mean()) or 1.0
    est_px = est.resized(gt.width, gt.height)
    focal_err = np.abs(est_px.fx - gt.fx) / np.abs(gt.fx)
    out = {"views": len(gt), "aligned": align, "scale": s}
    out |= _stats("rotation_deg", rot_err)
    out |= _stats("position", pos_err)
    out |= _stats("position_rel", pos_err / spread)
    out["focal_rel_mean"] = float(focal_err.mean())
    out["rotation_deg_per_view"] = [float(x) for x in rot_err]
    out["position_per_view"] = [float(x) for x in pos_err]
    if not math.isfinite(out["rotation_deg_mean"]):
        raise InputError("pose errors are not finite: check the cameras")
    return out

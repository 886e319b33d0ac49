"""How good a fitted mesh is: silhouette IoU per view (hard-edged raster, so σ cannot flatter it) and
the Chamfer distance to a ground-truth mesh (seeded surface sampling, so the number is reproducible)."""

from __future__ import annotations

import numpy as np
import torch

from softfit.cameras import Cameras
from softfit.errors import InputError
from softfit.mesh.types import Mesh
from softfit.projection import camera_tensors, project


def render_silhouettes(mesh: Mesh, cameras: Cameras, device: torch.device | str = "cpu",
                       batch: int = 8) -> np.ndarray:
    """(N, H, W) float32 binary coverage of `mesh` in every camera (pixel centres inside a face)."""
    from softfit.raster import rasterize_silhouette

    like = torch.empty(0, dtype=torch.float32, device=device)
    verts = torch.as_tensor(mesh.verts, dtype=torch.float32, device=device)
    faces = torch.as_tensor(mesh.faces, dtype=torch.int64, device=device)
    w2c, intr = camera_tensors(cameras, like)
    out = np.zeros((len(cameras), cameras.height, cameras.width), dtype=np.float32)
    with torch.no_grad():
        for s in range(0, len(cameras), batch):
            screen = project(verts, w2c[s:s + batch], intr[s:s + batch])
            alpha = rasterize_silhouette(screen, faces, (cameras.height, cameras.width), hard=True)
            out[s:s + batch] = alpha.cpu().numpy()
    return out


def silhouette_iou(pred: np.ndarray, target: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """(N,) IoU of binarised silhouettes (N, H, W); two empty silhouettes agree perfectly (1.0)."""
    p = np.asarray(pred) > threshold
    t = np.asarray(target) > threshold
    inter = (p & t).reshape(len(p), -1).sum(1)
    union = (p | t).reshape(len(p), -1).sum(1)
    return np.where(union > 0, inter / np.maximum(union, 1), 1.0).astype(np.float64)


def view_iou(mesh: Mesh, silhouettes: np.ndarray, cameras: Cameras, device: torch.device | str = "cpu"
             ) -> np.ndarray:
    """(N,) hard-raster IoU of `mesh` against target silhouettes seen by `cameras`."""
    if len(cameras) == 0:
        return np.zeros(0)
    return silhouette_iou(render_silhouettes(mesh, cameras, device), silhouettes)


def sample_surface(mesh: Mesh, n: int, seed: int = 0) -> np.ndarray:
    """(n, 3) points uniformly distributed over the surface area (triangle chosen by area, then a
    uniform barycentric point)."""
    v, f = mesh.verts, mesh.faces
    if len(f) == 0:
        raise InputError("cannot sample the surface of a mesh without faces")
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    area = 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)
    rng = np.random.default_rng(seed)
    p = area / area.sum() if area.sum() > 0 else None
    tri = rng.choice(len(f), size=n, p=p)
    r1, r2 = rng.random(n), rng.random(n)
    s = np.sqrt(r1)
    w0, w1, w2 = 1 - s, s * (1 - r2), s * r2
    return w0[:, None] * a[tri] + w1[:, None] * b[tri] + w2[:, None] * c[tri]


def chamfer_distance(a: Mesh, b: Mesh, samples: int = 20000, seed: int = 0) -> dict[str, float | None]:
    """Symmetric Chamfer distance between two surfaces, in world units (metres).

    Returns chamfer = mean of the two directed mean nearest-neighbour distances, the two directed means
    (a_to_b: how far `a` strays from `b`, b_to_a: how much of `b` `a` misses), and chamfer_rel = chamfer
    divided by the diagonal of `b`'s bounding box (pass the ground truth as `b`)."""
    from scipy.spatial import cKDTree

    pa, pb = sample_surface(a, samples, seed), sample_surface(b, samples, seed + 1)
    d_ab = cKDTree(pb).query(pa, workers=-1)[0].mean()
    d_ba = cKDTree(pa).query(pb, workers=-1)[0].mean()
    cd = 0.5 * (d_ab + d_ba)
    diag = float(np.linalg.norm(b.verts.max(0) - b.verts.min(0))) if len(b.verts) else 0.0
    return {"chamfer": float(cd), "a_to_b": float(d_ab), "b_to_a": float(d_ba),
            "chamfer_rel": float(cd / diag) if diag > 0 else None, "samples": int(samples)}

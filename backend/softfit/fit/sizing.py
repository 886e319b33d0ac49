"""Target edge length per vertex: what resolution the images support here, and where the fit needs it.

Three rules, all in pixels of the full-size images, whichever render size the schedule is at (the
detail the images support; the engine explains why not the early renders' coarser pixels):
- footprint: one pixel at a vertex measures depth / fx in the view that sees the vertex largest; no edge
  is asked to be shorter than MIN_PX of those pixels (a shorter edge only adds unconstrained vertices);
- curvature: a chord of length l on a surface of curvature κ deviates from it by l²κ/8; asking that to stay
  under a sag s gives l = sqrt(8·s·px / κ), so flat parts coarsen and creases, rims and thin wings keep
  short edges. κ per vertex: the largest dihedral angle of its edges over the distance between the two
  faces' centres. The sag and the longest edge are relative to the object's extent in the views (SAG_REL
  and MAX_REL of it, never under SAG_PX and MAX_PX pixels): what a silhouette's IoU loses to a sag is
  sag × perimeter / area, i.e. relative to the object's size, and a fixed pixel tolerance made large
  images over-refine (the fit's sub-pixel ripples read as curvature, refined, rippled finer: the 256²
  mug reached 40 000 faces where 8 000 fixed ones fit it better; benchmarks/thin.md);
- silhouette error: where the hard silhouette still disagrees with the target by more than a pixel's
  staircase (e = the fraction of mismatched pixels in a small window around the vertex's projection
  beyond the 1/ERR_WINDOW that a one-pixel strip fills, worst view), the length is pulled towards the
  minimum:
  l ← l·(1 − e) + MIN_PX·px·e.
  The error is read at the render size the fit is at (`err_tg`): read on the full-size images after 45
  steps at 64 px, the 256² mug's whole outline was "wrong" (54 % of its vertices) and refined to 10 700
  faces that later remeshings could not take back (benchmarks/thin.md, round 13).
The field is then graded (no more than GRADE change in length per unit distance) so sizes vary smoothly.
On the first remeshing of an object over 100 px across (where the sag is relative), the curvature is read
on a copy of the mesh after SMOOTH_FIRST Taubin passes: the initial mesh there is a visual hull, whose
creases are the carving's facets, not the object's, and sizing for them set the 256² mug's face count at
15 000 before the fit had moved a vertex (benchmarks/thin.md, round 11).
Defaults measured on the `softfit bench thin` and `softfit bench fit` objects (benchmarks/thin.md)."""

from __future__ import annotations

import numpy as np
import torch

from softfit.fit.views import Targets
from softfit.projection import project

MIN_PX = 1.0  # shortest target edge, in render pixels (was 1.5: the chair's legs at 64² need finer; thin.md)
MAX_PX = 6.0  # the longest target edge (flat parts) is at least this many render pixels ...
# ... or this share of the object's extent in the views, whichever is longer. 8 %, not 5 %: fixed-size fits
# of smooth objects at 256² stop gaining near 3 000 faces (uniform edges of 6-7 % of the extent), and at 5 %
# the flat parts alone spent more; measured with three seeds on the 10 objects it changes (thin.md round
# 17): IoU within the seeds' spread on every one (mean change -0.0001), 2-46 % fewer faces on nine
MAX_REL = 0.08
SAG_REL = 0.0025  # allowed chord-to-surface deviation, as a share of the object's extent in the views ...
SAG_PX = 0.25  # ... and never under this many render pixels (a finer sag is invisible in the images)
GRADE = 0.5  # the length may grow by at most this much per unit of distance along an edge
ERR_WINDOW = 5  # window (render pixels) over which the silhouette mismatch is averaged
CHUNK = 16  # views rendered at once for the error maps
SMOOTH_FIRST = 10  # Taubin passes (λ 0.5, μ -0.53) before the first remeshing reads curvature (large objects)
TAUBIN = (0.5, -0.53)


def _edges(faces: np.ndarray) -> np.ndarray:
    return np.unique(np.sort(faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1), axis=0)


def pixel_size(verts: torch.Tensor, tg: Targets) -> tuple[torch.Tensor, torch.Tensor]:
    """(world size of one render pixel per vertex in the view that sees it largest, the projections)."""
    screen = project(verts, tg.w2c, tg.intrinsics)  # (N, V, 3)
    x, y, depth = screen[..., 0], screen[..., 1], screen[..., 2]
    inside = (depth > 0) & (x >= 0) & (x <= tg.width) & (y >= 0) & (y <= tg.height)
    px = depth / tg.intrinsics[:, None, 0]
    px = torch.where(inside, px, torch.full_like(px, float("inf"))).min(dim=0).values
    finite = torch.isfinite(px)
    fallback = (depth / tg.intrinsics[:, None, 0]).abs().min(dim=0).values
    return torch.where(finite, px, fallback), screen


def extent_px(screen: torch.Tensor, tg: Targets) -> float:
    """The object's extent in render pixels: the longer side of its projected box, median over the views
    that see all of it in front of the camera."""
    x, y, depth = screen[..., 0], screen[..., 1], screen[..., 2]
    side = torch.maximum(x.max(dim=1).values - x.min(dim=1).values, y.max(dim=1).values - y.min(dim=1).values)
    seen = (depth > 0).all(dim=1)
    return float(side[seen].median()) if bool(seen.any()) else float(max(tg.width, tg.height))


def silhouette_error(screen: torch.Tensor, faces: torch.Tensor, tg: Targets) -> torch.Tensor:
    """(V,) worst-view fraction of mismatched pixels near each vertex's projection (hard raster)."""
    from softfit.raster import rasterize_silhouette

    n, v = screen.shape[:2]
    err = torch.zeros(v, dtype=screen.dtype, device=screen.device)
    for s in range(0, n, CHUNK):
        sc = screen[s:s + CHUNK]
        alpha = rasterize_silhouette(sc.contiguous(), faces, (tg.height, tg.width), hard=True)
        diff = (alpha - (tg.silhouettes[s:s + CHUNK] > 0.5).to(alpha.dtype)).abs()
        local = torch.nn.functional.avg_pool2d(diff[:, None], ERR_WINDOW, stride=1, padding=ERR_WINDOW // 2,
                                               count_include_pad=False)[:, 0]
        # a one-pixel misfit strip along an outline (any outline's staircase) fills 1/ERR_WINDOW of the
        # window: only what goes beyond that is missing detail
        local = ((local - 1.0 / ERR_WINDOW) / (1.0 - 1.0 / ERR_WINDOW)).clamp(min=0.0)
        xi = sc[..., 0].floor().long().clamp(0, tg.width - 1)
        yi = sc[..., 1].floor().long().clamp(0, tg.height - 1)
        vals = local[torch.arange(len(sc), device=sc.device)[:, None], yi, xi]
        vals = torch.where(sc[..., 2] > 0, vals, torch.zeros_like(vals))
        err = torch.maximum(err, vals.max(dim=0).values)
    return err


def curvature(verts: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(V,) curvature (1 / world units): the largest over the vertex's edges of the dihedral angle divided
    by the distance between the two faces' centres."""
    f = np.asarray(faces)
    fn = np.cross(verts[f[:, 1]] - verts[f[:, 0]], verts[f[:, 2]] - verts[f[:, 0]])
    fn /= np.maximum(np.linalg.norm(fn, axis=1, keepdims=True), 1e-30)
    half = f[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2)
    key = np.sort(half, axis=1)
    n = len(verts)
    code = key[:, 0] * n + key[:, 1]
    order = np.argsort(code, kind="stable")
    pairs = order.reshape(-1, 2)  # closed mesh: two half-edges per edge
    e = key[pairs[:, 0]]
    cosang = np.clip((fn[pairs[:, 0] // 3] * fn[pairs[:, 1] // 3]).sum(1), -1.0, 1.0)
    centre = verts[f].mean(axis=1)  # the normals turn by the dihedral angle between the face centres
    span = np.maximum(np.linalg.norm(centre[pairs[:, 0] // 3] - centre[pairs[:, 1] // 3], axis=1), 1e-30)
    k = np.arccos(cosang) / span
    out = np.zeros(n)
    np.maximum.at(out, e[:, 0], k)
    np.maximum.at(out, e[:, 1], k)
    return out


def taubin(verts: np.ndarray, faces: np.ndarray, passes: int) -> np.ndarray:
    """`verts` after `passes` Taubin λ|μ steps with uniform weights: creases a few edges wide melt, the
    shape's size and larger curvature stay (no shrinkage, unlike plain Laplacian smoothing)."""
    from softfit.init.meshops import adjacency

    a = adjacency(len(verts), np.asarray(faces))
    w = np.asarray(verts, dtype=np.float64).copy()
    for _ in range(passes):
        for lam in TAUBIN:
            w = w + lam * (a @ w - w)
    return w


def grade(target: np.ndarray, verts: np.ndarray, faces: np.ndarray, rounds: int = 8) -> np.ndarray:
    """Limit how fast the target length grows along edges: t_i ≤ t_j + GRADE·|x_i − x_j|."""
    e = _edges(faces)
    d = np.linalg.norm(verts[e[:, 0]] - verts[e[:, 1]], axis=1) * GRADE
    t = target.copy()
    for _ in range(rounds):
        before = t.copy()
        np.minimum.at(t, e[:, 0], t[e[:, 1]] + d)
        np.minimum.at(t, e[:, 1], t[e[:, 0]] + d)
        if np.array_equal(before, t):
            break
    return t


def target_lengths(verts: torch.Tensor, faces: np.ndarray, tg: Targets, first: bool = False,
                   err_tg: Targets | None = None) -> tuple[np.ndarray, dict]:
    """(V,) target edge lengths (world units) for the mesh at the image size of `tg`, and a summary.
    `first`: this is the initial mesh (its curvature is read after smoothing when the object is large);
    `err_tg`: the targets at the render size in force, where the silhouette error is read (default `tg`)."""
    with torch.no_grad():
        px_t, screen = pixel_size(verts, tg)
        et = tg if err_tg is None else err_tg
        at = screen if et.width == tg.width else project(verts, et.w2c, et.intrinsics)
        err_t = silhouette_error(at, torch.as_tensor(faces, device=verts.device), et)
        extent = extent_px(screen, tg)
    px, err = px_t.double().cpu().numpy(), err_t.double().cpu().numpy()
    v = verts.detach().double().cpu().numpy()
    sag_px, max_px = max(SAG_PX, SAG_REL * extent), max(MAX_PX, MAX_REL * extent)
    smooth = SMOOTH_FIRST if first and sag_px > SAG_PX else 0
    kappa = curvature(taubin(v, faces, smooth) if smooth else v, faces)
    t_curv = np.sqrt(8.0 * sag_px * px / np.maximum(kappa, 1e-30))
    t = np.minimum(t_curv, max_px * px)
    t = t * (1.0 - err) + MIN_PX * px * err
    t = np.maximum(grade(np.maximum(t, MIN_PX * px), v, faces), MIN_PX * px)
    summary = {"min_px": MIN_PX, "max_px": max_px, "sag_px": sag_px, "extent_px": extent,
               "curvature_smoothing_passes": smooth,
               "mean_error": float(err.mean()), "refined_share": float((err > 0.1).mean())}
    return t, summary

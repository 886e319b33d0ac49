"""`hull`: the visual hull of all silhouettes as a clean, closed mesh of about the requested size.

Steps: the 3-D box from the silhouettes' bounding boxes (`box.fit_box`), octree carving inside it
(`carve.carve`), the largest 6-connected voxel component with its cavities filled, a Gaussian-smoothed
occupancy field, then marching cubes (scikit-image) on that field resampled to the spacing that gives
≈ `polys` triangles (the triangle count of marching cubes scales with 1/spacing²; one correction pass),
the largest mesh component, and a few rounds of tangential relaxation with the vertices projected back
onto the fine iso-surface (even triangles on the accurate surface). Marching cubes on a zero-padded field
gives a closed, consistently wound 2-manifold; the result is checked and oriented outwards."""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.measure import marching_cubes

from softfit.data.types import MultiViewData
from softfit.errors import InputError
from softfit.init import meshops
from softfit.init.box import fit_box
from softfit.init.carve import VoxelGrid, carve
from softfit.mesh.types import Mesh

PAD = 2  # zero voxels around the field so the surface closes


def hull_grid(data: MultiViewData, resolution: int = 128, margin: float = 0.05, max_misses: int = 0
              ) -> VoxelGrid:
    """Carve the visual hull inside the silhouettes' 3-D box, widened by `margin` of its size."""
    lo, hi = fit_box(data.cameras, data.silhouettes)
    pad = margin * (hi - lo).max()
    return carve(data.cameras, data.silhouettes, lo - pad, hi + pad, resolution, max_misses)


def clean_volume(occ: np.ndarray) -> np.ndarray:
    """Largest 6-connected component with internal cavities filled (the fit needs one closed surface)."""
    labels, n = ndimage.label(occ)
    if n == 0:
        raise InputError("the visual hull is empty: the silhouettes do not agree through these cameras")
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    return ndimage.binary_fill_holes(labels == np.argmax(sizes))


class _Field:
    """The smoothed occupancy as a trilinear function of world position, with its gradient."""

    def __init__(self, occ: np.ndarray, origin: np.ndarray, h: float, sigma: float):
        f = ndimage.gaussian_filter(occ.astype(np.float32), sigma) if sigma > 0 else occ.astype(np.float32)
        self.values = np.pad(f, PAD)
        self.grad = np.stack(np.gradient(self.values, h))
        # padded index p of voxel centre i is i + PAD: world = origin + (p - PAD + 0.5) h
        self.origin = origin + (0.5 - PAD) * h
        self.h = h

    def index(self, pts: np.ndarray) -> np.ndarray:
        return ((pts - self.origin) / self.h).T

    def __call__(self, pts: np.ndarray) -> np.ndarray:
        return ndimage.map_coordinates(self.values, self.index(pts), order=1, mode="nearest")

    def gradient(self, pts: np.ndarray) -> np.ndarray:
        idx = self.index(pts)
        return np.stack([ndimage.map_coordinates(g, idx, order=1, mode="nearest") for g in self.grad], 1)

    def resampled(self, spacing: float) -> tuple[np.ndarray, np.ndarray]:
        """(field on a grid of `spacing`, world position of its first sample)."""
        ext = (np.array(self.values.shape) - 1) * self.h
        n = np.maximum(2, np.floor(ext / spacing).astype(int) + 1)
        axes = [np.arange(k) * spacing / self.h for k in n]
        grid = np.stack(np.meshgrid(*axes, indexing="ij"))
        vals = ndimage.map_coordinates(self.values, grid.reshape(3, -1), order=1, mode="constant")
        vals = vals.reshape(n)
        # keep the border at zero so the surface stays closed
        vals[0], vals[-1], vals[:, 0], vals[:, -1], vals[:, :, 0], vals[:, :, -1] = (0.0,) * 6
        return vals, self.origin


def _mc(values: np.ndarray, origin: np.ndarray, spacing: float) -> tuple[np.ndarray, np.ndarray]:
    v, f, _, _ = marching_cubes(values, 0.5, spacing=(spacing,) * 3, allow_degenerate=False)
    v, f = meshops.largest_component(v.astype(np.float64) + origin, f.astype(np.int64))
    return v, f


def _project(field: _Field, v: np.ndarray, iterations: int = 2) -> np.ndarray:
    """Newton steps along the field gradient onto its 0.5 level set."""
    for _ in range(iterations):
        g = field.gradient(v)
        gg = np.maximum((g * g).sum(1, keepdims=True), 1e-12)
        step = ((field(v) - 0.5)[:, None]) * g / gg
        n = np.linalg.norm(step, axis=1, keepdims=True)
        v = v - step * np.minimum(1.0, field.h / np.maximum(n, 1e-12))  # at most one voxel per step
    return v


def relax(field: _Field, verts: np.ndarray, faces: np.ndarray, iterations: int = 5) -> np.ndarray:
    """Tangential Laplacian relaxation, each round projected back onto the iso-surface."""
    w = meshops.adjacency(len(verts), faces)
    v = verts
    for _ in range(iterations):
        n = meshops.vertex_normals(v, faces)
        d = w @ v - v
        d -= (d * n).sum(1, keepdims=True) * n
        v = _project(field, v + 0.5 * d)
    return v


def hull_mesh(data: MultiViewData, polys: int | None, resolution: int = 128, smooth: float = 0.5,
              margin: float = 0.05, max_misses: int = 0, relax_iterations: int = 5) -> Mesh:
    """Visual hull remeshed to ≈ `polys` triangles (see the module docstring).

    `resolution`: carving voxels along the box's longest side; `smooth`: Gaussian sigma in voxels (it
    removes voxel staircases but rounds off the hull's thin wedges where cones meet: measured on Suzanne,
    24 views, 3 000 faces, IoU against the input silhouettes 0.951 at 0.5, 0.943 at 1.0); `max_misses`:
    views a voxel may fall outside and still be kept. polys=None keeps marching cubes' own resolution (the
    carving grid's spacing): the full-resolution hull that benchmarks compare fits with."""
    grid = hull_grid(data, resolution, margin, max_misses)
    occ = clean_volume(grid.occupied)
    field = _Field(occ, grid.origin, grid.h, smooth)
    spacing = grid.h
    v, f = _mc(field.values, field.origin, spacing)
    for _ in range(3 if polys else 0):  # faces ∝ 1/spacing²: two corrections land within a few percent
        ratio = len(f) / polys
        if abs(ratio - 1.0) < 0.08:
            break
        spacing *= float(np.sqrt(ratio))
        vals, origin = field.resampled(spacing)
        v, f = _mc(vals, origin, spacing)
    f = meshops.orient_outward(v, f)
    if relax_iterations > 0:
        v = relax(field, v, f, relax_iterations)
    if not meshops.is_watertight(f):
        raise InputError("the visual hull mesh is not watertight (please report this as a bug)")
    return Mesh(v, f)

"""UV unwrapping with xatlas: charts cut along the mesh's creases, packed into one square atlas whose
texel size matches what the photos can show.

The texel size is the pixel footprint at the object (its distance over the focal length, median over
the views): finer texels would hold no detail the photos have, coarser ones would throw detail away.
The atlas side is then what xatlas needs at that density, capped at MAX_SIZE."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xatlas

from softfit.cameras import Cameras
from softfit.errors import InputError
from softfit.mesh.normals import vertex_normals
from softfit.mesh.types import Mesh

MAX_SIZE = 2048  # atlas side cap (texels)
MIN_SIZE = 64
PADDING = 2  # texels between charts: room for bilinear lookups and mipmaps' first level


@dataclass(frozen=True)
class UVMesh:
    """The mesh with texture coordinates. `mesh` keeps the input's vertices and faces (topology
    untouched); `uvs` (U, 2) are per UV-vertex in Blender/OBJ convention (origin bottom-left, v up) and
    `uv_faces` (F, 3) index them face by face; `vmap` (U,) gives each UV-vertex's mesh vertex (a vertex on
    a seam has several); `normals` (V, 3) smooth vertex normals of `mesh`; size: atlas (width, height)."""

    mesh: Mesh
    uvs: np.ndarray
    uv_faces: np.ndarray
    vmap: np.ndarray
    normals: np.ndarray
    size: tuple[int, int]


def pixel_footprint(mesh: Mesh, cameras: Cameras) -> float:
    """World size of one pixel at the object's centre: median over views of depth / focal length."""
    centre = 0.5 * (mesh.verts.min(axis=0) + mesh.verts.max(axis=0))
    cam = cameras.c2w[:, :3, 3]
    forward = -cameras.c2w[:, :3, 2]
    depth = np.einsum("ij,ij->i", centre - cam, forward)
    focal = np.sqrt(np.asarray(cameras.fx, dtype=np.float64) * np.asarray(cameras.fy, dtype=np.float64))
    ok = depth > 0
    if not ok.any():
        raise InputError("no camera sees the mesh in front of it: cannot size a texture")
    return float(np.median(depth[ok] / focal[ok]))


def unwrap(mesh: Mesh, texel: float, max_size: int = MAX_SIZE) -> UVMesh:
    """Charts and atlas at `texel` world units per texel (or coarser, if the atlas would exceed
    `max_size`)."""
    if mesh.n_faces == 0:
        raise InputError("cannot unwrap a mesh without faces")
    if not (np.isfinite(texel) and texel > 0):
        raise InputError(f"texel size must be a positive number, got {texel}")
    normals = vertex_normals(mesh)
    atlas = _generate(mesh, normals, 1.0 / texel, 0)
    if max(atlas.width, atlas.height) > max_size:
        atlas = _generate(mesh, normals, 0.0, max_size)
    if max(atlas.width, atlas.height) < MIN_SIZE:
        atlas = _generate(mesh, normals, 0.0, MIN_SIZE)
    vmap, uv_faces, uvs = atlas[0]
    # xatlas' v grows downwards with the atlas rows; Blender's and OBJ's v grows upwards.
    uvs = np.stack([uvs[:, 0], 1.0 - uvs[:, 1]], axis=1).astype(np.float64)
    return UVMesh(mesh, uvs, uv_faces.astype(np.int64), vmap.astype(np.int64), normals,
                  (int(atlas.width), int(atlas.height)))


def _generate(mesh: Mesh, normals: np.ndarray, texels_per_unit: float, resolution: int) -> xatlas.Atlas:
    atlas = xatlas.Atlas()
    atlas.add_mesh(mesh.verts.astype(np.float32), mesh.faces.astype(np.uint32), normals.astype(np.float32))
    pack = xatlas.PackOptions()
    pack.padding = PADDING
    pack.bilinear = True
    pack.texels_per_unit = float(texels_per_unit)
    pack.resolution = int(resolution)
    atlas.generate(xatlas.ChartOptions(), pack)
    return atlas

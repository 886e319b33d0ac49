"""Writing a textured mesh: `mesh.obj` + `mesh.mtl` + `texture.png`, and `mesh.glb` (one file, opens in
any glTF viewer and in Blender with its material wired to the texture).

OBJ keeps Blender's world frame (+Z up, no axis swap; import with Forward Y, Up Z, as the header says)
and the mesh's own vertices: UV seams live in the `vt` indices, so the imported mesh stays watertight.
glTF is +Y up by specification: positions and normals are written as (x, z, −y), which Blender's glTF
importer turns back into the same world coordinates; glTF needs one UV per vertex, so vertices on UV
seams are duplicated there (Blender's importer can merge them again: "Merge Vertices")."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import trimesh
from PIL import Image

from softfit.atomic import public_mode, write_atomic
from softfit.mesh.io import OBJ_HEADER, save_obj_polygons
from softfit.mesh.quadriflow import QuadMesh
from softfit.texture.bake import Texture

TEXTURE_FILE = "texture.png"
MTL_FILE = "mesh.mtl"
MATERIAL = "softfit_texture"


def obj_text(tex: Texture, mtl: str = MTL_FILE) -> str:
    uv, mesh = tex.uv, tex.uv.mesh
    buf = io.StringIO()
    buf.write(OBJ_HEADER + f"# {mesh.n_verts} vertices, {mesh.n_faces} triangles, texture {TEXTURE_FILE}\n")
    buf.write(f"mtllib {mtl}\n")
    np.savetxt(buf, mesh.verts.astype(np.float32), fmt="v %.9g %.9g %.9g")
    np.savetxt(buf, uv.uvs.astype(np.float32), fmt="vt %.9g %.9g")
    np.savetxt(buf, uv.normals.astype(np.float32), fmt="vn %.6g %.6g %.6g")
    buf.write(f"usemtl {MATERIAL}\ns 1\n")
    v = mesh.faces + 1
    t = uv.uv_faces + 1
    rows = np.stack([v[:, 0], t[:, 0], v[:, 0], v[:, 1], t[:, 1], v[:, 1], v[:, 2], t[:, 2], v[:, 2]], 1)
    np.savetxt(buf, rows, fmt="f %d/%d/%d %d/%d/%d %d/%d/%d")
    return buf.getvalue()


def mtl_text(texture_file: str = TEXTURE_FILE) -> str:
    """A matte material showing the texture as its diffuse colour (the photos' lighting is baked in)."""
    return (f"# Written by SoftFit\nnewmtl {MATERIAL}\nKa 0 0 0\nKd 1 1 1\nKs 0 0 0\nNs 0\nd 1\nillum 1\n"
            f"map_Kd {texture_file}\n")


def png_bytes(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image, "RGB").save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def glb_bytes(tex: Texture) -> bytes:
    uv, mesh = tex.uv, tex.uv.mesh
    to_gltf = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])  # Blender (x,y,z) -> (x,z,-y)
    verts = mesh.verts[uv.vmap] @ to_gltf.T
    normals = uv.normals[uv.vmap] @ to_gltf.T
    material = trimesh.visual.material.PBRMaterial(
        name=MATERIAL, baseColorTexture=Image.fromarray(tex.image, "RGB"), metallicFactor=0.0,
        roughnessFactor=1.0, doubleSided=False)
    visual = trimesh.visual.TextureVisuals(uv=uv.uvs, material=material)
    tm = trimesh.Trimesh(verts, uv.uv_faces, vertex_normals=normals, visual=visual, process=False)
    return trimesh.exchange.gltf.export_glb(tm, include_normals=True)


def save_textured(folder: str | Path, tex: Texture) -> list[str]:
    """Write mesh.obj, mesh.mtl, texture.png and mesh.glb into `folder`; returns the file names."""
    folder = Path(folder)
    write_atomic(folder / "mesh.obj", obj_text(tex).encode("ascii"), public_mode())
    write_atomic(folder / MTL_FILE, mtl_text().encode("ascii"), public_mode())
    write_atomic(folder / TEXTURE_FILE, png_bytes(tex.image), public_mode())
    write_atomic(folder / "mesh.glb", glb_bytes(tex), public_mode())
    return ["mesh.obj", MTL_FILE, TEXTURE_FILE, "mesh.glb"]


QUADS_OBJ, QUADS_MTL, QUADS_TEXTURE = "mesh_quads.obj", "mesh_quads.mtl", "texture_quads.png"


def save_quads(folder: str | Path, quads: QuadMesh) -> list[str]:
    """Write mesh_quads.obj and, when the quads carry a texture, mesh_quads.mtl and texture_quads.png;
    returns the file names."""
    folder = Path(folder)
    if quads.uv is None or quads.texture is None:
        save_obj_polygons(folder / QUADS_OBJ, quads.verts, quads.sizes, quads.corners)
        return [QUADS_OBJ]
    save_obj_polygons(folder / QUADS_OBJ, quads.verts, quads.sizes, quads.corners, quads.uv, QUADS_MTL,
                      MATERIAL)
    write_atomic(folder / QUADS_MTL, mtl_text(QUADS_TEXTURE).encode("ascii"), public_mode())
    write_atomic(folder / QUADS_TEXTURE, png_bytes(quads.texture), public_mode())
    return [QUADS_OBJ, QUADS_MTL, QUADS_TEXTURE]

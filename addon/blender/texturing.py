"""A fitted object's texture from the backend: UVs per face corner, the baked image, a material.

The backend's finishing step bakes the texture of the mesh it returns (`Result.uv`, `Result.texture`),
so the object must already hold exactly that mesh's triangles, in that order (`streaming.FitJob`'s
result step makes sure of it). The image is packed into the .blend file, so saving the scene keeps it."""

from __future__ import annotations

import bpy
import numpy as np

from .blend import mesh_object

UV_NAME = "SoftFit"


def apply_texture(obj: bpy.types.Object, uv: np.ndarray, image: np.ndarray) -> bpy.types.Material:
    """Give `obj` (holding the backend's triangles) the UVs `uv` (F, 3, 2) and a material whose Base
    Color is `image` (H, W, 3) uint8 sRGB, row 0 at the top."""
    obj, mesh = mesh_object(obj)
    layer = mesh.uv_layers.get(UV_NAME) or mesh.uv_layers.new(name=UV_NAME)
    layer.data.foreach_set("uv", np.ascontiguousarray(uv, dtype=np.float32).reshape(-1))
    mesh.uv_layers.active = layer
    mat = _material(obj.name, _image(obj.name, image))
    mesh.materials.clear()
    mesh.materials.append(mat)
    mesh.update()
    return mat


def _image(name: str, rgb: np.ndarray) -> bpy.types.Image:
    h, w = rgb.shape[:2]
    img = bpy.data.images.new(f"{name} texture", w, h, alpha=False)
    rgba = np.ones((h, w, 4), dtype=np.float32)
    rgba[..., :3] = rgb[::-1] / 255.0  # Blender's rows start at the bottom
    img.pixels.foreach_set(rgba.reshape(-1))  # type: ignore[attr-defined]  # the stubs type `pixels` as a float
    img.pack()
    return img


def _material(name: str, image: bpy.types.Image) -> bpy.types.Material:
    mat = bpy.data.materials.new(f"{name} SoftFit")
    tree = mat.node_tree  # Blender 5.0: every material has its node tree
    assert tree is not None
    bsdf = next(n for n in tree.nodes if n.type == "BSDF_PRINCIPLED")
    tex = tree.nodes.new("ShaderNodeTexImage")
    tex.image = image  # type: ignore[attr-defined]
    tex.location = (bsdf.location.x - 320, bsdf.location.y)
    tree.links.new(tex.outputs["Color"], bsdf.inputs["Base Color"])
    tree.nodes.active = tex  # Solid view's Texture colour shows the active image node
    bsdf.inputs["Roughness"].default_value = 0.8  # type: ignore[attr-defined]
    return mat

"""A fitted object's texture from the backend: UVs per face corner, the baked image, a material.

The backend's finishing step bakes the texture of the mesh it returns (`Result.uv`, `Result.texture`),
so the object must already hold exactly that mesh's triangles, in that order (`streaming.FitJob`'s
result step makes sure of it). The image is packed into the .blend file, so saving the scene keeps it."""

from __future__ import annotations

import bpy
import numpy as np

from .blend import mesh_object
from .meshes import triangle_loops

UV_NAME = "SoftFit"


def apply_texture(obj: bpy.types.Object, uv: np.ndarray, image: np.ndarray) -> bpy.types.Material:
    """Give `obj` the UVs `uv`, one per polygon corner in loop order ((F, 3, 2) for the backend's
    triangles), and a material whose Base Color is `image` (H, W, 3) uint8 sRGB, row 0 at the top."""
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


def read_texture(obj: bpy.types.Object) -> tuple[np.ndarray, np.ndarray] | None:
    """The object's texture as the quad remesh carries it over: UVs (F, 3, 2) per corner of
    `meshes.triangles`' triangles (active UV map) and the (H, W, 3) uint8 image, row 0 at the top, of its
    first material's active image node (else its first one with an image); None without either."""
    obj, mesh = mesh_object(obj)
    layer = mesh.uv_layers.active
    mat = mesh.materials[0] if len(mesh.materials) else None
    tree = mat.node_tree if mat is not None else None
    if layer is None or tree is None:
        return None
    nodes = [n for n in tree.nodes if n.type == "TEX_IMAGE" and getattr(n, "image", None) is not None]
    node = tree.nodes.active if tree.nodes.active in nodes else (nodes[0] if nodes else None)
    if node is None:
        return None
    img = node.image  # type: ignore[attr-defined]
    w, h = img.size
    if w == 0 or h == 0:
        return None
    px = np.empty(w * h * img.channels, dtype=np.float32)
    img.pixels.foreach_get(px)
    rgb = px.reshape(h, w, img.channels)[::-1, :, :3]  # Blender's rows start at the bottom
    loop_uv = np.empty(2 * len(mesh.loops), dtype=np.float32)
    layer.data.foreach_get("uv", loop_uv)
    uv = loop_uv.reshape(-1, 2)[triangle_loops(mesh)]
    return uv, np.clip(np.round(rgb * 255.0), 0, 255).astype(np.uint8)

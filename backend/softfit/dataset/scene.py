"""The Blender scene of a dataset render (needs `bpy`): the object, a pinhole camera set from `Cameras`,
an optional photo-like backdrop, and the two render passes.

Mask pass: Workbench, flat, anti-aliasing off, transparent film: Workbench rasterises on the GPU API
(EGL, software Mesa without a GPU), so a pixel is covered iff its centre is inside a triangle, the same
rule as SoftFit's hard rasteriser. Image pass, anti-aliased like a photo: Workbench studio lighting
(milliseconds a view; its shadows need a stencil buffer that headless Mesa lacks, so it draws none here)
or Cycles on the CPU (path traced, `samples`, no denoising: real shadows on the backdrop)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import bpy
import numpy as np
from mathutils import Matrix

from softfit.cameras import Cameras, blender_camera_settings

OBJECT_COLOR = (0.80, 0.42, 0.22, 1.0)
# Directions towards the lights: in the world frame with the backdrop, else in the camera's frame
# (x right, y up, z towards the viewer): key light from the upper left front, fill from the right.
KEY_LIGHT = np.array([-0.5, 0.6, 0.65])
FILL_LIGHT = np.array([0.8, 0.1, 0.4])


def reset() -> bpy.types.Scene:
    """An empty scene with deterministic colour management (8-bit sRGB, no dithering, no tone curve)."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.resolution_percentage = 100
    scene.render.dither_intensity = 0.0
    scene.view_settings.view_transform = "Standard"
    scene.view_settings.look = "None"
    scene.view_settings.exposure = 0.0
    scene.view_settings.gamma = 1.0
    scene.world = bpy.data.worlds.new("world")
    settings = scene.render.image_settings
    settings.file_format = "PNG"
    settings.color_mode = "RGBA"
    settings.color_depth = "8"
    settings.compression = 0
    return scene


def _material(name: str, color: tuple[float, ...], image: bpy.types.Image | None = None,
              interpolation: str = "Linear", finish: str = "satin") -> bpy.types.Material:
    """Principled material (Cycles); its diffuse_color and image node drive Workbench's colours too.
    interpolation "Closest" samples the nearest texel, unfiltered and without mipmaps (texture atlases).
    finish: satin keeps the default specular layer (a Fresnel sheen at grazing angles); matte has none."""
    mat = bpy.data.materials.new(name)
    mat.diffuse_color = color
    mat.use_nodes = True
    bsdf = next(n for n in mat.node_tree.nodes if n.type == "BSDF_PRINCIPLED")
    bsdf.inputs["Base Color"].default_value = color
    bsdf.inputs["Roughness"].default_value = 0.6
    if finish == "matte":
        bsdf.inputs["Specular IOR Level"].default_value = 0.0
        bsdf.inputs["Roughness"].default_value = 1.0
    if image is not None:
        tex = mat.node_tree.nodes.new("ShaderNodeTexImage")
        tex.image = image
        tex.interpolation = interpolation
        mat.node_tree.links.new(tex.outputs["Color"], bsdf.inputs["Base Color"])
        mat.node_tree.nodes.active = tex
    return mat


def add_mesh(scene: bpy.types.Scene, name: str, verts: np.ndarray, faces: np.ndarray,
             color: tuple[float, ...] = OBJECT_COLOR, uvs: np.ndarray | None = None,
             image: bpy.types.Image | None = None, interpolation: str = "Linear",
             finish: str = "satin") -> bpy.types.Object:
    """A triangle mesh object at the identity transform: its vertex coordinates are world coordinates.

    uvs: optional (F, 3, 2) per-corner texture coordinates of `image`."""
    mesh = bpy.data.meshes.new(name)
    mesh.vertices.add(len(verts))
    mesh.vertices.foreach_set("co", np.asarray(verts, dtype=np.float32).ravel())
    n = len(faces)
    mesh.loops.add(3 * n)
    mesh.loops.foreach_set("vertex_index", np.asarray(faces, dtype=np.int32).ravel())
    mesh.polygons.add(n)
    mesh.polygons.foreach_set("loop_start", np.arange(0, 3 * n, 3, dtype=np.int32))
    if uvs is not None:
        mesh.uv_layers.new(name="uv").data.foreach_set("uv", np.asarray(uvs, dtype=np.float32).ravel())
    mesh.update(calc_edges=True)
    mesh.validate()
    mesh.set_sharp_from_angle(angle=np.radians(40.0))  # flat cube sides, smooth curved surfaces
    obj = bpy.data.objects.new(name, mesh)
    obj.data.materials.append(_material(name, color, image, interpolation, finish))
    scene.collection.objects.link(obj)
    return obj


def add_camera(scene: bpy.types.Scene) -> bpy.types.Object:
    cam = bpy.data.cameras.new("camera")
    cam.clip_start, cam.clip_end = 1e-3, 1e4
    obj = bpy.data.objects.new("camera", cam)
    scene.collection.objects.link(obj)
    scene.camera = obj
    return obj


def place_camera(scene: bpy.types.Scene, camera: bpy.types.Object, cameras: Cameras, index: int) -> None:
    """Pose, lens, shift and pixel aspect of view `index` (see `softfit.cameras.blender_camera_settings`)."""
    s = blender_camera_settings(cameras, index)
    data = camera.data
    data.type = "PERSP"
    data.sensor_fit = s["sensor_fit"]
    data.sensor_width = s["sensor_width"]
    data.lens = s["lens"]
    data.shift_x, data.shift_y = s["shift_x"], s["shift_y"]
    render = scene.render
    render.resolution_x, render.resolution_y = s["resolution_x"], s["resolution_y"]
    render.pixel_aspect_x, render.pixel_aspect_y = s["pixel_aspect_x"], s["pixel_aspect_y"]
    camera.matrix_world = Matrix(cameras.c2w[index].tolist())


# ---------------------------------------------------------------------------------------------------
# Backdrop: a textured floor under the object and a textured wall around the whole camera orbit.


def _pattern(tiles: int, seed: int, cell: int = 64) -> np.ndarray:
    """(tiles·cell)² float RGBA: muted random tiles with a finer checker, rich in corners for SfM."""
    rng = np.random.default_rng(seed)
    grey = rng.uniform(0.3, 0.9, (tiles, tiles, 1))
    base = 0.6 * grey + 0.4 * rng.uniform(0.2, 0.9, (tiles, tiles, 3))
    img = np.kron(base, np.ones((cell, cell, 1)))
    size = tiles * cell
    yy, xx = np.mgrid[0:size, 0:size] // (cell // 4)
    img *= (0.85 + 0.15 * ((xx + yy) % 2))[..., None]
    return np.concatenate([img, np.ones((size, size, 1))], axis=2)


def image(name: str, pixels: np.ndarray) -> bpy.types.Image:
    """A packed image from (H, W, 4) float RGBA pixels, top row first."""
    return _image(name, pixels)


def _image(name: str, pixels: np.ndarray) -> bpy.types.Image:
    h, w = pixels.shape[:2]
    img = bpy.data.images.new(name, w, h, alpha=True)
    img.pixels.foreach_set(np.ascontiguousarray(pixels[::-1], dtype=np.float32).ravel())
    img.pack()
    return img


def add_backdrop(scene: bpy.types.Scene, floor_z: float, radius: float, height: float
                 ) -> list[bpy.types.Object]:
    """Floor (square of half-side `radius`) at `floor_z` and a wall cylinder of `radius` and `height`."""
    floor_v = np.array([[-radius, -radius, floor_z], [radius, -radius, floor_z], [radius, radius, floor_z],
                        [-radius, radius, floor_z]])
    floor_f = np.array([[0, 1, 2], [0, 2, 3]])
    reps = max(1.0, radius / 1.5)
    floor_uv = (floor_v[:, :2] / radius * 0.5 + 0.5) * reps
    floor = add_mesh(scene, "floor", floor_v, floor_f, (0.5, 0.5, 0.5, 1.0), floor_uv[floor_f],
                     _image("floor", _pattern(8, 1)))
    seg = 96
    t = 2 * np.pi * np.arange(seg + 1) / seg  # a seam column so the texture wraps without a jump
    ring = np.stack([radius * np.cos(t), radius * np.sin(t)], axis=1)
    lo = np.concatenate([ring, np.full((seg + 1, 1), floor_z)], axis=1)
    hi = np.concatenate([ring, np.full((seg + 1, 1), floor_z + height)], axis=1)
    wall_v = np.concatenate([lo, hi])
    i = np.arange(seg)
    wall_f = np.concatenate([np.stack([i, seg + 1 + i, seg + 2 + i], 1),
                             np.stack([i, seg + 2 + i, i + 1], 1)])
    around = np.round(2 * np.pi * radius / height * 2)  # square-ish texture repeats around the wall
    wall_uv = np.stack([np.concatenate([t, t]) / (2 * np.pi) * around,
                        np.concatenate([np.zeros(seg + 1), np.ones(seg + 1)]) * 2], axis=1)
    wall = add_mesh(scene, "wall", wall_v, wall_f, (0.5, 0.5, 0.5, 1.0), wall_uv[wall_f],
                    _image("wall", _pattern(6, 2)))
    for obj in (floor, wall):
        obj.visible_shadow = False  # the wall would shade the whole room from the sun
    return [floor, wall]


# ---------------------------------------------------------------------------------------------------
# Render passes


def flat_workbench(scene: bpy.types.Scene, color_type: str, render_aa: str) -> None:
    """Workbench with flat light and no shadows, cavity, highlights, x-ray or culling, on a transparent
    film: what a pixel shows is exactly the surface's colour (`color_type`: SINGLE, TEXTURE, ...)."""
    scene.render.engine = "BLENDER_WORKBENCH"
    scene.render.film_transparent = True
    scene.display.render_aa = render_aa
    shading = scene.display.shading
    shading.light = "FLAT"
    shading.color_type = color_type
    shading.show_shadows = False
    shading.show_cavity = False
    shading.show_specular_highlight = False
    shading.show_xray = False
    shading.show_backface_culling = False


def setup_mask_pass(scene: bpy.types.Scene, hidden: list[bpy.types.Object]) -> None:
    """Exact coverage: Workbench, flat white, no anti-aliasing, transparent film; `hidden` not rendered."""
    for obj in hidden:
        obj.hide_render = True
    flat_workbench(scene, "SINGLE", "OFF")
    scene.display.shading.single_color = (1.0, 1.0, 1.0)


def setup_image_pass(scene: bpy.types.Scene, camera: bpy.types.Object, background: str, engine: str,
                     samples: int, shown: list[bpy.types.Object]) -> None:
    """Lit, anti-aliased images over a transparent, black or backdrop background.

    With the backdrop the lights are fixed in the world (a static scene photographed from around it);
    otherwise they turn with the camera, as for an object on a turntable under fixed studio lights."""
    for obj in shown:
        obj.hide_render = False
    world_lights = background == "backdrop"
    scene.render.film_transparent = background == "transparent"
    ambient = 0.0 if background == "black" else 0.25
    scene.world.color = (ambient, ambient, ambient)  # Workbench's background; Cycles reads the nodes
    bg = next(n for n in scene.world.node_tree.nodes if n.type == "BACKGROUND")
    bg.inputs["Color"].default_value = (ambient, ambient, ambient, 1.0)
    bg.inputs["Strength"].default_value = 1.0
    if engine == "workbench":
        scene.render.engine = "BLENDER_WORKBENCH"
        scene.display.render_aa = "8"
        shading = scene.display.shading
        shading.light = "STUDIO"
        shading.color_type = "TEXTURE"
        shading.use_world_space_lighting = world_lights
        # Workbench's shadows need a stencil buffer: headless Mesa renders none (see module docstring).
        shading.show_shadows = world_lights
        shading.shadow_intensity = 0.6
        shading.show_cavity = False
        shading.show_specular_highlight = True
        scene.display.light_direction = tuple(KEY_LIGHT / np.linalg.norm(KEY_LIGHT))
        return
    use_cycles(scene, samples, bounces=(2, 1, 1))
    if not any(o.type == "LIGHT" for o in scene.objects):
        parent = None if world_lights else camera
        _add_sun(scene, "key", KEY_LIGHT, 3.5, 4.0, parent)
        _add_sun(scene, "fill", FILL_LIGHT, 0.8 if background == "black" else 0.4, 20.0, parent)



def use_cycles(scene: bpy.types.Scene, samples: int, bounces: tuple[int, int, int]):
    """Cycles on the CPU with a fixed seed, no adaptive sampling and no denoiser, so renders are
    deterministic and quick; `bounces` = (total, diffuse, glossy). Returns the Cycles settings."""
    scene.render.engine = "CYCLES"
    c = scene.cycles
    c.device = "CPU"
    c.samples = samples
    c.use_adaptive_sampling = False
    c.use_denoising = False
    c.max_bounces, c.diffuse_bounces, c.glossy_bounces = bounces
    c.transmission_bounces = 0
    c.volume_bounces = 0
    c.transparent_max_bounces = 0
    c.seed = 0
    scene.render.use_persistent_data = True  # keep the BVH between views
    return c

def _add_sun(scene: bpy.types.Scene, name: str, towards: np.ndarray, strength: float, angle_deg: float,
             parent: bpy.types.Object | None) -> None:
    """A sun shining from direction `towards` (world frame, or the camera's frame under `parent`)."""
    light = bpy.data.lights.new(name, "SUN")
    light.energy = strength
    light.angle = np.radians(angle_deg)
    obj = bpy.data.objects.new(name, light)
    # A sun shines down its local -Z: point local +Z at the light.
    z = towards / np.linalg.norm(towards)
    x = np.cross([0.0, 1.0, 0.0] if parent is not None else [0.0, 0.0, 1.0], z)
    x = x / np.linalg.norm(x) if np.linalg.norm(x) > 1e-6 else np.array([1.0, 0.0, 0.0])
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2] = x, np.cross(z, x), z
    if parent is not None:
        obj.parent = parent
        obj.matrix_parent_inverse = Matrix.Identity(4)
        obj.matrix_basis = Matrix(m.tolist())
    else:
        obj.matrix_world = Matrix(m.tolist())
    scene.collection.objects.link(obj)


class Renderer:
    """Renders the scene's camera view to an (H, W, 4) uint8 array, top row first.

    Blender hands back a render only as a file here (the Render Result has no pixels without a window),
    so each view goes through one reused temporary PNG."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="softfit-render-")
        self._path = str(Path(self._dir.name) / "view.png")

    def __call__(self, scene: bpy.types.Scene) -> np.ndarray:
        scene.render.filepath = self._path
        bpy.ops.render.render(write_still=True)
        img = bpy.data.images.load(self._path, check_existing=False)
        try:
            w, h = img.size
            px = np.empty(w * h * 4, dtype=np.float32)
            img.pixels.foreach_get(px)
        finally:
            bpy.data.images.remove(img)
        return np.round(px.reshape(h, w, 4)[::-1] * 255.0).astype(np.uint8)

    def close(self) -> None:
        self._dir.cleanup()

"""The Blender side of the photoreal scenes (`softfit.dataset.suite`): builds the room, renders the photos
with Cycles and the true masks with Workbench, and writes the dataset. Needs `bpy`; `render_scene` runs it
as `python -m softfit.dataset.photoreal SPEC_JSON OUT_DIR` (one Blender per process).

Photos: Cycles on the CPU, the scene's HDRI world as background and light (plus an optional sun for hard
shadows), few samples and no denoiser (fast; the grain is like a phone's). True masks: the object alone,
Workbench coverage on a transparent film without anti-aliasing, the rule SoftFit's hard rasteriser uses,
so a perfect fit scores IoU 1. Surfaces are procedural (Cycles nodes), so nothing is downloaded.

Layout written: images/view_NNN.png (RGB, no alpha), transforms.json (cameras in the object's frame, no
masks), truth/masks/view_NNN.png (0/255), truth/gt_mesh.obj (object frame), dataset.json."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import bpy
import numpy as np
from mathutils import Matrix

from softfit.cameras import Cameras, transforms_dict
from softfit.dataset import scene as sc
from softfit.dataset.options import worker_main
from softfit.dataset.png import write_png
from softfit.dataset.primitives import normalized
from softfit.dataset.scenespec import SceneSpec
from softfit.dataset.shapes import source_triangles
from softfit.dataset.suite import Capture, capture
from softfit.errors import InputError
from softfit.mesh.io import save_obj
from softfit.mesh.types import Mesh

TRUTH = "truth"  # the folder no loader reads: true masks and mesh, for scoring only


def hdri_path(name: str) -> Path:
    """One of Blender's bundled studio-light worlds."""
    path = Path(bpy.utils.system_resource("DATAFILES")) / "studiolights" / "world" / f"{name}.exr"
    if not path.is_file():
        raise InputError(f"Blender's bundled HDRI {path} is missing from this bpy installation")
    return path


def object_mesh(spec: SceneSpec) -> Mesh:
    """The built-in scaled to `object_size` and standing on z = 0 (a hair above, so it never z-fights
    the support); float32 values, as Blender stores them."""
    verts, faces = source_triangles(spec.object)
    v = normalized(verts) * spec.object_size
    v[:, 2] -= v[:, 2].min() - 1e-3
    return Mesh(v.astype(np.float32).astype(np.float64), faces)


# ---------------------------------------------------------------------------------------------------
# Geometry of the supports (numpy triangles).


def _box(lo: tuple[float, float, float], hi: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    x0, y0, z0 = lo
    x1, y1, z1 = hi
    v = np.array([[x, y, z] for z in (z0, z1) for y in (y0, y1) for x in (x0, x1)], dtype=np.float64)
    quads = [(0, 2, 3, 1), (4, 5, 7, 6), (0, 1, 5, 4), (2, 6, 7, 3), (0, 4, 6, 2), (1, 3, 7, 5)]
    f = np.array([t for a, b, c, d in quads for t in ((a, b, c), (a, c, d))])
    return v, f


def _cylinder(radius: float, z0: float, z1: float, segments: int = 96) -> tuple[np.ndarray, np.ndarray]:
    t = 2 * np.pi * np.arange(segments) / segments
    ring = np.stack([radius * np.cos(t), radius * np.sin(t)], axis=1)
    v = np.concatenate([np.c_[ring, np.full(segments, z0)], np.c_[ring, np.full(segments, z1)],
                        [[0, 0, z0], [0, 0, z1]]])
    i, j = np.arange(segments), (np.arange(segments) + 1) % segments
    s, c0, c1 = segments, 2 * segments, 2 * segments + 1
    f = np.concatenate([np.stack([i, j, s + j], 1), np.stack([i, s + j, s + i], 1),
                        np.stack([np.full(s, c0), j, i], 1), np.stack([np.full(s, c1), s + i, s + j], 1)])
    return v, f


# ---------------------------------------------------------------------------------------------------
# Materials (Cycles nodes; Workbench only ever draws the flat-white mask pass).


def _principled(name: str, color: tuple[float, float, float], roughness: float, **inputs: float
                ) -> tuple[bpy.types.Material, bpy.types.Node]:
    mat = bpy.data.materials.new(name)
    mat.diffuse_color = (*color, 1.0)
    mat.use_nodes = True
    bsdf = next(n for n in mat.node_tree.nodes if n.type == "BSDF_PRINCIPLED")
    bsdf.inputs["Base Color"].default_value = (*color, 1.0)
    bsdf.inputs["Roughness"].default_value = roughness
    for key, value in inputs.items():
        bsdf.inputs[key.replace("_", " ")].default_value = value
    return mat, bsdf


def _ramp(mat: bpy.types.Material, source: bpy.types.NodeSocket, colors: list[tuple[float, ...]],
          constant: bool = False) -> bpy.types.NodeSocket:
    """A colour ramp from `source` (0..1) over `colors`, evenly spaced."""
    ramp = mat.node_tree.nodes.new("ShaderNodeValToRGB")
    cr = ramp.color_ramp
    cr.interpolation = "CONSTANT" if constant else "LINEAR"
    while len(cr.elements) < len(colors):
        cr.elements.new(0.5)
    for k, (el, col) in enumerate(zip(cr.elements, colors, strict=True)):
        el.position = k / max(1, len(colors) - 1) if not constant else k / len(colors)
        el.color = (*col[:3], 1.0)
    mat.node_tree.links.new(source, ramp.inputs["Factor"])
    return ramp.outputs["Color"]


def _coords(mat: bpy.types.Material, scale: float) -> bpy.types.NodeSocket:
    nodes = mat.node_tree.nodes
    tc, mp = nodes.new("ShaderNodeTexCoord"), nodes.new("ShaderNodeMapping")
    mp.inputs["Scale"].default_value = (scale, scale, scale)
    mat.node_tree.links.new(tc.outputs["Object"], mp.inputs["Vector"])
    return mp.outputs["Vector"]


def surface_material(kind: str, seed: int) -> bpy.types.Material:
    """Floor and table surfaces: tiles (two-tone bricks), wood (distorted bands), cloth (dark weave)."""
    links = None
    if kind == "tiles":
        mat, bsdf = _principled("tiles", (0.6, 0.6, 0.6), 0.35)
        links = mat.node_tree.links
        brick = mat.node_tree.nodes.new("ShaderNodeTexBrick")
        brick.inputs["Color1"].default_value = (0.55, 0.5, 0.42, 1.0)
        brick.inputs["Color2"].default_value = (0.35, 0.33, 0.3, 1.0)
        brick.inputs["Mortar"].default_value = (0.85, 0.85, 0.8, 1.0)
        brick.inputs["Scale"].default_value = 1.0
        brick.inputs["Mortar Size"].default_value = 0.015
        brick.inputs["Brick Width"].default_value = 0.5
        brick.inputs["Row Height"].default_value = 0.25
        links.new(_coords(mat, 1.0), brick.inputs["Vector"])
        links.new(brick.outputs["Color"], bsdf.inputs["Base Color"])
    elif kind == "wood":
        mat, bsdf = _principled("wood", (0.4, 0.25, 0.12), 0.45)
        links = mat.node_tree.links
        wave = mat.node_tree.nodes.new("ShaderNodeTexWave")
        wave.inputs["Scale"].default_value = 3.0
        wave.inputs["Distortion"].default_value = 6.0 + seed
        wave.inputs["Detail"].default_value = 3.0
        links.new(_coords(mat, 1.0), wave.inputs["Vector"])
        grain = [(0.22, 0.12, 0.05), (0.5, 0.32, 0.16), (0.62, 0.42, 0.22)]
        color = _ramp(mat, wave.outputs["Factor"], grain)
        links.new(color, bsdf.inputs["Base Color"])
    elif kind == "cloth":
        mat, bsdf = _principled("cloth", (0.03, 0.03, 0.035), 0.9)
        links = mat.node_tree.links
        noise = mat.node_tree.nodes.new("ShaderNodeTexNoise")
        noise.inputs["Scale"].default_value = 40.0
        noise.inputs["Detail"].default_value = 4.0
        links.new(_coords(mat, 1.0), noise.inputs["Vector"])
        color = _ramp(mat, noise.outputs["Factor"], [(0.012, 0.012, 0.014), (0.05, 0.05, 0.055)])
        links.new(color, bsdf.inputs["Base Color"])
    else:
        raise InputError(f"unknown surface {kind!r}")
    return mat


def object_material(kind: str) -> bpy.types.Material:
    """clay: matte orange; dark: near-black with a soft sheen; glossy: blue paint under a clear coat;
    painted: cream below, red above (a two-tone object, as objects on desks are)."""
    if kind == "clay":
        return _principled("clay", (0.72, 0.36, 0.16), 0.55)[0]
    if kind == "dark":
        return _principled("dark", (0.022, 0.02, 0.019), 0.45)[0]
    if kind == "glossy":
        return _principled("glossy", (0.04, 0.12, 0.45), 0.08, Coat_Weight=1.0, Coat_Roughness=0.02)[0]
    if kind == "painted":
        mat, bsdf = _principled("painted", (0.8, 0.75, 0.6), 0.5)
        sep = mat.node_tree.nodes.new("ShaderNodeSeparateXYZ")
        mat.node_tree.links.new(_coords(mat, 1.0), sep.inputs["Vector"])
        color = _ramp(mat, sep.outputs["Z"], [(0.8, 0.75, 0.6), (0.6, 0.08, 0.06)], constant=True)
        mat.node_tree.links.new(color, bsdf.inputs["Base Color"])
        return mat
    raise InputError(f"unknown material {kind!r}")


def _add(scene: bpy.types.Scene, name: str, geo: tuple[np.ndarray, np.ndarray], mat: bpy.types.Material
         ) -> bpy.types.Object:
    obj = sc.add_mesh(scene, name, geo[0], geo[1])
    obj.data.materials[0] = mat
    return obj


def add_support(scene: bpy.types.Scene, spec: SceneSpec) -> tuple[list[bpy.types.Object], list]:
    """(everything static in the room, the parts that turn with a turntable)."""
    static, turning = [], []
    rng = np.random.default_rng(spec.seed)
    s = spec.object_size
    floor_mat = surface_material(spec.floor_texture, spec.seed)
    if spec.support == "table":
        top_mat = surface_material("wood", spec.seed)
        floor_z = -0.75 * s * 1.5
        static.append(_add(scene, "tabletop", _box((-1.2 * s, -0.9 * s, -0.06 * s), (1.2 * s, 0.9 * s, 0.0)),
                           top_mat))
        for k, (x, y) in enumerate([(-1, -1), (1, -1), (1, 1), (-1, 1)]):
            cx, cy = x * 1.1 * s, y * 0.8 * s
            static.append(_add(scene, f"leg{k}", _box((cx - 0.04 * s, cy - 0.04 * s, floor_z),
                                                      (cx + 0.04 * s, cy + 0.04 * s, -0.06 * s)), top_mat))
        floor_mat = surface_material("tiles", spec.seed)
    elif spec.support == "turntable":
        floor_z = -0.06 * s
        disc_mat = (surface_material("cloth", spec.seed + 1) if spec.floor_texture == "cloth"
                    else _principled("disc", (0.45, 0.45, 0.47), 0.5)[0])
        turning.append(_add(scene, "turntable", _cylinder(0.8 * s, floor_z, 0.0), disc_mat))
        marker = _principled("marker", (0.85, 0.85, 0.8), 0.5)[0]
        stripe = _box((0.68 * s, -0.03 * s, 0.0), (0.78 * s, 0.03 * s, 0.004 * s))
        turning.append(_add(scene, "marker", stripe, marker))
    else:
        floor_z = 0.0
    static.append(_add(scene, "floor", _box((-12 * s, -12 * s, floor_z - 0.01), (12 * s, 12 * s, floor_z)),
                       floor_mat))
    for k in range(spec.clutter):  # small things on the table, away from the object's line of sight
        ang = 2 * np.pi * (k + rng.uniform(0.2, 0.8)) / max(1, spec.clutter)
        r = rng.uniform(0.95, 1.05) * s
        x, y = np.clip(r * np.cos(ang), -1.1 * s, 1.1 * s), np.clip(r * np.sin(ang), -0.8 * s, 0.8 * s)
        hgt = rng.uniform(0.08, 0.18) * s
        col = tuple(rng.uniform(0.15, 0.85, 3))
        geo = (_box((x - 0.07 * s, y - 0.07 * s, 0.0), (x + 0.07 * s, y + 0.07 * s, hgt)) if k % 2 == 0
               else _cylinder(0.06 * s, 0.0, hgt, 32))
        if k % 2:
            geo = (geo[0] + [x, y, 0.0], geo[1])
        static.append(_add(scene, f"clutter{k}", geo, _principled(f"clutter{k}", col, 0.5)[0]))
    return static, turning


def setup_world(scene: bpy.types.Scene, spec: SceneSpec) -> None:
    """The HDRI as background and light, turned by `hdri_rotation` about the vertical."""
    world = scene.world
    world.use_nodes = True
    nodes, links = world.node_tree.nodes, world.node_tree.links
    bg = next(n for n in nodes if n.type == "BACKGROUND")
    env = nodes.new("ShaderNodeTexEnvironment")
    env.image = bpy.data.images.load(str(hdri_path(spec.hdri)))
    tc, mp = nodes.new("ShaderNodeTexCoord"), nodes.new("ShaderNodeMapping")
    mp.inputs["Rotation"].default_value = (0.0, 0.0, np.radians(spec.hdri_rotation))
    links.new(tc.outputs["Generated"], mp.inputs["Vector"])
    links.new(mp.outputs["Vector"], env.inputs["Vector"])
    links.new(env.outputs["Color"], bg.inputs["Color"])
    bg.inputs["Strength"].default_value = spec.hdri_strength
    if spec.sun > 0:
        light = bpy.data.lights.new("sun", "SUN")
        light.energy = spec.sun
        light.angle = np.radians(3.0)
        obj = bpy.data.objects.new("sun", light)
        obj.rotation_euler = (np.radians(40.0), 0.0, np.radians(spec.hdri_rotation + 35.0))
        scene.collection.objects.link(obj)


def setup_cycles(scene: bpy.types.Scene, samples: int) -> None:
    """CPU path tracing, few samples, no denoiser (fast and deterministic)."""
    for obj in scene.objects:
        obj.hide_render = False
    scene.render.film_transparent = False
    c = sc.use_cycles(scene, samples, bounces=(4, 2, 2))
    c.sample_clamp_direct = 8.0  # no fireflies from the HDRI's sun at few samples
    c.sample_clamp_indirect = 1.0
    c.blur_glossy = 1.0
    scene.view_settings.view_transform = "AgX"  # a camera's highlight roll-off, not hard clipping


def _check_framing(mesh: Mesh, cams: Cameras, name: str, margin: float = 0.03) -> None:
    """A test scene must show the whole object in every view (leaving the frame is another test)."""
    px = cams.project_points(mesh.verts)[..., :2]
    lo = np.array([margin * cams.width, margin * cams.height])
    hi = np.array([(1 - margin) * cams.width, (1 - margin) * cams.height])
    out = np.flatnonzero(((px < lo) | (px > hi)).any(axis=(1, 2)))
    if len(out):
        raise InputError(f"scene {name}: the object leaves the frame in view(s) {out.tolist()}")


def _set_pose(objs: list[bpy.types.Object], pose: np.ndarray) -> None:
    for o in objs:
        o.matrix_world = Matrix(pose.tolist())


def render_scene_into(out: Path, spec: SceneSpec) -> dict:
    """Build `spec`, render photos and true masks, write the dataset into the empty folder `out`."""
    scene = sc.reset()
    mesh = object_mesh(spec)
    obj = _add(scene, spec.object, (mesh.verts, mesh.faces), object_material(spec.material))
    static, turning = add_support(scene, spec)
    setup_world(scene, spec)
    cap: Capture = capture(spec, float(mesh.verts[:, 2].max()))
    room = Cameras(cap.camera, cap.cameras.fx, cap.cameras.fy, cap.cameras.cx, cap.cameras.cy,
                   cap.cameras.width, cap.cameras.height)
    _check_framing(mesh, cap.cameras, spec.name)
    camera = sc.add_camera(scene)
    renderer = sc.Renderer()
    n = spec.views
    names = [f"view_{i:03d}" for i in range(n)]
    (out / "images").mkdir(parents=True)
    (out / TRUTH / "masks").mkdir(parents=True)
    try:
        t0 = time.perf_counter()
        sc.setup_mask_pass(scene, [o for o in scene.objects if o.type == "MESH" and o is not obj])
        for i in range(n):
            _set_pose([obj], cap.object_pose[i])
            sc.place_camera(scene, camera, room, i)
            write_png(out / TRUTH / "masks" / f"{names[i]}.png",
                      (renderer(scene)[..., 3] >= 128).astype(np.uint8) * 255)
        t_mask = time.perf_counter() - t0
        t0 = time.perf_counter()
        setup_cycles(scene, spec.samples)
        for i in range(n):
            _set_pose([obj, *turning], cap.object_pose[i])
            sc.place_camera(scene, camera, room, i)
            write_png(out / "images" / f"{names[i]}.png", renderer(scene)[..., :3])
        t_image = time.perf_counter() - t0
    finally:
        renderer.close()
    images = [f"images/{nm}.png" for nm in names]
    (out / "transforms.json").write_text(json.dumps(transforms_dict(cap.cameras, images), indent=2))
    save_obj(out / TRUTH / "gt_mesh.obj", mesh)
    info = {
        "softfit_dataset": 1,
        "layout": "transforms",
        "scene": spec.to_dict(),
        "views": n,
        "width": spec.size[0],
        "height": spec.size[1],
        "photos": "RGB, no alpha, no masks: segmentation has to find the object",
        "truth": {"masks": f"{TRUTH}/masks", "mesh": f"{TRUTH}/gt_mesh.obj",
                  "note": "the object alone, rendered separately; for scoring only, never read by a fit"},
        "blender": bpy.app.version_string,
        "engine": "cycles",
        "seconds_per_view": {"mask": t_mask / n, "image": t_image / n},
    }
    (out / "dataset.json").write_text(json.dumps(info, indent=2))
    return info


def main(argv: list[str]) -> int:
    """`python -m softfit.dataset.photoreal SPEC_JSON OUT_DIR`; prints the seconds per view."""
    return worker_main(argv, "softfit.dataset.photoreal", lambda spec, out: render_scene_into(
        out, SceneSpec.from_dict(spec))["seconds_per_view"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""SfM end to end with pycolmap on real Blender renders (bpy in a subprocess).

A textured Suzanne on a turntable (36 views, 256², elevation 20°), composited over one fixed textured
background image as in a real turntable photo (the background does not move while the object turns),
so only the silhouette masks keep SIFT off the background. The textureless twin (smooth shading only)
must fall back to the turntable assumption with a message. Thresholds are about 4x the measured errors:
mean rotation error 0.41-0.44° (max 0.79°), positions 0.6% of the orbit radius, focal length 0.3-0.7%;
views placed on the fitted circle 0.28° off. (Without the masks the static background defeats SfM.)"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from softfit.cameras import load_transforms
from softfit.errors import InputError
from softfit.sfm import cameras_for, estimate_cameras, pose_errors

pytestmark = pytest.mark.slow  # minutes, not seconds: `make test-fast` leaves it out, CI runs it

VIEWS, PLAIN_VIEWS, SIZE, ELEVATION = 36, 18, 256, 20.0

RENDER_SCRIPT = textwrap.dedent("""
    import json, sys
    import bpy
    import numpy as np
    from mathutils import Matrix
    from softfit.cameras import blender_camera_settings, transforms_dict, turntable

    out, size, elevation = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    counts = {"textured": int(sys.argv[4]), "plain": int(sys.argv[5])}

    def material(textured):
        # Emission only: the colour is the same from every view and Cycles renders it noise-free fast.
        mat = bpy.data.materials.new("textured" if textured else "plain")
        mat.use_nodes = True
        nt = mat.node_tree
        nt.nodes.clear()
        emit, out_node = nt.nodes.new("ShaderNodeEmission"), nt.nodes.new("ShaderNodeOutputMaterial")
        nt.links.new(emit.outputs[0], out_node.inputs[0])
        if textured:  # high-contrast procedural colour noise fixed to the object
            coord, noise = nt.nodes.new("ShaderNodeTexCoord"), nt.nodes.new("ShaderNodeTexNoise")
            noise.inputs["Scale"].default_value = 16.0
            noise.inputs["Detail"].default_value = 8.0
            contrast = nt.nodes.new("ShaderNodeBrightContrast")
            contrast.inputs["Contrast"].default_value = 3.0
            nt.links.new(coord.outputs["Object"], noise.inputs["Vector"])
            nt.links.new(noise.outputs["Color"], contrast.inputs["Color"])
            nt.links.new(contrast.outputs["Color"], emit.inputs["Color"])
        else:  # smooth Lambert-like shading from a fixed light, no texture at all
            geo, dot = nt.nodes.new("ShaderNodeNewGeometry"), nt.nodes.new("ShaderNodeVectorMath")
            dot.operation = "DOT_PRODUCT"
            dot.inputs[1].default_value = (0.3, -0.5, 0.8)
            ramp = nt.nodes.new("ShaderNodeMapRange")
            ramp.inputs["From Min"].default_value = -1.0
            ramp.inputs["To Min"].default_value = 0.15
            ramp.inputs["To Max"].default_value = 0.9
            nt.links.new(geo.outputs["Normal"], dot.inputs[0])
            nt.links.new(dot.outputs["Value"], ramp.inputs["Value"])
            nt.links.new(ramp.outputs["Result"], emit.inputs["Strength"])
            emit.inputs["Color"].default_value = (0.8, 0.75, 0.7, 1.0)
        return mat

    for kind, views in counts.items():
        cams = turntable([360.0 * i / views for i in range(views)], 2.732, elevation, 60.0, size, size)
        bpy.ops.wm.read_factory_settings(use_empty=True)
        scene = bpy.context.scene
        scene.render.engine = "CYCLES"
        scene.cycles.device = "CPU"
        scene.cycles.samples = 4
        scene.cycles.use_denoising = False
        scene.cycles.max_bounces = 0
        scene.render.film_transparent = True
        scene.render.image_settings.file_format = "PNG"
        scene.render.image_settings.color_mode = "RGBA"
        scene.view_settings.view_transform = "Standard"
        bpy.ops.mesh.primitive_monkey_add(size=1.4)
        obj = bpy.context.object
        obj.modifiers.new("subsurf", "SUBSURF")
        obj.data.materials.append(material(kind == "textured"))
        cam = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
        scene.collection.objects.link(cam)
        scene.camera = cam
        names = []
        for i in range(views):
            s = blender_camera_settings(cams, i)
            cam.data.sensor_fit, cam.data.sensor_width, cam.data.lens = "AUTO", s["sensor_width"], s["lens"]
            scene.render.resolution_x, scene.render.resolution_y = size, size
            cam.matrix_world = Matrix(cams.c2w[i].tolist())
            names.append(f"{i:03d}.png")
            scene.render.filepath = f"{out}/{kind}/{names[-1]}"
            bpy.ops.render.render(write_still=True)
        with open(f"{out}/{kind}/transforms.json", "w") as f:
            json.dump(transforms_dict(cams, names), f)
""")


@pytest.fixture(scope="session")
def renders(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sfm_renders")
    args = [str(out), str(SIZE), str(ELEVATION), str(VIEWS), str(PLAIN_VIEWS)]
    proc = subprocess.run([sys.executable, "-c", RENDER_SCRIPT, *args], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def load_scene(folder: Path) -> tuple[np.ndarray, np.ndarray, object]:
    """Images composited over one static textured background, object masks, ground-truth cameras."""
    gt, frames = load_transforms(folder / "transforms.json")
    rgba = np.stack([np.asarray(Image.open(f.image).convert("RGBA")) for f in frames]).astype(np.float64)
    rng = np.random.default_rng(0)
    bg = ndimage.gaussian_filter(rng.random((SIZE, SIZE, 3)), (2.0, 2.0, 0))
    bg = (bg - bg.min()) / (bg.max() - bg.min()) * 255.0
    alpha = rgba[..., 3:] / 255.0
    images = np.round(rgba[..., :3] * alpha + bg * (1 - alpha)).astype(np.uint8)
    return images, alpha[..., 0] > 0.5, gt


def test_textured_turntable_registers_with_small_pose_error(renders):
    images, masks, gt = load_scene(renders / "textured")
    res = estimate_cameras(images, masks)
    print(res.message)
    assert not res.fallback
    assert len(res.registered) >= 0.9 * VIEWS
    assert "registered" in res.message
    e = pose_errors(res.cameras.subset(res.registered), gt.subset(res.registered))
    print({k: round(v, 4) for k, v in e.items() if not isinstance(v, list)})
    assert e["rotation_deg_mean"] < 2.0 and e["rotation_deg_max"] < 4.0
    assert e["position_rel_mean"] < 0.04
    assert e["focal_rel_mean"] < 0.08
    # Already in SoftFit's world frame (turntable axis +Z, object at the origin, distance 2.732, view 0 at
    # azimuth 0): close to the ground truth without any alignment.
    direct = pose_errors(res.cameras, gt, align=False)
    print({k: round(v, 4) for k, v in direct.items() if not isinstance(v, list)})
    assert direct["rotation_deg_mean"] < 2.5 and direct["position_mean"] < 0.1
    assert res.frame["turntable"] and abs(res.frame["elevation_deg"] - ELEVATION) < 2.0
    assert abs(abs(res.frame["azimuth_step_deg"]) - 360.0 / VIEWS) < 0.5


def test_unregistered_views_are_placed_on_the_fitted_circle(renders):
    """Sequential matching (what long sequences use) with three featureless views in the middle."""
    images, masks, gt = load_scene(renders / "textured")
    blank = [10, 11, 12]
    images[blank] = np.where(masks[blank][..., None], np.uint8(128), images[blank])  # featureless object
    res = estimate_cameras(images, masks, matching="sequential")
    print(res.message)
    assert not res.fallback
    assert set(blank) <= set(res.interpolated) and len(res.registered) >= 0.8 * VIEWS
    assert "placed on the fitted turntable circle" in res.message
    e = pose_errors(res.cameras, gt, align=False)
    per_view = np.asarray(e["rotation_deg_per_view"])
    assert per_view[blank].max() < 2.0  # measured 0.28°


def test_textureless_object_falls_back_with_a_message(renders):
    images, masks, gt = load_scene(renders / "plain")
    res = estimate_cameras(images, masks)
    print(res.message)
    assert res.fallback and res.cameras is not None and len(res.cameras) == PLAIN_VIEWS
    assert res.message.startswith("SfM failed") and "Falling back to a turntable" in res.message
    assert "too little texture" in res.message
    # the background stands still (a turntable's): the whole photos are not tried, and that is said
    assert "background stands still" in res.message and res.features == "object"
    np.testing.assert_allclose(np.linalg.norm(res.cameras.centers, axis=1), 2.732)
    json.dumps(res.to_dict())
    # Through the loader's entry point: the spec can forbid the fallback (checked on 2 views: no COLMAP run).
    assert len(cameras_for(images[:2], masks[:2], "sfm:distance=3")) == 2
    with pytest.raises(InputError, match="SfM failed"):
        cameras_for(images[:2], masks[:2], "sfm:fallback=no")

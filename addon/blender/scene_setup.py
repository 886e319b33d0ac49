"""Building the scene for a set of views: one Blender camera per view, its image as the camera
background and its silhouette as a tinted overlay, render size and pixel aspect from the cameras.

All-or-nothing: new datablocks are created first and removed again if anything fails; the previous
SoftFit cameras are replaced only once the new ones exist."""

from __future__ import annotations

import contextlib
from collections.abc import Generator
from pathlib import Path

import bpy
import numpy as np
from mathutils import Matrix

from ..core.cameras import blender_camera_settings
from ..core.data.types import RawViews
from ..logic.fitdata import FitInputs
from .images import image_from_array, load_for_display

COLLECTION = "SoftFit Cameras"
TAG = "softfit_view"  # custom property on the cameras (view index) and on images the add-on made
OVERLAY_RGB = (1.0, 0.45, 0.05)
OVERLAY_ALPHA = 0.5


def overlay_rgba(silhouette: np.ndarray) -> np.ndarray:
    """(H, W, 4) tint whose alpha is the silhouette: the object's outline over the photo."""
    h, w = silhouette.shape
    out = np.empty((h, w, 4), np.float32)
    out[..., :3] = OVERLAY_RGB
    out[..., 3] = np.clip(silhouette, 0.0, 1.0)
    return out


def _remove(blocks: list) -> None:
    """Remove datablocks, newest first; one already gone with its owner is skipped."""
    for block in reversed(blocks):
        with contextlib.suppress(ReferenceError):
            if isinstance(block, bpy.types.Object):
                bpy.data.objects.remove(block)
            elif isinstance(block, bpy.types.Camera):
                bpy.data.cameras.remove(block)
            elif isinstance(block, bpy.types.Image):
                bpy.data.images.remove(block)
            elif isinstance(block, bpy.types.Collection):
                bpy.data.collections.remove(block)


def remove_cameras() -> None:
    """Remove the SoftFit camera collection with its cameras and the images made for them."""
    coll = bpy.data.collections.get(COLLECTION)
    if coll is None:
        return
    blocks: list = [coll]
    for obj in list(coll.objects):
        if TAG in obj:
            blocks.append(obj)
            cam = obj.data
            if isinstance(cam, bpy.types.Camera):
                blocks.append(cam)
                blocks += [bg.image for bg in cam.background_images
                           if bg.image is not None and TAG in bg.image]
    _remove(blocks)


def build_cameras_steps(scene: bpy.types.Scene, views: RawViews, inputs: FitInputs
                        ) -> Generator[None, None, bpy.types.Collection]:
    """Create the cameras of `inputs` (working size) with backgrounds from `views`, one camera per step
    (a timer tick each; see tasks.py); the new collection is linked, and the old one removed, only in the
    last step, whose value it is."""
    created: list = []
    try:
        coll = bpy.data.collections.new(COLLECTION + " (new)")
        created.append(coll)
        cams = inputs.cameras
        for i, name in enumerate(inputs.names):
            s = blender_camera_settings(cams, i)
            cam = bpy.data.cameras.new(f"SoftFit {name}")
            created.append(cam)
            cam.sensor_fit = s["sensor_fit"]
            cam.sensor_width = s["sensor_width"]
            cam.lens = s["lens"]
            cam.shift_x, cam.shift_y = s["shift_x"], s["shift_y"]
            cam.show_background_images = True
            source = views.views[i].image
            if isinstance(source, Path):
                image = load_for_display(source)
                if image.users == 0:
                    created.append(image)
            else:  # pixels in memory (SoftRas), already mirrored to match the cameras
                rgba = source if source.shape[2] == 4 else np.dstack([source, np.full(source.shape[:2], 255)])
                image = image_from_array(f"SoftFit {name}", rgba.astype(np.float32) / 255.0)
                image[TAG] = i
                created.append(image)
            bg = cam.background_images.new()
            bg.image, bg.frame_method, bg.alpha = image, "STRETCH", 1.0
            if inputs.silhouettes is not None:
                over = image_from_array(f"SoftFit silhouette {name}", overlay_rgba(inputs.silhouettes[i]))
                over[TAG] = i
                created.append(over)
                sil = cam.background_images.new()
                sil.image, sil.frame_method, sil.alpha = over, "STRETCH", OVERLAY_ALPHA
                sil.display_depth = "FRONT"
            obj = bpy.data.objects.new(f"SoftFit {name}", cam)
            created.append(obj)
            obj.matrix_world = Matrix(cams.c2w[i].tolist())
            obj[TAG] = i
            coll.objects.link(obj)
            yield
        s0 = blender_camera_settings(cams, 0)
        render = scene.render
        render.resolution_x, render.resolution_y = s0["resolution_x"], s0["resolution_y"]
        render.resolution_percentage = 100
        render.pixel_aspect_x, render.pixel_aspect_y = s0["pixel_aspect_x"], s0["pixel_aspect_y"]
    except BaseException:
        _remove(created)
        raise
    remove_cameras()
    coll.name = COLLECTION
    scene.collection.children.link(coll)
    scene.camera = coll.objects[0] if len(coll.objects) else scene.camera
    return coll

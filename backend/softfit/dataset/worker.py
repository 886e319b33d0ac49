"""The Blender side of `render_dataset`: builds each object's scene, renders masks and images, and writes
the layout into a folder. Needs `bpy`; `render_dataset` runs it as `python -m softfit.dataset.worker`
because a process holds one Blender, and `scripts/render_dataset.py` calls `render_into` inside Blender.

Exit status 2 with a line `softfit-input-error: <message>` on stderr reports bad input."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import bpy
import numpy as np

from softfit.cameras import Cameras
from softfit.dataset import scene as sc
from softfit.dataset.layouts import RenderedObject, write_layout
from softfit.dataset.options import BUILTINS, RenderOptions, default_name, worker_main
from softfit.dataset.primitives import normalized
from softfit.dataset.shapes import source_triangles
from softfit.dataset.texture import noise_atlas
from softfit.dataset.views import view_set
from softfit.errors import InputError
from softfit.mesh.types import Mesh


def world_mesh(source: str, opts: RenderOptions) -> Mesh:
    """The source placed in the world: normalised (built-ins, or on request), scaled, offset; float32 values
    so that the written ground truth equals what Blender rendered."""
    verts, faces = source_triangles(source)
    if opts.normalize and source not in BUILTINS:  # built-ins come normalised
        verts = normalized(verts)
    verts = verts * opts.scale + np.asarray(opts.offset)
    return Mesh(verts.astype(np.float32).astype(np.float64), faces)


def render_object(name: str, source: str, opts: RenderOptions, cams: Cameras, renderer: sc.Renderer
                  ) -> tuple[RenderedObject, dict]:
    """Masks then images of one object at every camera; also the time each pass took."""
    scene = sc.reset()
    mesh = world_mesh(source, opts)
    if opts.texture != "none":  # in the object's own frame: the pattern moves and scales with it
        own = (mesh.verts - np.asarray(opts.offset)) / opts.scale
        uvs, pixels = noise_atlas(own, mesh.faces, opts.seed, opts.texture)
        obj = sc.add_mesh(scene, name, mesh.verts, mesh.faces, uvs=uvs,
                          image=sc.image(opts.texture, pixels[::-1]), interpolation="Closest",
                          finish=opts.finish)
    else:
        obj = sc.add_mesh(scene, name, mesh.verts, mesh.faces, finish=opts.finish)
    camera = sc.add_camera(scene)
    backdrop = []
    if opts.background == "backdrop":
        floor_z = float(mesh.verts[:, 2].min()) - 1e-4
        if (cams.centers[:, 2] <= floor_z + 1e-3).any():
            raise InputError("a camera is at or below the backdrop's floor (the object's lowest point): "
                             "raise the elevation or lower the object")
        reach = float(np.linalg.norm(cams.centers[:, :2], axis=1).max())
        radius = max(3.0, 2.0 * reach)
        height = max(2.0 * radius, float(cams.centers[:, 2].max() - floor_z) * 3.0)
        backdrop = sc.add_backdrop(scene, floor_z, radius, height)
    n = len(cams)
    times = {}
    t0 = time.perf_counter()
    sc.setup_mask_pass(scene, backdrop)
    masks = np.zeros((n, cams.height, cams.width), dtype=bool)
    for i in range(n):
        sc.place_camera(scene, camera, cams, i)
        masks[i] = renderer(scene)[..., 3] >= 128
    times["mask_seconds"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    sc.setup_image_pass(scene, camera, opts.background, opts.engine, opts.samples, backdrop)
    images = _every_view(scene, camera, cams, renderer)
    times["image_seconds"] = time.perf_counter() - t0
    plates = None
    if opts.plates:  # the same scene and light without the object: what a render of a fit is laid into
        obj.hide_render = True
        plates = _every_view(scene, camera, cams, renderer)
        obj.hide_render = False
    return RenderedObject(name, source, mesh, images, masks, plates), times


def _every_view(scene: bpy.types.Scene, camera: bpy.types.Object, cams: Cameras, renderer: sc.Renderer
                ) -> np.ndarray:
    """(N, H, W, 4) uint8: the scene as set up, from every camera."""
    out = np.zeros((len(cams), cams.height, cams.width, 4), dtype=np.uint8)
    for i in range(len(cams)):
        sc.place_camera(scene, camera, cams, i)
        out[i] = renderer(scene)
    return out


def render_into(out: Path, opts: RenderOptions) -> dict:
    """Render the dataset of `opts` (resolved) into the empty folder `out`; returns timing info."""
    views = view_set(opts)
    names = [opts.name] if len(opts.sources) == 1 else [default_name(s) for s in opts.sources]
    renderer = sc.Renderer()
    objects, times = [], {"mask_seconds": 0.0, "image_seconds": 0.0}
    try:
        for name, source in zip(names, opts.sources, strict=True):
            obj, t = render_object(name, source, opts, views.cameras, renderer)
            objects.append(obj)
            for k, v in t.items():
                times[k] += v
    finally:
        renderer.close()
    n = len(views.cameras) * len(objects)
    info = {
        "blender": bpy.app.version_string,
        "engine": opts.engine,
        "seconds_per_view": {"mask": times["mask_seconds"] / n, "image": times["image_seconds"] / n},
    }
    write_layout(out, opts, views, objects, info)
    return info


def main(argv: list[str]) -> int:
    """`python -m softfit.dataset.worker OPTIONS_JSON OUT_DIR`."""
    return worker_main(argv, "softfit.dataset.worker",
                       lambda options, out: render_into(out, RenderOptions.from_dict(options)))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

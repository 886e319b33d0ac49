"""Blender side of `softfit bench texture` (needs `bpy`; run in its own process):
`python -m softfit.bench.texture_render JOB.json`.

Imports each textured `mesh.glb` with Blender's own glTF importer (the artist's path: the importer wires
the texture into the material) and renders it at the given cameras with Workbench, flat lighting and
texture colour: each pixel shows the texture's colour unlit, which is what the baked texture holds (the
photos' light is in it), anti-aliased with 8 samples like a photo, over a transparent film.

JOB.json: {"cameras": transforms.json path, "views": [indices], "meshes": {name: glb path},
"out": npz path}; writes one (V, H, W, 4) uint8 array per mesh name."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import bpy
import numpy as np

from softfit.cameras import load_transforms
from softfit.dataset import scene as sc


def render_glb(glb: Path, cameras, views: list[int], renderer: sc.Renderer) -> np.ndarray:
    scene = sc.reset()
    bpy.ops.import_scene.gltf(filepath=str(glb), merge_vertices=True)
    for mat in bpy.data.materials:  # Workbench draws the active image node of each material
        nodes = mat.node_tree.nodes if mat.node_tree else []
        images = [n for n in nodes if n.type == "TEX_IMAGE"]
        if not images:
            raise RuntimeError(f"{glb}: the imported material {mat.name!r} has no image texture")
        mat.node_tree.nodes.active = images[0]
    camera = sc.add_camera(scene)
    sc.flat_workbench(scene, "TEXTURE", "8")
    out = np.zeros((len(views), cameras.height, cameras.width, 4), dtype=np.uint8)
    for k, i in enumerate(views):
        sc.place_camera(scene, camera, cameras, i)
        out[k] = renderer(scene)
    return out


def main(argv: list[str]) -> int:
    job = json.loads(Path(argv[0]).read_text())
    cameras, _ = load_transforms(job["cameras"])
    renderer = sc.Renderer()
    try:
        arrays = {name: render_glb(Path(p), cameras, job["views"], renderer)
                  for name, p in job["meshes"].items()}
    finally:
        renderer.close()
    np.savez_compressed(job["out"], **arrays)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

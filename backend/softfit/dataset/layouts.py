"""Writing rendered views in the three on-disk layouts (numpy only; runs inside the Blender process).

transforms: images/<view>.png (RGBA when transparent, else RGB), masks/<view>.png (0/255),
  transforms.json, gt_mesh.obj; with plates, plates/<view>.png (RGB: the backdrop without the object).
aloi: png2/<obj>/<obj>_r<angle>.png (RGB), mask2/<obj>/<obj>_r<angle>.png, plus gt_mesh.obj and a
  transforms.json pointing at them.
softras: source.npy (N, 4, S, S) uint8 RGBA and camera.npy (N, 3) rows (distance, elevation, azimuth)
  in SoftRas' Y-up convention, images mirrored left-right as SoftRas renders them; with npz, objects.npz
  arr_0 (K, 24, 4, S, S), camera.npy (24, 3) and gt_meshes/<k>_<name>.obj. The alpha channel is the
  exact mask."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from softfit.cameras import transforms_dict
from softfit.dataset.options import RenderOptions
from softfit.dataset.png import write_png
from softfit.dataset.views import ViewSet
from softfit.mesh.io import save_obj
from softfit.mesh.types import Mesh


@dataclass(frozen=True)
class RenderedObject:
    """One object's renders: images (N, H, W, 4) uint8 (alpha 255 unless transparent), masks (N, H, W)
    bool, the mesh exactly as rendered, in world coordinates, and optionally the plates (N, H, W, 4):
    the same views without the object."""

    name: str
    source: str
    mesh: Mesh
    images: np.ndarray
    masks: np.ndarray
    plates: np.ndarray | None = None


def write_layout(out: Path, opts: RenderOptions, views: ViewSet, objects: list[RenderedObject],
                 info: dict) -> None:
    """Write everything into `out` (an empty folder), ending with dataset.json."""
    if opts.layout == "transforms":
        _write_image_layout(out, opts, views, objects[0], "images", "masks")
    elif opts.layout == "aloi":
        name = objects[0].name
        _write_image_layout(out, opts, views, objects[0], f"png2/{name}", f"mask2/{name}")
    else:
        _write_softras(out, opts, views, objects)
    meta = {
        "softfit_dataset": 1,
        "layout": opts.layout,
        "options": opts.to_dict(),
        "views": len(views.cameras),
        "width": views.cameras.width,
        "height": views.cameras.height,
        "objects": [{"name": o.name, "source": o.source, "verts": o.mesh.n_verts, "faces": o.mesh.n_faces}
                    for o in objects],
        **info,
    }
    (out / "dataset.json").write_text(json.dumps(meta, indent=2))


def _image_pixels(opts: RenderOptions, rgba: np.ndarray) -> np.ndarray:
    return rgba if opts.background == "transparent" else rgba[..., :3]


def _write_views(out: Path, opts: RenderOptions, obj: RenderedObject, image_paths: list[str],
                 mask_paths: list[str]) -> None:
    for i, (ip, mp) in enumerate(zip(image_paths, mask_paths, strict=True)):
        (out / ip).parent.mkdir(parents=True, exist_ok=True)
        (out / mp).parent.mkdir(parents=True, exist_ok=True)
        write_png(out / ip, _image_pixels(opts, obj.images[i]))
        write_png(out / mp, obj.masks[i].astype(np.uint8) * 255)


def _write_image_layout(out: Path, opts: RenderOptions, views: ViewSet, obj: RenderedObject,
                        image_dir: str, mask_dir: str) -> None:
    """Image files + masks (transforms: images/, masks/; ALOI: png2/<obj>/, mask2/<obj>/), with a
    transforms.json and the ground-truth mesh beside them either way."""
    images = [f"{image_dir}/{n}.png" for n in views.names]
    masks = [f"{mask_dir}/{n}.png" for n in views.names]
    _write_views(out, opts, obj, images, masks)
    if obj.plates is not None:
        (out / "plates").mkdir(parents=True, exist_ok=True)
        for name, plate in zip(views.names, obj.plates, strict=True):
            write_png(out / "plates" / f"{name}.png", plate[..., :3])
    (out / "transforms.json").write_text(json.dumps(transforms_dict(views.cameras, images, masks), indent=2))
    save_obj(out / "gt_mesh.obj", obj.mesh)


def softras_array(obj: RenderedObject) -> np.ndarray:
    """(N, 4, S, S) uint8: RGB from the images, alpha = exact mask, mirrored left-right like SoftRas."""
    rgba = obj.images.copy()
    rgba[..., 3] = obj.masks.astype(np.uint8) * 255
    return np.ascontiguousarray(rgba[:, :, ::-1].transpose(0, 3, 1, 2))


def _write_softras(out: Path, opts: RenderOptions, views: ViewSet, objects: list[RenderedObject]) -> None:
    np.save(out / "camera.npy", views.softras_rows.astype(np.float32))  # type: ignore[union-attr]
    if not opts.npz:
        np.save(out / "source.npy", softras_array(objects[0]))
        save_obj(out / "gt_mesh.obj", objects[0].mesh)
        return
    np.savez_compressed(out / "objects.npz", arr_0=np.stack([softras_array(o) for o in objects]))
    (out / "gt_meshes").mkdir()
    for k, o in enumerate(objects):
        save_obj(out / "gt_meshes" / f"{k:02d}_{o.name}.obj", o.mesh)

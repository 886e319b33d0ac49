"""A COLMAP sparse model (`cameras.bin|txt`, `images.bin|txt`, `points3D.*`) read directly with pycolmap:
`load_dataset(images_folder, cameras="colmap:MODEL_DIR")`, the route for captures that went through
COLMAP rather than a transforms.json converter.

Poses: COLMAP's world-to-camera (x right, y down, z forward) turned into SoftFit's camera-to-world
(`softfit.sfm.frames.colmap_to_c2w`), in the model's own frame and scale. Intrinsics: SIMPLE_PINHOLE and
PINHOLE as they are; SIMPLE_RADIAL, RADIAL and OPENCV become OPENCV distortion, OPENCV_FISHEYE stays a
fisheye; both are removed from images and masks at load time (`softfit.data.distortion`). Images are
looked up by their COLMAP name under the folder (or its images/ subfolder); registered images whose file
is missing are skipped with one warning, as transforms.json frames are."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from softfit.cameras import Cameras
from softfit.data.distortion import Distortion
from softfit.data.files import find_mask, mask_folders, natural_key
from softfit.data.formats.frames import capture_info, check_masks_all_or_none, present_frames
from softfit.data.types import RawView, RawViews
from softfit.errors import InputError

# COLMAP camera model -> (fx, fy, cx, cy, distortion) from its parameter list.
_MODELS = {
    "SIMPLE_PINHOLE": lambda p: (p[0], p[0], p[1], p[2], None),
    "PINHOLE": lambda p: (p[0], p[1], p[2], p[3], None),
    "SIMPLE_RADIAL": lambda p: (p[0], p[0], p[1], p[2], Distortion("OPENCV", k1=p[3])),
    "RADIAL": lambda p: (p[0], p[0], p[1], p[2], Distortion("OPENCV", k1=p[3], k2=p[4])),
    "OPENCV": lambda p: (p[0], p[1], p[2], p[3], Distortion("OPENCV", k1=p[4], k2=p[5], p1=p[6], p2=p[7])),
    "OPENCV_FISHEYE": lambda p: (p[0], p[1], p[2], p[3],
                                 Distortion("OPENCV_FISHEYE", k1=p[4], k2=p[5], k3=p[6], k4=p[7])),
}


def _reconstruction(model: Path):
    import pycolmap

    if not model.is_dir():
        raise InputError(f"COLMAP model folder not found: {model}")
    if not any((model / f"images.{ext}").is_file() for ext in ("bin", "txt")):
        raise InputError(f"{model} is not a COLMAP sparse model (no images.bin or images.txt)")
    try:
        return pycolmap.Reconstruction(str(model))
    except Exception as exc:  # pycolmap raises plain RuntimeErrors for unreadable files
        raise InputError(f"cannot read the COLMAP model in {model}: {exc}") from exc


def _image_file(folder: Path, name: str, allow_outside: bool) -> Path:
    """The photo a model's image name refers to; it must stay inside `folder` unless `allow_outside`."""
    for cand in (folder / name, folder / "images" / name):
        if not allow_outside and not cand.resolve().is_relative_to(folder.resolve()):
            raise InputError(f"COLMAP image name {name!r} lies outside the folder {folder}: paths must stay "
                             "inside it (pass --allow-outside-paths if you trust this model)")
        if cand.is_file():
            return cand
    return folder / name


def read(folder: Path, model: Path, allow_outside: bool = False) -> RawViews:
    from softfit.sfm.frames import colmap_to_c2w

    rec = _reconstruction(model)
    posed = sorted((img for img in rec.images.values() if img.has_pose),
                   key=lambda im: natural_key(Path(im.name)))
    if not posed:
        raise InputError(f"{model}: the COLMAP model has no registered images")
    files = [_image_file(folder, img.name, allow_outside) for img in posed]
    keep, missing = present_frames(files, str(model), "registered views")
    sizes = {(rec.cameras[posed[i].camera_id].width, rec.cameras[posed[i].camera_id].height) for i in keep}
    if len(sizes) != 1:
        raise InputError(f"{model}: the cameras have different image sizes {sorted(sizes)}; "
                         "SoftFit needs one")
    width, height = sizes.pop()
    R, t, intr, dists = [], [], [], []
    for i in keep:
        img = posed[i]
        pose = img.cam_from_world()
        R.append(np.asarray(pose.rotation.matrix(), dtype=np.float64))
        t.append(np.asarray(pose.translation, dtype=np.float64))
        cam = rec.cameras[img.camera_id]
        model_name = cam.model.name
        if model_name not in _MODELS:
            raise InputError(f"{model}: camera model {model_name} of {img.name} is not supported; SoftFit "
                             f"reads {', '.join(_MODELS)}")
        fx, fy, cx, cy, dist = _MODELS[model_name](np.asarray(cam.params, dtype=np.float64).tolist())
        intr.append((fx, fy, cx, cy))
        dists.append(dist if dist is not None and any(dist.coefficients) else None)
    intr_a = np.asarray(intr)
    cams = Cameras(colmap_to_c2w(np.stack(R), np.stack(t)), intr_a[:, 0], intr_a[:, 1], intr_a[:, 2],
                   intr_a[:, 3], int(width), int(height))
    views = []
    for k, i in enumerate(keep):
        f = files[i]
        mask = find_mask(mask_folders(f.parent, folder), f.stem, f.parent)
        views.append(RawView(f.stem, f, str(f), mask, str(mask) if mask else "", dists[k]))
    check_masks_all_or_none(views, str(folder))
    info = capture_info({"format": "colmap", "source": str(folder), "cameras": f"colmap:{model}",
                         "colmap_points3D": int(rec.num_points3D())}, missing, dists)
    points = np.array([p.xyz for p in rec.points3D.values()], dtype=np.float64).reshape(-1, 3)
    return RawViews(views, cams, info, points=points)

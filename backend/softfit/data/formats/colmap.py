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

import logging
from pathlib import Path

import numpy as np

from softfit.cameras import Cameras
from softfit.data.distortion import Distortion, undistort
from softfit.data.files import MASK_FOLDER, find_mask, natural_key
from softfit.data.formats.transforms import MIN_VIEWS
from softfit.data.images import read_image, read_mask
from softfit.data.types import RawView, RawViews
from softfit.errors import InputError

log = logging.getLogger(__name__)

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


def parse_option(text: str) -> Path | None:
    """The model folder of `colmap:DIR`, or None when `text` is not a COLMAP option."""
    name, sep, rest = text.strip().partition(":")
    if name.strip().lower() != "colmap":
        return None
    if not sep or not rest.strip():
        raise InputError("cameras='colmap:DIR' needs the folder of a COLMAP sparse model (e.g. sparse/0)")
    return Path(rest.strip()).expanduser()


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
    missing = [str(f) for f in files if not f.is_file()]
    keep = [i for i, f in enumerate(files) if f.is_file()]
    if missing:
        listed = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        if len(keep) < MIN_VIEWS:
            raise InputError(f"{model}: only {len(keep)} of {len(posed)} registered images were found under "
                             f"{folder} (at least {MIN_VIEWS} are needed); missing: {listed}")
        log.warning("%s: skipping %d of %d registered images whose file is missing: %s", model, len(missing),
                    len(posed), listed)
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
        dists.append(dist)
    intr_a = np.asarray(intr)
    cams = Cameras(colmap_to_c2w(np.stack(R), np.stack(t)), intr_a[:, 0], intr_a[:, 1], intr_a[:, 2],
                   intr_a[:, 3], int(width), int(height))
    views = []
    for k, i in enumerate(keep):
        f = files[i]
        mask = find_mask(list(dict.fromkeys([f.parent / MASK_FOLDER, folder / MASK_FOLDER])), f.stem)
        image: Path | np.ndarray = f
        mask_data: Path | np.ndarray | None = mask
        if dists[k] is not None and any(dists[k].coefficients):
            image = read_image(f)
            h, w = image.shape[:2]
            sx, sy = w / width, h / height
            image, mask_data = undistort(image, dists[k], cams.fx[k] * sx, cams.fy[k] * sy, cams.cx[k] * sx,
                                         cams.cy[k] * sy, None if mask is None else read_mask(mask))
        views.append(RawView(f.stem, image, str(f), mask_data, str(mask) if mask else ""))
    with_mask = [v for v in views if v.mask is not None]
    if with_mask and len(with_mask) != len(views):
        raise InputError(f"{folder}: {len(with_mask)} of {len(views)} views have masks; "
                         f"none found for {next(v for v in views if v.mask is None).label}")
    info: dict = {"format": "colmap", "source": str(folder), "cameras": f"colmap:{model}",
                  "colmap_points3D": int(rec.num_points3D())}
    if missing:
        info["skipped_frames"] = missing
    used = [d for d in dists if d is not None and any(d.coefficients)]
    if used:
        info["undistorted"] = {
            "how": "images and masks resampled with OpenCV at load time into the pinhole of the same "
                   "intrinsics (the lens model is removed, not modelled in the fit)",
            "models": sorted({d.model for d in used}), "views": len(used), "coefficients": used[0].to_dict()}
    return RawViews(views, cams, info)

"""A nerfstudio / instant-ngp `transforms.json` with its images.

Silhouettes come from the images' alpha channel, from per-frame `mask_path`, or from a `masks/` folder
beside the images (or beside the json) holding files with the images' stems.

Real captures: frames whose image file is missing are skipped with one warning listing them (an error
only when fewer than MIN_VIEWS remain); lens distortion (`camera_model` OPENCV / OPENCV_FISHEYE with
k1..k4, p1, p2, top-level or per frame) is removed from images and masks at load time with OpenCV
(`softfit.data.distortion`), and the data's info says so under `undistorted`."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from softfit.cameras import Cameras, load_transforms
from softfit.data.distortion import Distortion, from_transforms, undistort
from softfit.data.files import MASK_FOLDER, find_mask
from softfit.data.images import read_image, read_mask
from softfit.data.types import RawView, RawViews
from softfit.errors import InputError

log = logging.getLogger(__name__)

MIN_VIEWS = 3  # fewer views than this cannot constrain a shape, nor hold one out


def read(json_path: Path, allow_outside: bool = False) -> RawViews:
    """The views of a transforms.json; its image and mask paths must stay inside its folder unless
    `allow_outside` (softfit.cameras.resolve_frame_path)."""
    cameras, frames = load_transforms(json_path, allow_outside)
    meta = _read_meta(json_path)
    base = json_path.parent
    present = [i for i, fr in enumerate(frames) if fr.image.is_file()]
    missing = [str(fr.image) for fr in frames if not fr.image.is_file()]
    if missing:
        listed = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        if len(present) < MIN_VIEWS:
            raise InputError(f"{json_path}: only {len(present)} of {len(frames)} frames have their image "
                             f"(at least {MIN_VIEWS} are needed); missing: {listed}")
        log.warning("%s: skipping %d of %d frames whose image is missing: %s", json_path, len(missing),
                    len(frames), listed)
    dists = [from_transforms(meta, fr, str(json_path)) for fr in meta["frames"]]
    views = []
    for i in present:
        fr = frames[i]
        if fr.mask is not None:
            if not fr.mask.is_file():
                raise InputError(f"{json_path}: mask not found: {fr.mask}")
            mask = fr.mask
        else:
            mask = find_mask(list(dict.fromkeys([fr.image.parent / MASK_FOLDER, base / MASK_FOLDER])),
                             fr.image.stem)
        image: Path | np.ndarray = fr.image
        mask_data: Path | np.ndarray | None = mask
        if dists[i] is not None:
            image, mask_data = _undistorted(fr.image, mask, dists[i], cameras, i)
        views.append(RawView(fr.image.stem, image, str(fr.image), mask_data, str(mask) if mask else ""))
    with_mask = [v for v in views if v.mask is not None]
    if with_mask and len(with_mask) != len(views):
        missing_mask = next(v for v in views if v.mask is None)
        raise InputError(f"{json_path}: {len(with_mask)} of {len(views)} views have masks; "
                         f"none found for {missing_mask.label}")
    info: dict = {"format": "transforms", "source": str(json_path)}
    if missing:
        info["skipped_frames"] = missing
    used = [dists[i] for i in present if dists[i] is not None]
    if used:
        info["undistorted"] = {
            "how": "images and masks resampled with OpenCV at load time into the pinhole of the same "
                   "intrinsics (the lens model is removed, not modelled in the fit)",
            "models": sorted({d.model for d in used}), "views": len(used),
            "coefficients": used[0].to_dict()}
    sizes = _declared_sizes(json_path, meta)
    return RawViews(views, cameras.subset(present), info, expected_sizes=[sizes[i] for i in present])


def _read_meta(json_path: Path) -> dict:
    return json.loads(json_path.read_text())


def _undistorted(image_path: Path, mask_path: Path | None, dist: Distortion, cameras: Cameras, i: int
                 ) -> tuple[np.ndarray, np.ndarray | None]:
    """The view's image and mask without lens distortion; intrinsics scaled to the file's own size."""
    image = read_image(image_path)
    mask = None if mask_path is None else read_mask(mask_path)
    h, w = image.shape[:2]
    sx, sy = w / cameras.width, h / cameras.height
    return undistort(image, dist, cameras.fx[i] * sx, cameras.fy[i] * sy, cameras.cx[i] * sx,
                     cameras.cy[i] * sy, mask)


def _declared_sizes(json_path: Path, meta: dict | None = None) -> list[tuple[int, int] | None]:
    """Per-frame (w, h) as declared, None where the frame declares none (load_transforms then took the
    image's own size). load_transforms rescaled every frame's intrinsics to the first frame's size."""
    meta = _read_meta(json_path) if meta is None else meta
    out: list[tuple[int, int] | None] = []
    for fr in meta["frames"]:
        w, h = fr.get("w", meta.get("w")), fr.get("h", meta.get("h"))
        try:
            out.append(None if w is None or h is None else (int(round(float(w))), int(round(float(h)))))
        except (TypeError, ValueError):
            raise InputError(f"{json_path}: bad image size w={w!r}, h={h!r}") from None
    return out

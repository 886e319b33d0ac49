"""A plain folder of photos plus a turntable camera spec (`turntable:views=..,distance=..`).

Azimuths come from an `_r<angle>` suffix in the file names when every file has one (ALOI naming),
else from the file order (natural sort), evenly spaced over 360 degrees. Masks, when present, live in
a `masks/` folder inside the image folder with the images' stems."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from softfit.cameras import Cameras, turntable
from softfit.data.files import MASK_FOLDER, find_mask, image_files, sort_by_angle
from softfit.data.spec import TurntableSpec
from softfit.data.types import RawView, RawViews
from softfit.errors import InputError

_EXIF_ORIENTATION = 0x0112


def displayed_size(path: Path) -> tuple[int, int]:
    """(W, H) after the EXIF orientation is applied, without decoding the pixels."""
    try:
        with Image.open(path) as im:
            w, h = im.size
            rotated = im.getexif().get(_EXIF_ORIENTATION, 1) in (5, 6, 7, 8)
    except Exception as exc:
        raise InputError(f"cannot read image {path}: {exc}") from None
    return (h, w) if rotated else (w, h)


def views_with_masks(files: list[Path], mask_folders: list[Path]) -> list[RawView]:
    """One RawView per file; masks from the first folder that exists, required for every image there."""
    folders = [f for f in mask_folders if f.is_dir()]
    views = []
    for f in files:
        mask = find_mask(folders, f.stem) if folders else None
        if folders and mask is None:
            raise InputError(f"no mask for {f} in {', '.join(map(str, folders))}")
        views.append(RawView(f.stem, f, str(f), mask, str(mask) if mask else ""))
    return views


def turntable_cameras(spec: TurntableSpec, count: int, angles: list[float] | None,
                      size: tuple[int, int]) -> Cameras:
    return turntable(spec.azimuths(count, angles), spec.distance, spec.elevation, spec.fov, *size)


def read(folder: Path, spec: TurntableSpec) -> RawViews:
    files, angles = sort_by_angle(image_files(folder))
    views = views_with_masks(files, [folder / MASK_FOLDER])
    cameras = turntable_cameras(spec, len(files), angles, displayed_size(files[0]))
    info = {"format": "folder", "source": str(folder),
            "azimuth_from": "file names" if angles is not None else "file order",
            "azimuths": [float(a) for a in spec.azimuths(len(files), angles)]}
    return RawViews(views, cameras, info, exif=True)

"""A plain folder of photos plus a turntable camera spec (`turntable:views=..,distance=..`).

Azimuths come from an `_r<angle>` suffix in the file names when every file has one (ALOI naming),
else from the file order (natural sort), evenly spaced over 360 degrees. Masks, when present, live in
a `masks/` (or `mask/`) folder inside the image folder with the images' stems (or `<stem>_mask`), or
beside the images as `<stem>_mask` (`files.find_mask`). numpy only (the add-on ships it): image
sizes come from the caller's `size_of` (the backend reads the header with PIL, Blender its own way)."""

from __future__ import annotations

from pathlib import Path

from ...cameras import Cameras, turntable
from ..files import find_mask, image_files, mask_folders, sort_by_angle
from ..spec import TurntableSpec
from ..types import ImageSize, RawView, RawViews
from .frames import check_masks_all_or_none


def views_with_masks(files: list[Path], mask_folders: list[Path], where: str) -> list[RawView]:
    """One RawView per file, its mask from the first of `mask_folders` that has one, else beside it
    (`<stem>_mask`): masks for every view or for none (an empty masks/ folder means none)."""
    folders = [f for f in mask_folders if f.is_dir()]
    masks = [find_mask(folders, f.stem, f.parent) for f in files]
    views = [RawView(f.stem, f, str(f), m, str(m) if m else "") for f, m in zip(files, masks, strict=True)]
    check_masks_all_or_none(views, where)
    return views


def turntable_cameras(spec: TurntableSpec, count: int, angles: list[float] | None,
                      size: tuple[int, int]) -> Cameras:
    return turntable(spec.azimuths(count, angles), spec.distance, spec.elevation, spec.fov, *size)


def read(folder: Path, spec: TurntableSpec, size_of: ImageSize) -> RawViews:
    files, angles = sort_by_angle(image_files(folder))
    views = views_with_masks(files, mask_folders(folder), str(folder))
    cameras = turntable_cameras(spec, len(files), angles, size_of(files[0]))
    info = {"format": "folder", "source": str(folder),
            "azimuth_from": "file names" if angles is not None else "file order",
            "azimuths": [float(a) for a in spec.azimuths(len(files), angles)]}
    return RawViews(views, cameras, info, exif=True)

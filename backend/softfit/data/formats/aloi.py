"""The Amsterdam Library of Object Images layout: `png2/<obj>/<obj>_r<angle>.png` (384 x 288 RGB on
black) with masks in `mask2/<obj>/<obj>_r<angle>.png`. The other resolutions (`png`/`mask`,
`png4`/`mask4`) pair the same way. Cameras: `aloi_turntable` at the angles in the file names. numpy only
(the add-on ships it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...cameras import ALOI_STEP_DEG, ALOI_VIEWS, aloi_turntable
from ...errors import InputError
from ..files import aloi_mask_folder, image_files, mask_folders, sort_by_angle
from ..spec import TurntableSpec
from ..types import ImageSize, RawViews
from .folder import turntable_cameras, views_with_masks


def read(folder: Path, spec: TurntableSpec | None, size_of: ImageSize) -> RawViews:
    files, angles = sort_by_angle(image_files(folder))
    if angles is None:
        raise InputError(f"{folder}: ALOI images must be named <obj>_r<angle>")
    masks = aloi_mask_folder(folder)
    views = views_with_masks(files, [masks, *mask_folders(folder)], str(folder))
    size = size_of(files[0])
    steps = np.asarray(angles) / ALOI_STEP_DEG
    on_grid = np.allclose(steps, np.round(steps)) and steps.min() >= 0 and steps.max() < ALOI_VIEWS
    if spec is None and on_grid:
        cameras = aloi_turntable(*size).subset(np.round(steps).astype(np.int64))
    else:
        cameras = turntable_cameras(spec or TurntableSpec(), len(files), angles, size)
    info = {"format": "aloi", "source": str(folder), "object": folder.name,
            "masks": str(masks) if masks.is_dir() else None,
            "azimuths": [float(a) for a in (spec or TurntableSpec()).azimuths(len(files), angles)]}
    return RawViews(views, cameras, info)

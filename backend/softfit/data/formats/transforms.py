"""A nerfstudio / instant-ngp `transforms.json` with its images.

Silhouettes come from the images' alpha channel, from per-frame `mask_path`, or from a `masks/` folder
beside the images (or beside the json) holding files with the images' stems."""

from __future__ import annotations

import json
from pathlib import Path

from softfit.cameras import load_transforms
from softfit.data.files import MASK_FOLDER, find_mask
from softfit.data.types import RawView, RawViews
from softfit.errors import InputError


def read(json_path: Path, allow_outside: bool = False) -> RawViews:
    """The views of a transforms.json; its image and mask paths must stay inside its folder unless
    `allow_outside` (softfit.cameras.resolve_frame_path)."""
    cameras, frames = load_transforms(json_path, allow_outside)
    base = json_path.parent
    views = []
    for fr in frames:
        if not fr.image.is_file():
            raise InputError(f"{json_path}: image not found: {fr.image}")
        if fr.mask is not None:
            if not fr.mask.is_file():
                raise InputError(f"{json_path}: mask not found: {fr.mask}")
            mask = fr.mask
        else:
            mask = find_mask(list(dict.fromkeys([fr.image.parent / MASK_FOLDER, base / MASK_FOLDER])),
                             fr.image.stem)
        views.append(RawView(fr.image.stem, fr.image, str(fr.image), mask, str(mask) if mask else ""))
    with_mask = [v for v in views if v.mask is not None]
    if with_mask and len(with_mask) != len(views):
        missing = next(v for v in views if v.mask is None)
        raise InputError(f"{json_path}: {len(with_mask)} of {len(views)} views have masks; "
                         f"none found for {missing.label}")
    return RawViews(views, cameras, {"format": "transforms", "source": str(json_path)},
                   expected_sizes=_declared_sizes(json_path))


def _declared_sizes(json_path: Path) -> list[tuple[int, int] | None]:
    """Per-frame (w, h) as declared, None where the frame declares none (load_transforms then took the
    image's own size). load_transforms rescaled every frame's intrinsics to the first frame's size."""
    meta = json.loads(json_path.read_text())
    out: list[tuple[int, int] | None] = []
    for fr in meta["frames"]:
        w, h = fr.get("w", meta.get("w")), fr.get("h", meta.get("h"))
        try:
            out.append(None if w is None or h is None else (int(round(float(w))), int(round(float(h)))))
        except (TypeError, ValueError):
            raise InputError(f"{json_path}: bad image size w={w!r}, h={h!r}") from None
    return out

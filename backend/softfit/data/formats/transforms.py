"""A nerfstudio / instant-ngp `transforms.json` with its images.

Silhouettes come from the images' alpha channel, from per-frame `mask_path`, or from a `masks/` (or
`mask/`) folder beside the images (or beside the json) holding files with the images' stems (or
`<stem>_mask`), or from `<stem>_mask` files beside the images (`files.find_mask`).

Real captures: frames whose image file is missing are skipped with one warning listing them (an error
only when fewer than MIN_VIEWS remain); lens distortion (`camera_model` OPENCV / OPENCV_FISHEYE with
k1..k4, p1, p2, top-level or per frame) is removed from images and masks at load time with OpenCV
(`softfit.data.distortion`, when each view is read), and the data's info says so under `undistorted`.
numpy only (the add-on ships it)."""

from __future__ import annotations

import json
from pathlib import Path

from ...cameras import load_transforms
from ...errors import InputError
from ..distortion import from_transforms
from ..files import find_mask, mask_folders
from ..types import ImageSize, RawView, RawViews
from .frames import capture_info, check_masks_all_or_none, present_frames

# What a segmentation found, kept with views whose silhouettes it made (`softfit views`): a fit from them
# then measures agreement with that segmentation, and says so, as a fit that segmented them itself.
SEGMENTED_KEY = "softfit_segmentation"


def read(json_path: Path, allow_outside: bool = False, size_of: ImageSize | None = None) -> RawViews:
    """The views of a transforms.json; its image and mask paths must stay inside its folder unless
    `allow_outside` (softfit.cameras.resolve_frame_path). `size_of` measures frames that declare no size."""
    cameras, frames = load_transforms(json_path, allow_outside, size_of)
    meta = _read_meta(json_path)
    base = json_path.parent
    present, missing = present_frames([fr.image for fr in frames], str(json_path), "frames")
    dists = [from_transforms(meta, fr, str(json_path)) for fr in meta["frames"]]
    views = []
    for i in present:
        fr = frames[i]
        if fr.mask is not None:
            if not fr.mask.is_file():
                raise InputError(f"{json_path}: mask not found: {fr.mask}")
            mask = fr.mask
        else:
            mask = find_mask(mask_folders(fr.image.parent, base), fr.image.stem, fr.image.parent)
        views.append(RawView(fr.image.stem, fr.image, str(fr.image), mask, str(mask) if mask else "",
                             dists[i]))
    check_masks_all_or_none(views, str(json_path))
    info = capture_info({"format": "transforms", "source": str(json_path)}, missing,
                        [dists[i] for i in present])
    if isinstance(meta.get(SEGMENTED_KEY), dict):  # written by `softfit views`: the masks are segmented
        info["segmentation"] = meta[SEGMENTED_KEY]
    sizes = _declared_sizes(json_path, meta)
    return RawViews(views, cameras.subset(present), info, expected_sizes=[sizes[i] for i in present])


def _read_meta(json_path: Path) -> dict:
    return json.loads(json_path.read_text())


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

"""What the real-capture readers (transforms.json, COLMAP) share: frames whose photo is missing are
skipped with one warning, masks come for every view or for none, and the info says how lens distortion
was handled. numpy and the standard library only (the add-on ships it)."""

from __future__ import annotations

import logging
from pathlib import Path

from ...errors import InputError
from ..distortion import Distortion
from ..types import RawView

log = logging.getLogger(__name__)

MIN_VIEWS = 3  # fewer views than this cannot constrain a shape, nor hold one out


def present_frames(files: list[Path], where: str, what: str) -> tuple[list[int], list[str]]:
    """(indices of the files that exist, the missing ones): a warning lists the missing ones, an
    InputError when fewer than MIN_VIEWS remain. `what` names the frames ("frames", "registered images")."""
    present = [i for i, f in enumerate(files) if f.is_file()]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        listed = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        if len(present) < MIN_VIEWS:
            raise InputError(f"{where}: only {len(present)} of {len(files)} {what} have their image "
                             f"(at least {MIN_VIEWS} are needed); missing: {listed}")
        log.warning("%s: skipping %d of %d %s whose image is missing: %s", where, len(missing), len(files),
                    what, listed)
    return present, missing


def check_masks_all_or_none(views: list[RawView], where: str) -> None:
    with_mask = sum(v.mask is not None for v in views)
    if with_mask and with_mask != len(views):
        first = next(v for v in views if v.mask is None)
        raise InputError(f"{where}: {with_mask} of {len(views)} views have masks; none found for "
                         f"{first.label}")


def capture_info(info: dict, missing: list[str], distortions: list[Distortion | None]) -> dict:
    """`info` plus what was skipped and how distortion is removed (`undistorted`)."""
    if missing:
        info["skipped_frames"] = missing
    used = [d for d in distortions if d is not None]
    if used:
        info["undistorted"] = {
            "how": "images and masks resampled at load time into the pinhole of the same intrinsics "
                   "(the lens model is removed, not modelled in the fit)",
            "models": sorted({d.model for d in used}), "views": len(used), "coefficients": used[0].to_dict()}
    return info

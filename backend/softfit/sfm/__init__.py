"""Cameras from structure-from-motion (pycolmap), in SoftFit's world frame (DESIGN.md §1).

`estimate_cameras(images, masks)` -> `SfmResult`; `cameras_for(images, masks, "sfm[:opts]")` -> Cameras
for the loader's `cameras="sfm"`; `pose_errors(est, gt)` after a similarity alignment. pycolmap is
imported only when SfM actually runs."""

from softfit.sfm.align import pose_errors, umeyama
from softfit.sfm.estimate import SfmResult, estimate_cameras, fallback_cameras
from softfit.sfm.spec import cameras_for, estimate_from_spec, is_sfm_spec, parse_spec

__all__ = [
    "SfmResult", "cameras_for", "estimate_cameras", "estimate_from_spec", "fallback_cameras", "is_sfm_spec",
    "parse_spec", "pose_errors", "umeyama",
]

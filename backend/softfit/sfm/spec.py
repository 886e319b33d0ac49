"""`--cameras sfm[:key=value,...]`: the camera spec string the loader and the CLI pass through.

Keys: distance (camera distance after normalisation, default 2.732), focal (focal length guess in
pixels), turntable (yes/no: views lie on a circle, default yes), fallback (yes/no: assume an evenly
spaced turntable when SfM fails, default yes), model (simple_pinhole|simple_radial), matching
(auto|exhaustive|sequential), min_registered (fraction of views that must register, default 0.5), seed."""

from __future__ import annotations

from typing import Any

import numpy as np

from softfit.cameras import Cameras
from softfit.data.spec import check_keys, flag, number, whole
from softfit.data.spec import parse_spec as parse_options
from softfit.errors import InputError
from softfit.sfm.colmap import CAMERA_MODELS
from softfit.sfm.estimate import MATCHING, SfmResult, estimate_cameras

PREFIX = "sfm"
_KEYS = ("distance", "focal", "turntable", "fallback", "model", "matching", "min_registered", "seed",
         "whole_photos")


def parse_spec(spec: str) -> dict[str, Any]:
    """Keyword arguments of `estimate_cameras` from 'sfm' or 'sfm:key=value,...'; InputError if malformed.
    The syntax and the typed values are `softfit.data.spec`'s, as for every other option string."""
    head, opts = parse_options(spec)
    if head != PREFIX:
        raise InputError(f"not an SfM camera spec: {spec!r} (expected 'sfm' or 'sfm:key=value,...')")
    check_keys(spec, "sfm", opts, _KEYS)
    kwargs: dict[str, Any] = {}
    for key, value in opts.items():
        if key in ("distance", "focal"):
            kwargs["distance" if key == "distance" else "focal_guess"] = number(spec, key, value, 0.0,
                                                                                open_lo=True)
        elif key in ("turntable", "fallback", "whole_photos"):
            kwargs["turntable_hint" if key == "turntable" else key] = flag(spec, key, value)
        elif key == "model":
            if value.upper() not in CAMERA_MODELS:
                raise InputError(f"--cameras sfm: model must be one of {', '.join(CAMERA_MODELS).lower()}")
            kwargs["camera_model"] = value.upper()
        elif key == "matching":
            if value.lower() not in MATCHING:
                raise InputError(f"--cameras sfm: matching must be one of {', '.join(MATCHING)}")
            kwargs["matching"] = value.lower()
        elif key == "min_registered":
            kwargs["min_registered"] = number(spec, key, value, 0.0, 1.0, open_lo=True)
        else:
            kwargs["seed"] = whole(spec, key, value)
    return kwargs


def is_sfm_spec(spec: str | None) -> bool:
    return spec is not None and spec.strip().lower().split(":", 1)[0] == PREFIX


def estimate_from_spec(images: np.ndarray, masks: np.ndarray | None, spec: str) -> SfmResult:
    """`estimate_cameras` configured by a spec string; the result keeps the message for reports."""
    return estimate_cameras(images, masks, **parse_spec(spec))


def cameras_for(images: np.ndarray, masks: np.ndarray | None, spec: str) -> Cameras:
    """One camera per view for `--cameras sfm...`; InputError when none can be given (SfM failed and the
    spec forbids the fallback, or views unregistered without a turntable hint)."""
    result = estimate_from_spec(images, masks, spec)
    if result.cameras is None:
        raise InputError(result.message)
    return result.cameras

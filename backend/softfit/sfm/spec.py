"""`--cameras sfm[:key=value,...]`: the camera spec string the loader and the CLI pass through.

Keys: distance (camera distance after normalisation, default 2.732), focal (focal length guess in
pixels), turntable (yes/no: views lie on a circle, default yes), fallback (yes/no: assume an evenly
spaced turntable when SfM fails, default yes), model (simple_pinhole|simple_radial), matching
(auto|exhaustive|sequential), min_registered (fraction of views that must register, default 0.5), seed."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from softfit.cameras import Cameras
from softfit.errors import InputError
from softfit.sfm.colmap import CAMERA_MODELS
from softfit.sfm.estimate import MATCHING, SfmResult, estimate_cameras

PREFIX = "sfm"
_BOOL = {"yes": True, "true": True, "1": True, "on": True,
         "no": False, "false": False, "0": False, "off": False}


def _positive(key: str, text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise InputError(f"--cameras sfm: {key} must be a number, got {text!r}") from None
    if not (v > 0 and math.isfinite(v)):
        raise InputError(f"--cameras sfm: {key} must be positive, got {text!r}")
    return v


def parse_spec(spec: str) -> dict[str, Any]:
    """Keyword arguments of `estimate_cameras` from 'sfm' or 'sfm:key=value,...'; InputError if malformed."""
    head, _, rest = spec.strip().partition(":")
    if head.lower() != PREFIX:
        raise InputError(f"not an SfM camera spec: {spec!r} (expected 'sfm' or 'sfm:key=value,...')")
    kwargs: dict[str, Any] = {}
    for item in filter(None, (s.strip() for s in rest.split(","))):
        key, eq, value = item.partition("=")
        key, value = key.strip().lower(), value.strip()
        if not eq or not value:
            raise InputError(f"--cameras sfm: expected key=value, got {item!r}")
        if key == "distance":
            kwargs["distance"] = _positive(key, value)
        elif key == "focal":
            kwargs["focal_guess"] = _positive(key, value)
        elif key in ("turntable", "fallback"):
            if value.lower() not in _BOOL:
                raise InputError(f"--cameras sfm: {key} must be yes or no, got {value!r}")
            kwargs["turntable_hint" if key == "turntable" else key] = _BOOL[value.lower()]
        elif key == "model":
            if value.upper() not in CAMERA_MODELS:
                raise InputError(f"--cameras sfm: model must be one of {', '.join(CAMERA_MODELS).lower()}")
            kwargs["camera_model"] = value.upper()
        elif key == "matching":
            if value.lower() not in MATCHING:
                raise InputError(f"--cameras sfm: matching must be one of {', '.join(MATCHING)}")
            kwargs["matching"] = value.lower()
        elif key == "min_registered":
            v = _positive(key, value)
            if v > 1:
                raise InputError("--cameras sfm: min_registered is a fraction in (0, 1]")
            kwargs["min_registered"] = v
        elif key == "seed":
            try:
                kwargs["seed"] = int(value)
            except ValueError:
                raise InputError(f"--cameras sfm: seed must be an integer, got {value!r}") from None
        else:
            raise InputError(f"--cameras sfm: unknown option {key!r} (distance, focal, turntable, fallback, "
                             "model, matching, min_registered, seed)")
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

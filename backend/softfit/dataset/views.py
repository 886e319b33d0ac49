"""The cameras of a dataset and the names of its views, per layout (numpy only: the worker runs it too).

Orbits are (distance, elevation°, azimuth°) in `softfit.cameras.turntable`'s convention (azimuth 0 on
-Y, 90 on +X). SoftRas files store the same poses in SoftRas' own Y-up convention: its azimuth is
180° - ours, and `softfit.cameras.from_softras` converts them back, so SoftRas views are rendered
through that very function."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from softfit.cameras import Cameras, from_softras, load_transforms, turntable
from softfit.dataset.options import CAMERA_LAYOUTS, SOFTRAS_NPZ_ELEVATION, SOFTRAS_NPZ_VIEWS, RenderOptions
from softfit.errors import InputError


@dataclass(frozen=True)
class ViewSet:
    """The cameras to render, one name per view, and SoftRas rows (distance, elevation, azimuth) when the
    layout stores them (else None)."""

    cameras: Cameras
    names: list[str]
    softras_rows: np.ndarray | None = None


def orbit(opts: RenderOptions) -> tuple[np.ndarray, np.ndarray]:
    """(elevations, azimuths) in degrees of the orbit layouts: turntable, rings, random (seeded)."""
    n = int(opts.views)  # type: ignore[arg-type]
    elev = opts.elevation or (0.0,)
    if opts.cameras == "turntable":
        return np.full(n, elev[0]), 360.0 * np.arange(n) / n
    if opts.cameras == "rings":
        # Views shared out as evenly as possible; every other ring turned by half a step.
        counts = np.full(len(elev), n // len(elev))
        counts[: n % len(elev)] += 1
        els, azs = [], []
        for r, (e, k) in enumerate(zip(elev, counts, strict=True)):
            els.append(np.full(k, e))
            azs.append((360.0 * (np.arange(k) + 0.5 * (r % 2)) / k) % 360.0)
        return np.concatenate(els), np.concatenate(azs)
    if opts.cameras == "random":
        # Uniform over the sphere's zone between the two elevations: sin(elevation) is uniform.
        rng = np.random.default_rng(opts.seed)
        lo, hi = np.sin(np.radians(elev[0])), np.sin(np.radians(elev[1]))
        return np.degrees(np.arcsin(rng.uniform(lo, hi, n))), rng.uniform(0.0, 360.0, n)
    raise InputError(f"cameras must be one of {', '.join(CAMERA_LAYOUTS)} here, got {opts.cameras!r}")


def view_set(opts: RenderOptions) -> ViewSet:
    """The cameras and view names of `opts` (resolved)."""
    w, h = opts.size  # type: ignore[misc]
    if opts.layout == "softras":
        if opts.npz:
            k = np.arange(SOFTRAS_NPZ_VIEWS)
            rows = np.stack([np.full(len(k), opts.distance), np.full(len(k), SOFTRAS_NPZ_ELEVATION),
                             (-15.0 * k) % 360.0], axis=1)
        else:
            el, az = orbit(opts)
            rows = np.stack([np.full(len(el), opts.distance), el, (180.0 - az) % 360.0], axis=1)
        return ViewSet(from_softras(rows, image_size=w), [f"{i:03d}" for i in range(len(rows))], rows)
    if opts.cameras not in CAMERA_LAYOUTS:  # a transforms.json to render at
        cams, _ = load_transforms(opts.cameras)
        return ViewSet(cams, [f"view_{i:03d}" for i in range(len(cams))])
    el, az = orbit(opts)
    cams = turntable(az, opts.distance, el, opts.fov, w, h)
    if opts.layout == "aloi":
        return ViewSet(cams, [f"{opts.name}_r{round(a)}" for a in az])
    return ViewSet(cams, [f"view_{i:03d}" for i in range(len(cams))])

"""Short option strings `name[:key=value,...]` as typed on the command line or in the Blender panel.

`cameras="turntable:views=72,distance=2.732,elevation=0,fov=60"` and
`silhouette="backdrop:background=empty.png"` use the same syntax."""

from __future__ import annotations

import math
from dataclasses import dataclass

from softfit.cameras import SOFTRAS_DISTANCE, SOFTRAS_VIEW_ANGLE_DEG
from softfit.errors import InputError


def parse_spec(text: str) -> tuple[str, dict[str, str]]:
    """`name:k=v,k=v` -> (name, {k: v}); keys and values are stripped, values stay strings."""
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"expected an option string like 'name:key=value', got {text!r}")
    name, _, rest = text.strip().partition(":")
    name = name.strip().lower()
    opts: dict[str, str] = {}
    for item in filter(None, (s.strip() for s in rest.split(","))):
        key, eq, value = item.partition("=")
        key = key.strip().lower()
        if not eq or not key or not value.strip():
            raise InputError(f"{text!r}: expected key=value, got {item!r}")
        if key in opts:
            raise InputError(f"{text!r}: {key} given twice")
        opts[key] = value.strip()
    return name, opts


def parse_value(value: str) -> bool | int | float | str:
    """'3' -> 3, '0.5' -> 0.5, 'true' -> True; anything else stays a string (a path, a name)."""
    low = value.lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    for conv in (int, float):
        try:
            return conv(value)
        except ValueError:
            pass
    return value


@dataclass(frozen=True)
class TurntableSpec:
    """A camera circle around the origin (see `softfit.cameras.turntable`).

    views: views over 360 deg when azimuths come from the file order (None = as many as images);
    start: azimuth of the first view; direction: +1 counter-clockwise seen from above, -1 clockwise
    (which way the object turned on the turntable)."""

    views: int | None = None
    distance: float = SOFTRAS_DISTANCE
    elevation: float = 0.0
    fov: float = 2 * SOFTRAS_VIEW_ANGLE_DEG
    start: float = 0.0
    direction: int = 1

    def azimuths(self, count: int, angles: list[float] | None = None) -> list[float]:
        """Azimuths of `count` views: from `angles` (file names) or evenly spaced in file order."""
        if self.views is not None and self.views != count:
            raise InputError(f"turntable views={self.views} but {count} images were found")
        base = angles if angles is not None else [360.0 * i / count for i in range(count)]
        return [self.start + self.direction * a for a in base]


_TURNTABLE_KEYS = ("views", "distance", "elevation", "fov", "start", "direction")


def parse_turntable(text: str) -> TurntableSpec:
    """Parse `turntable[:views=N,distance=D,elevation=E,fov=F,start=S,direction=ccw|cw]`."""
    name, opts = parse_spec(text)
    if name != "turntable":
        raise InputError(f"unknown camera spec {text!r}; expected 'turntable[:views=72,distance=2.732,"
                         "elevation=0,fov=60]' or a transforms.json path")
    unknown = sorted(set(opts) - set(_TURNTABLE_KEYS))
    if unknown:
        raise InputError(f"{text!r}: unknown turntable option(s) {', '.join(unknown)}; "
                         f"known: {', '.join(_TURNTABLE_KEYS)}")

    def number(key: str, default: float, lo: float, hi: float, open_lo: bool = False) -> float:
        if key not in opts:
            return default
        try:
            v = float(opts[key])
        except ValueError:
            raise InputError(f"{text!r}: {key} must be a number, got {opts[key]!r}") from None
        if not math.isfinite(v) or v < lo or v > hi or (open_lo and v == lo):
            raise InputError(f"{text!r}: {key}={opts[key]} is out of range")
        return v

    views = None
    if "views" in opts:
        try:
            views = int(opts["views"])
        except ValueError:
            raise InputError(f"{text!r}: views must be a whole number, got {opts['views']!r}") from None
        if views < 1:
            raise InputError(f"{text!r}: views must be at least 1")
    direction = opts.get("direction", "ccw").lower()
    if direction not in ("ccw", "cw", "1", "+1", "-1"):
        raise InputError(f"{text!r}: direction must be ccw or cw, got {direction!r}")
    return TurntableSpec(
        views=views,
        distance=number("distance", SOFTRAS_DISTANCE, 0.0, 1e6, open_lo=True),
        elevation=number("elevation", 0.0, -90.0, 90.0),
        fov=number("fov", 2 * SOFTRAS_VIEW_ANGLE_DEG, 0.0, 179.0, open_lo=True),
        start=number("start", 0.0, -360.0, 360.0),
        direction=-1 if direction in ("cw", "-1") else 1,
    )

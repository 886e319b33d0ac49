"""Short option strings `name[:key=value,...]` as typed on the command line or in the Blender panel.

`cameras="turntable:views=72,distance=2.732,elevation=0,fov=60"`, `cameras="softras:viewing_angle=15"`,
`cameras="sfm:fallback=no"` and `silhouette="backdrop:background=empty.png"` use the same syntax, this
one parser and the same typed values (`number`, `whole`, `flag`: yes/no, true/false, on/off, 1/0)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..cameras import SOFTRAS_DATA_VIEW_ANGLE_DEG, SOFTRAS_DISTANCE, SOFTRAS_VIEW_ANGLE_DEG
from ..errors import InputError


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


TRUE, FALSE = ("yes", "true", "on"), ("no", "false", "off")


def parse_value(value: str) -> bool | int | float | str:
    """'3' -> 3, '0.5' -> 0.5, 'true' -> True; anything else stays a string (a path, a name)."""
    low = value.lower()
    if low in TRUE:
        return True
    if low in FALSE:
        return False
    for conv in (int, float):
        try:
            return conv(value)
        except ValueError:
            pass
    return value


def number(spec: str, key: str, value: str, lo: float = -math.inf, hi: float = math.inf,
           open_lo: bool = False) -> float:
    """A finite number in [lo, hi] ((lo, hi] with open_lo) for option `key` of `spec`."""
    try:
        v = float(value)
    except ValueError:
        raise InputError(f"{spec!r}: {key} must be a number, got {value!r}") from None
    if not math.isfinite(v) or v < lo or v > hi or (open_lo and v == lo):
        raise InputError(f"{spec!r}: {key}={value} is out of range")
    return v


def whole(spec: str, key: str, value: str, lo: int | None = None) -> int:
    try:
        v = int(value)
    except ValueError:
        raise InputError(f"{spec!r}: {key} must be a whole number, got {value!r}") from None
    if lo is not None and v < lo:
        raise InputError(f"{spec!r}: {key} must be at least {lo}")
    return v


def flag(spec: str, key: str, value: str) -> bool:
    low = value.lower()
    if low in (*TRUE, "1") or low in (*FALSE, "0"):
        return low in (*TRUE, "1")
    raise InputError(f"{spec!r}: {key} must be yes or no, got {value!r}")


def check_keys(spec: str, what: str, opts: dict, known: tuple[str, ...]) -> None:
    unknown = sorted(set(opts) - set(known))
    if unknown:
        raise InputError(f"{spec!r}: unknown {what} option(s) {', '.join(unknown)}; "
                         f"known: {', '.join(known)}")


def parse_softras(text: str) -> float:
    """`softras[:viewing_angle=DEG]` -> SoftRas' half field of view in degrees (default 15, the angle its
    demo and ShapeNet data were rendered with)."""
    name, opts = parse_spec(text)
    if name != "softras":
        raise InputError(f"not a SoftRas camera spec: {text!r}")
    check_keys(text, "softras", opts, ("viewing_angle",))
    if "viewing_angle" not in opts:
        return SOFTRAS_DATA_VIEW_ANGLE_DEG
    return number(text, "viewing_angle", opts["viewing_angle"], 0.0, 89.0, open_lo=True)


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
    check_keys(text, "turntable", opts, _TURNTABLE_KEYS)

    def num(key: str, default: float, lo: float, hi: float, open_lo: bool = False) -> float:
        return number(text, key, opts[key], lo, hi, open_lo) if key in opts else default

    views = whole(text, "views", opts["views"], 1) if "views" in opts else None
    direction = opts.get("direction", "ccw").lower()
    if direction not in ("ccw", "cw", "1", "+1", "-1"):
        raise InputError(f"{text!r}: direction must be ccw or cw, got {direction!r}")
    return TurntableSpec(
        views=views,
        distance=num("distance", SOFTRAS_DISTANCE, 0.0, 1e6, open_lo=True),
        elevation=num("elevation", 0.0, -90.0, 90.0),
        fov=num("fov", 2 * SOFTRAS_VIEW_ANGLE_DEG, 0.0, 179.0, open_lo=True),
        start=num("start", 0.0, -360.0, 360.0),
        direction=-1 if direction in ("cw", "-1") else 1,
    )

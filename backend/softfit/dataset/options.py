"""What a rendered dataset should look like: `RenderOptions`, checked before any Blender process starts.

Pure Python (no bpy, no numpy): the CLI, `render_dataset` and the Blender-side worker all build the same
validated, fully resolved options, and `dataset.json` records them."""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from softfit.errors import InputError

ERROR_PREFIX = "softfit-input-error: "  # how the render worker reports an InputError to render.py

LAYOUTS = ("transforms", "aloi", "softras")
CAMERA_LAYOUTS = ("turntable", "rings", "random")
BACKGROUNDS = ("transparent", "black", "backdrop")
ENGINES = ("auto", "workbench", "cycles")
TEXTURES = ("none", "noise", "paint")
FINISHES = ("satin", "matte")
MESH_SUFFIXES = (".obj", ".ply", ".stl")

# Built-in meshes, built in Blender and normalised to a unit bounding box: the classic primitives, an
# open-topped bucket (thick walls) and an open cylinder (zero thickness), and two detailed objects.
BUILTINS = ("suzanne", "cube", "uv_sphere", "ico_sphere", "torus", "cone", "cylinder", "bucket",
            "open_cylinder", "suzanne_subdiv", "torus_knot", "airplane", "chair", "mug")

SOFTRAS_NPZ_VIEWS = 24  # SoftRas' ShapeNet archives: azimuth -15°·k, elevation 30°, distance 2.732
SOFTRAS_NPZ_ELEVATION = 30.0
DEFAULT_FOV = 60.0
SOFTRAS_FOV = 30.0  # SoftRas renders its data with viewing_angle 15° (the half field of view)

_DEFAULTS = {  # per layout: views, size (W, H), elevation (degrees), background
    "transforms": (36, (256, 256), 30.0, "transparent"),
    "aloi": (72, (384, 288), 0.0, "black"),
    "softras": (120, (64, 64), 30.0, "transparent"),
}
_RING_ELEVATIONS = (10.0, 35.0, 60.0)
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class RenderOptions:
    """A dataset to render, fully resolved (no None left after `resolve`).

    sources: built-in names or mesh files (several only for `--layout softras --npz`); views: number of
    cameras; size: (width, height) px; cameras: turntable | rings | random | a transforms.json to render
    at; elevation: turntable: one angle, rings: one per ring, random: (min, max); distance, fov (degrees
    across the longer image side): the camera orbit; scale, offset: object placement in the world after
    normalisation; normalize: fit the source into a unit box centred at the origin first (built-ins
    always are); background: transparent (RGBA) | black | backdrop (textured walls and floor with
    shadows); engine: workbench (fast, no shadows headless) | cycles (CPU path tracing, `samples`) for the
    images, auto = cycles for the backdrop, else workbench; masks are always exact Workbench coverage;
    texture: none (one flat colour) | noise (high-contrast colour noise fixed to the object, the same from
    every view, for structure-from-motion; `dataset.texture`) | paint (smooth colour blotches: the texture
    benchmark's surface); finish: satin (Principled, roughness 0.6 with the default specular layer, so a
    Fresnel sheen at grazing angles) | matte (no specular layer: a diffuse surface, whose colour a
    texture can hold from every side); plates: with the backdrop, also render each view without the
    object (plates/), the scene a render of the fitted object is laid into for scoring."""

    sources: tuple[str, ...]
    layout: str = "transforms"
    views: int | None = None
    size: tuple[int, int] | None = None
    cameras: str = "turntable"
    elevation: tuple[float, ...] | None = None
    distance: float = 2.732
    fov: float | None = None  # None: SOFTRAS_FOV for the softras layout, else DEFAULT_FOV
    scale: float = 1.0
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)
    normalize: bool | None = None
    background: str | None = None
    engine: str = "auto"
    texture: str = "none"
    finish: str = "satin"
    plates: bool = False
    samples: int = 8
    seed: int = 0
    name: str | None = None
    npz: bool = False

    def to_dict(self) -> dict:
        d = asdict(self)
        for k in ("sources", "size", "elevation", "offset"):
            if d[k] is not None:
                d[k] = list(d[k])
        return d

    @classmethod
    def from_dict(cls, d: dict) -> RenderOptions:
        """Options from keyword values as the CLI, Python callers or dataset.json give them."""
        d = dict(d)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise InputError(f"unknown dataset option(s): {', '.join(unknown)}")
        if "sources" not in d:
            raise InputError("no source mesh given")
        src = d["sources"]
        d["sources"] = (src,) if isinstance(src, str | Path) else tuple(src)
        d["sources"] = tuple(str(s) for s in d["sources"])
        if d.get("size") is not None:
            d["size"] = parse_size(d["size"])
        if d.get("elevation") is not None:
            d["elevation"] = parse_floats(d["elevation"], "elevation")
        if d.get("offset") is not None:
            off = parse_floats(d["offset"], "offset")
            if len(off) != 3:
                raise InputError(f"offset needs 3 values X,Y,Z, got {len(off)}")
            d["offset"] = off
        return cls(**d).resolve()

    def resolve(self) -> RenderOptions:
        """Fill in the layout's defaults and check every value; raises InputError naming the problem."""
        if self.layout not in LAYOUTS:
            raise InputError(f"unknown layout {self.layout!r}; choose one of {', '.join(LAYOUTS)}")
        views, size, elevation, background = _DEFAULTS[self.layout]
        views = SOFTRAS_NPZ_VIEWS if self.npz else views
        sources = tuple(_check_source(s) for s in self.sources)
        if not sources:
            raise InputError("no source mesh given")
        if len(sources) > 1 and not (self.layout == "softras" and self.npz):
            raise InputError("several sources need --layout softras --npz (one archive of K objects)")
        if self.npz and self.layout != "softras":
            raise InputError("--npz is only for --layout softras")
        file_cams = self.cameras not in CAMERA_LAYOUTS
        if file_cams:
            if self.layout != "transforms":
                raise InputError(f"--cameras FILE needs --layout transforms "
                                 f"({self.layout} fixes its cameras)")
            cam_path = Path(self.cameras)
            if not cam_path.is_file() and not (cam_path / "transforms.json").is_file():
                raise InputError(f"--cameras must be turntable, rings, random or a transforms.json file; "
                                 f"{self.cameras!r} is neither")
        size = size if self.size is None else self.size
        out_views = views if self.views is None else int(self.views)
        if self.elevation is not None:
            elev: tuple[float, ...] = tuple(float(e) for e in self.elevation)
        elif self.cameras == "rings":
            elev = _RING_ELEVATIONS
        elif self.cameras == "random":
            elev = (5.0, 90.0) if self.background == "backdrop" else (-90.0, 90.0)
        else:
            elev = (elevation,)
        opts = dict(
            sources=sources, views=out_views, size=size, elevation=elev,
            background=background if self.background is None else self.background,
            normalize=bool(self.normalize) if self.normalize is not None else False,
            fov=self.fov if self.fov is not None else (SOFTRAS_FOV if self.layout == "softras"
                                                        else DEFAULT_FOV),
            name=self.name if self.name is not None else default_name(sources[0]),
        )
        if self.engine == "auto":  # Workbench draws no shadows headless: the photo-like backdrop needs Cycles
            opts["engine"] = "cycles" if opts["background"] == "backdrop" else "workbench"
        out = RenderOptions(**{**asdict(self), **opts})
        out._check(file_cams)
        return out

    def _check(self, file_cams: bool) -> None:
        w, h = self.size  # type: ignore[misc]
        if self.views is None or self.views < 1 or self.views > 10000:
            raise InputError(f"views must be between 1 and 10000, got {self.views}")
        if not (1 <= w <= 8192 and 1 <= h <= 8192):
            raise InputError(f"image size must be between 1 and 8192 px per side, got {w}x{h}")
        if self.background not in BACKGROUNDS:
            raise InputError(f"unknown background {self.background!r}; "
                             f"choose one of {', '.join(BACKGROUNDS)}")
        if self.engine not in ENGINES:
            raise InputError(f"unknown engine {self.engine!r}; choose one of {', '.join(ENGINES)}")
        if self.texture not in TEXTURES:
            raise InputError(f"unknown texture {self.texture!r}; choose one of {', '.join(TEXTURES)}")
        if self.finish not in FINISHES:
            raise InputError(f"unknown finish {self.finish!r}; choose one of {', '.join(FINISHES)}")
        if self.plates and (self.background != "backdrop" or self.layout != "transforms"):
            raise InputError("plates (the backdrop without the object) need --background backdrop and "
                             "--layout transforms")
        if not 1 <= self.samples <= 4096:
            raise InputError(f"samples must be between 1 and 4096, got {self.samples}")
        for key in ("distance", "fov", "scale"):
            v = getattr(self, key)
            if not (math.isfinite(v) and v > 0):
                raise InputError(f"{key} must be a positive number, got {v}")
        if self.fov >= 179:
            raise InputError(f"fov must be below 179 degrees, got {self.fov}")
        if not all(math.isfinite(v) for v in (*self.offset, *self.elevation)):  # type: ignore[misc]
            raise InputError("offset and elevation must be finite numbers")
        if not _NAME_RE.match(self.name or ""):
            raise InputError(f"name {self.name!r} must be letters, digits, '_', '-' or '.'")
        if not file_cams:
            self._check_orbit()
        if self.layout == "aloi":
            self._check_aloi()
        if self.layout == "softras":
            self._check_softras()

    def _check_orbit(self) -> None:
        elev = self.elevation or ()
        if any(abs(e) > 90 for e in elev):
            raise InputError(f"elevations must lie in [-90, 90] degrees, got {list(elev)}")
        if self.cameras == "turntable" and len(elev) != 1:
            raise InputError(f"turntable cameras take one elevation, got {len(elev)}")
        if self.cameras == "rings" and len(elev) > self.views:  # type: ignore[operator]
            raise InputError(f"{len(elev)} rings need at least as many views, got {self.views}")
        if self.cameras == "random" and (len(elev) != 2 or elev[0] > elev[1]):
            raise InputError(f"random cameras take an elevation range MIN,MAX, got {list(elev)}")
        if self.background == "backdrop" and min(elev) < 2.0:
            raise InputError("the backdrop's floor hides views from below: "
                             "use elevations of at least 2 degrees")

    def _check_aloi(self) -> None:
        if self.cameras != "turntable" or self.elevation != (0.0,):
            raise InputError("ALOI's layout is a turntable at elevation 0 (file names hold only the azimuth)")
        if 360 % self.views:  # type: ignore[operator]
            raise InputError(f"ALOI views must divide 360 so azimuths are whole degrees, got {self.views}")

    def _check_softras(self) -> None:
        w, h = self.size  # type: ignore[misc]
        if w != h:
            raise InputError(f"SoftRas images are square, got {w}x{h}")
        if abs(self.fov - SOFTRAS_FOV) > 1e-9:
            raise InputError(f"SoftRas renders its data with a {SOFTRAS_FOV:g} degree field of view "
                             "(viewing_angle 15)")
        fixed = (self.views == SOFTRAS_NPZ_VIEWS and self.cameras == "turntable"
                 and self.elevation == (SOFTRAS_NPZ_ELEVATION,) and abs(self.distance - 2.732) < 1e-9)
        if self.npz and not fixed:
            raise InputError(f"SoftRas .npz archives fix their cameras: {SOFTRAS_NPZ_VIEWS} views at azimuth "
                             f"-15°·k, elevation {SOFTRAS_NPZ_ELEVATION:g}, distance 2.732")


def _check_source(source: str) -> str:
    if source in BUILTINS:
        return source
    p = Path(source)
    if p.suffix.lower() not in MESH_SUFFIXES:
        raise InputError(f"source {source!r} is neither a built-in mesh ({', '.join(BUILTINS)}) "
                         f"nor a {'/'.join(MESH_SUFFIXES)} file")
    if not p.is_file():
        raise InputError(f"mesh file not found: {source}")
    return str(p.resolve())


def default_name(source: str) -> str:
    stem = Path(source).stem if source not in BUILTINS else source
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", stem)
    return name if _NAME_RE.match(name) else f"obj_{name}"


def parse_size(value: str | int | Sequence[int]) -> tuple[int, int]:
    """'W' or 'WxH' (or an int, or a (W, H) pair) to (width, height)."""
    if isinstance(value, int):
        return value, value
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d+)\s*(?:[xX]\s*(\d+)\s*)?", value)
        if not m:
            raise InputError(f"image size must be W or WxH in pixels, got {value!r}")
        w = int(m.group(1))
        return w, int(m.group(2)) if m.group(2) else w
    try:
        w, h = (int(v) for v in value)
    except (TypeError, ValueError):
        raise InputError(f"image size must be W or WxH in pixels, got {value!r}") from None
    return w, h


def parse_floats(value: str | float | Sequence[float], what: str) -> tuple[float, ...]:
    """'a,b,c' (or a number, or a sequence) to a tuple of floats."""
    if isinstance(value, int | float):
        return (float(value),)
    items = value.split(",") if isinstance(value, str) else list(value)
    try:
        out = tuple(float(v) for v in items)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be comma-separated numbers, got {value!r}") from None
    if not out:
        raise InputError(f"{what} needs at least one number")
    return out


def worker_main(argv: list[str], module: str, render: Callable[[dict, Path], object]) -> int:
    """The entry point of a render process, `python -m MODULE OPTIONS_JSON OUT_DIR`: `render(options,
    out)` returns what to print as JSON; bad input becomes one ERROR_PREFIX line (exit 2) that
    `dataset.render` turns back into an InputError for the caller."""
    if len(argv) != 2:
        print(f"usage: python -m {module} OPTIONS_JSON OUT_DIR", file=sys.stderr)
        return 64
    try:
        summary = render(json.loads(Path(argv[0]).read_text()), Path(argv[1]))
    except InputError as exc:
        print(ERROR_PREFIX + str(exc), file=sys.stderr)
        return 2
    print(json.dumps(summary))
    return 0

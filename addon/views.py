"""Finding the views of an input (no bpy): which images, which masks, which cameras.

Inputs, as the panel offers them: a folder with a `transforms.json` (or the file itself), an ALOI object
folder (`png2/<obj>/<obj>_r<angle>.png`, masks in `mask2/<obj>/` or `masks/`), a plain image folder with
a turntable preset, or SoftRas files (`source.npy` + `camera.npy`, or a ShapeNet `.npz` archive). The
conventions are those of `softfit.data.load` (tests/test_addon_pure.py compares both on every layout).
Image sizes are read by an injected function so Blender (bpy images) and the tests (PIL) share this.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .core.cameras import SOFTRAS_DISTANCE, Cameras, load_transforms, turntable
from .core.data.files import MASK_FOLDER, aloi_mask_folder, angle_from_name, detect, find_mask, sort_by_angle
from .core.data.files import list_images as image_files
from .core.data.formats import softras
from .errors import InputError

KINDS = ("AUTO", "TRANSFORMS", "ALOI", "FOLDER", "SOFTRAS")
KIND_OF = {"transforms": "TRANSFORMS", "softras": "SOFTRAS", "softras_npz": "SOFTRAS", "aloi": "ALOI",
           "folder": "FOLDER"}  # backend format name -> the panel's input kind
CAMERA_SOURCES = ("FILE", "TURNTABLE", "SFM")  # SFM: placeholders here, replaced by inputs.load
ALOI_DISTANCE = SOFTRAS_DISTANCE
ALOI_FOV_DEG = 60.0


@dataclass(frozen=True)
class Turntable:
    """The turntable preset: view i at azimuth start + direction * a, where a is the `_r<angle>` of its
    file name, else 360 * i / N in file order; `fov_deg` spans the image's longer side."""

    distance: float = ALOI_DISTANCE
    elevation_deg: float = 0.0
    fov_deg: float = ALOI_FOV_DEG
    start_deg: float = 0.0
    clockwise: bool = False


@dataclass(frozen=True)
class InputOptions:
    path: str
    kind: str = "AUTO"
    camera_source: str = "FILE"
    turntable: Turntable = field(default_factory=Turntable)
    object_index: int = 0  # ShapeNet .npz archives hold several objects


@dataclass(frozen=True)
class ViewSet:
    """N views at their source size. Pixels come from `images` files or, for SoftRas, from `pixels`
    (N, H, W, 4) uint8 RGBA already mirrored to match the cameras."""

    kind: str
    names: list[str]
    cameras: Cameras
    images: list[Path] | None = None
    masks: list[Path | None] = field(default_factory=list)
    pixels: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.names)


ImageSize = Callable[[Path], tuple[int, int]]


def list_images(folder: Path) -> list[Path]:
    """Images in natural order, or by their `_r<angle>` when every name has one (`core/data/files.py`,
    the backend's own rule)."""
    return sort_by_angle(image_files(folder))[0]


def detect_kind(path: Path) -> str:
    """The input kind of `path` (file or folder), by the backend's own rule (`core/data/files.py`)."""
    if not path.exists():
        raise InputError(f"input not found: {path}")
    return KIND_OF[detect(path)[0]]


def _masks(images: list[Path], dirs: Callable[[Path], list[Path]], where: str) -> list[Path | None]:
    """Masks from the folders `dirs(image)` names: for every image or for none (never some)."""
    masks = [find_mask(list(dict.fromkeys(d for d in dirs(p) if d.is_dir())), p.stem) for p in images]
    found = sum(m is not None for m in masks)
    if 0 < found < len(images):
        missing = next(p for p, m in zip(images, masks, strict=True) if m is None)
        raise InputError(f"{where}: {found} of {len(images)} views have masks; none found for {missing.name}")
    return masks


def _turntable_cameras(images: list[Path], preset: Turntable, size: tuple[int, int]) -> Cameras:
    angles = [angle_from_name(p.stem) for p in images]
    if not all(a is not None for a in angles):
        angles = [360.0 * i / len(images) for i in range(len(images))]
    sign = -1.0 if preset.clockwise else 1.0
    az = [preset.start_deg + sign * float(a) for a in angles if a is not None]
    return turntable(az, preset.distance, preset.elevation_deg, preset.fov_deg, size[0], size[1])


def _check_sizes(images: list[Path], image_size: ImageSize) -> tuple[int, int]:
    sizes = {image_size(p) for p in images}
    if len(sizes) != 1:
        raise InputError(f"images of a turntable must share one size, found {sorted(sizes)}")
    return sizes.pop()


def _from_folder(folder: Path, kind: str, opts: InputOptions, image_size: ImageSize) -> ViewSet:
    images = list_images(folder)
    if not images:
        raise InputError(f"no images in {folder}")
    if kind == "ALOI" and opts.camera_source == "FILE":
        preset = Turntable()  # ALOI's fixed layout: elevation 0 at SoftRas' distance, azimuth from names
        if any(angle_from_name(p.stem) is None for p in images):
            raise InputError(f"{folder}: ALOI images must be named <obj>_r<angle>.png")
    elif opts.camera_source in ("TURNTABLE", "SFM"):
        preset = opts.turntable
    else:
        raise InputError(f"{folder} has no camera file: choose the turntable camera preset")
    size = _check_sizes(images, image_size)
    dirs = [aloi_mask_folder(folder), folder / MASK_FOLDER] if kind == "ALOI" else [folder / MASK_FOLDER]
    return ViewSet(kind, [p.stem for p in images], _turntable_cameras(images, preset, size), images,
                   _masks(images, lambda _p: dirs, str(folder)))


def _from_transforms(path: Path, opts: InputOptions, image_size: ImageSize) -> ViewSet:
    json_path = path / "transforms.json" if path.is_dir() else path
    cams, frames = load_transforms(json_path, image_size=image_size)
    images = [f.image for f in frames]
    missing = [p.name for p in images if not p.is_file()]
    if missing:
        raise InputError(f"{json_path.name} names {len(missing)} missing image(s), e.g. {missing[0]}")
    if opts.camera_source == "TURNTABLE":
        cams = _turntable_cameras(images, opts.turntable, (cams.width, cams.height))
    bad = [f.mask.name for f in frames if f.mask is not None and not f.mask.is_file()]
    if bad:
        raise InputError(f"{json_path.name} names {len(bad)} missing mask(s), e.g. {bad[0]}")
    masks: list[Path | None] = [f.mask for f in frames]
    if all(m is None for m in masks):
        masks = _masks(images, lambda p: [p.parent / MASK_FOLDER, json_path.parent / MASK_FOLDER],
                       str(json_path))
    return ViewSet("TRANSFORMS", [p.stem for p in images], cams, images, masks)


def _from_softras(path: Path, opts: InputOptions) -> ViewSet:
    """SoftRas files through the backend's own reader (`core/data/formats/softras.py`): the same
    unmirrored pixels, cameras (viewing angle 15) and checks as `softfit fit`."""
    fmt, where = detect(path)
    raw = softras.read_npz(where, opts.object_index) if fmt == "softras_npz" else softras.read_npy(where)
    pixels = np.stack([np.asarray(v.image) for v in raw.views])
    cams = raw.cameras
    if opts.camera_source == "TURNTABLE":
        unnamed = [Path(f"view{i}") for i in range(len(pixels))]
        cams = _turntable_cameras(unnamed, opts.turntable, (cams.width, cams.height))
    return ViewSet("SOFTRAS", [v.name for v in raw.views], cams, None, [None] * len(pixels), pixels)


def discover(opts: InputOptions, image_size: ImageSize) -> ViewSet:
    """The views of `opts.path`; InputError (one clear line) for anything unusable."""
    if not opts.path:
        raise InputError("choose an input folder or file first")
    if opts.kind not in KINDS:
        raise InputError(f"unknown input kind {opts.kind!r}")
    if opts.camera_source not in CAMERA_SOURCES:
        raise InputError(f"unknown camera source {opts.camera_source!r}")
    path = Path(opts.path).expanduser()
    kind = detect_kind(path) if opts.kind == "AUTO" else opts.kind
    if not path.exists():
        raise InputError(f"input not found: {path}")
    if kind == "TRANSFORMS":
        return _from_transforms(path, opts, image_size)
    if kind == "SOFTRAS":
        return _from_softras(path, opts)
    if not path.is_dir():
        raise InputError(f"{path} is not a folder")
    return _from_folder(path, kind, opts, image_size)

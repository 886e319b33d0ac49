"""The panel's input options -> the views of the input (no bpy), through the backend's own layout readers
(`core/data/layout.py`, shipped verbatim): the same files, masks, cameras and errors as `softfit fit`.

What is the add-on's own is only the panel's vocabulary: an input kind (AUTO or a layout the user insists
on), the camera source (the file's cameras, the turntable preset, or SfM placeholders) and the preset
itself. Image sizes are read by an injected function (Blender's loader; PIL in the tests)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from ..core.data.files import angle_from_name, detect
from ..core.data.formats.folder import turntable_cameras
from ..core.data.layout import read_views
from ..core.data.spec import TurntableSpec
from ..core.data.types import ImageSize, RawViews
from .errors import InputError

KINDS = ("AUTO", "TRANSFORMS", "ALOI", "FOLDER", "SOFTRAS")
KIND_OF = {"transforms": "TRANSFORMS", "softras": "SOFTRAS", "softras_npz": "SOFTRAS", "aloi": "ALOI",
           "folder": "FOLDER"}  # backend format name -> the panel's input kind
CAMERA_SOURCES = ("FILE", "TURNTABLE", "SFM")  # SFM: placeholders here, replaced by inputs.load
OWN_CAMERAS = ("TRANSFORMS", "SOFTRAS")


@dataclass(frozen=True)
class Turntable:
    """The turntable preset (`TurntableSpec`): view i at azimuth start + direction * a, where a is the
    `_r<angle>` of its file name, else 360 * i / N in file order; `fov_deg` spans the longer side."""

    distance: float = TurntableSpec.distance
    elevation_deg: float = TurntableSpec.elevation
    fov_deg: float = TurntableSpec.fov
    start_deg: float = TurntableSpec.start
    clockwise: bool = False

    def spec(self) -> TurntableSpec:
        return TurntableSpec(None, self.distance, self.elevation_deg, self.fov_deg, self.start_deg,
                             -1 if self.clockwise else 1)


@dataclass(frozen=True)
class InputOptions:
    path: str
    kind: str = "AUTO"
    camera_source: str = "FILE"
    turntable: Turntable = field(default_factory=Turntable)
    object_index: int = 0  # ShapeNet .npz archives hold several objects
    allow_outside_paths: bool = False  # a camera file may name images outside its folder (off: refused)


def _preset_cameras(vs: RawViews, preset: Turntable) -> RawViews:
    """The views of a layout with cameras of its own, on the turntable preset instead."""
    angles = [angle_from_name(v.name) for v in vs.views]
    named = [float(a) for a in angles if a is not None]
    cams = turntable_cameras(preset.spec(), len(vs.views), named if len(named) == len(angles) else None,
                             (vs.cameras.width, vs.cameras.height))
    return dataclasses.replace(vs, cameras=cams)


def discover(opts: InputOptions, image_size: ImageSize) -> RawViews:
    """The views of `opts.path`; InputError (one clear line) for anything unusable."""
    if not opts.path:
        raise InputError("choose an input folder or file first")
    if opts.kind not in KINDS:
        raise InputError(f"unknown input kind {opts.kind!r}")
    if opts.camera_source not in CAMERA_SOURCES:
        raise InputError(f"unknown camera source {opts.camera_source!r}")
    path = Path(opts.path).expanduser()
    if not path.exists():
        raise InputError(f"input not found: {path}")
    fmt, where = detect(path)
    if fmt == "colmap":  # read with pycolmap, which Blender's Python does not have
        raise InputError(f"{path.name} is a COLMAP project (its model in {where.relative_to(path)}), which "
                         "Blender cannot read: press Read with Backend (Input panel), and the backend writes "
                         "its views and cameras for the add-on")
    if fmt == "video":  # decoded with OpenCV, which Blender's Python does not have
        raise InputError(f"{where.name} is a video, which Blender cannot read: choose the SfM (or "
                         "turntable) camera source and press Read with Backend (Input panel): the backend "
                         "writes its frames and cameras for the add-on")
    found = KIND_OF[fmt]
    if opts.kind not in ("AUTO", found):
        raise InputError(f"{path} holds {found.lower()} data, not {opts.kind.lower()}: set the input kind to "
                         "Auto or choose another input")
    preset = opts.camera_source != "FILE"
    if found == "FOLDER" and not preset:
        raise InputError(f"{path} has no camera file: choose the turntable camera preset")
    cameras = opts.turntable.spec() if preset and found not in OWN_CAMERAS else None
    index = opts.object_index if fmt == "softras_npz" else None
    vs = read_views(path, image_size, cameras, index, opts.allow_outside_paths)
    return _preset_cameras(vs, opts.turntable) if preset and found in OWN_CAMERAS and \
        opts.camera_source == "TURNTABLE" else vs

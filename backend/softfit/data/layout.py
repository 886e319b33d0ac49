"""Which layout an input path has, and its reader: path + camera option -> `RawViews` (views and cameras
at the stored size, nothing decoded yet). numpy only: the Blender add-on ships this module and reads its
inputs through it; image sizes come from the caller's `size_of` (PIL here, Blender's loader there).

Layouts: a folder holding `transforms.json` or the file itself (`formats.transforms`; a NeRF synthetic
folder: its `transforms_train.json`); SoftRas `source.npy` + `camera.npy` or a `.npz` archive
(`formats.softras`, viewing angle 15 unless `cameras="softras:viewing_angle=DEG"`); an ALOI object folder
(`formats.aloi`); any other folder of images with a `turntable:...` spec or a transforms.json path
(`formats.folder`); `cameras="colmap:MODEL_DIR"` (`formats.colmap`, needs pycolmap: backend only)."""

from __future__ import annotations

from pathlib import Path

from ..cameras import SOFTRAS_DATA_VIEW_ANGLE_DEG
from ..errors import InputError
from .files import detect
from .formats import aloi, folder, softras, transforms
from .spec import TurntableSpec, parse_softras, parse_turntable
from .types import ImageSize, RawViews


def read_views(path: Path, size_of: ImageSize, cameras: str | TurntableSpec | None = None,
               object_index: int | None = None, allow_outside_paths: bool = False) -> RawViews:
    """Detect the layout of `path` and run its reader (`cameras`: a turntable spec, parsed or as text, a
    transforms.json, a softras or colmap option, or None for a layout's own cameras)."""
    path = path.expanduser()
    if not path.exists():
        raise InputError(f"input not found: {path}")
    if isinstance(cameras, TurntableSpec):
        return _read_layout(path, size_of, cameras, None, None, object_index, allow_outside_paths)
    view_angle = None
    if cameras is not None and str(cameras).strip().lower().startswith("softras"):
        view_angle, cameras = parse_softras(str(cameras)), None
    model = _colmap_model(cameras)
    if model is not None:
        from .formats import colmap  # pycolmap: the backend's only

        if object_index is not None:
            raise InputError(f"object_index applies to SoftRas .npz archives only, not to {path}")
        if not path.is_dir():
            raise InputError(f"cameras='colmap:DIR' needs the folder of the images, got {path}")
        return colmap.read(path, model, allow_outside_paths)
    spec, cam_json = _camera_option(cameras)
    return _read_layout(path, size_of, spec, cam_json, view_angle, object_index, allow_outside_paths)


def _read_layout(path: Path, size_of: ImageSize, spec: TurntableSpec | None, cam_json: Path | None,
                 view_angle: float | None, object_index: int | None, allow_outside_paths: bool) -> RawViews:
    fmt, where = ("transforms", cam_json) if cam_json is not None else detect(path)
    if view_angle is not None and fmt not in ("softras", "softras_npz"):
        raise InputError(f"cameras 'softras:...' apply to SoftRas source.npy/.npz data, not to {path}")
    if object_index is not None and fmt != "softras_npz":
        raise InputError(f"object_index applies to SoftRas .npz archives only, not to {path}")
    if spec is not None and fmt in ("transforms", "softras", "softras_npz", "colmap"):
        raise InputError(f"{path} has its own cameras ({fmt}); drop the cameras option")
    if fmt == "transforms":
        return transforms.read(where, allow_outside_paths, size_of)
    if fmt == "colmap":  # a COLMAP project: its images (or images/) and the model in sparse/0
        from .formats import colmap  # pycolmap: the backend's only

        return colmap.read(path, where, allow_outside_paths)
    if fmt in ("softras", "softras_npz"):
        angle = SOFTRAS_DATA_VIEW_ANGLE_DEG if view_angle is None else view_angle
        if fmt == "softras":
            return softras.read_npy(where, angle)
        return softras.read_npz(where, object_index, angle)
    if fmt == "aloi":
        return aloi.read(where, spec, size_of)
    if fmt == "video" and spec is not None:  # OpenCV: the backend's only
        from .formats import video

        return video.read(where, spec)
    if spec is None:
        what = "the frames of" if fmt == "video" else "the images in"
        raise InputError(f"no cameras for {what} {where}: estimate them from the photos with "
                         "cameras 'sfm' (structure from motion), read a COLMAP model with 'colmap:DIR', or "
                         "give a turntable 'turntable:views=N,distance=D,elevation=E,fov=F' (any subset) "
                         "or a transforms.json path")
    return folder.read(where, spec, size_of)


def _camera_option(cameras: str | None) -> tuple[TurntableSpec | None, Path | None]:
    if cameras is None:
        return None, None
    text = str(cameras).strip()
    if text.lower().startswith("turntable"):
        return parse_turntable(text), None
    p = Path(text).expanduser()
    if p.is_dir() and (p / "transforms.json").is_file():
        return None, p / "transforms.json"
    if p.suffix.lower() == ".json":
        if not p.is_file():
            raise InputError(f"camera file not found: {p}")
        return None, p
    return parse_turntable(text), None  # raises: unknown spec


def _colmap_model(cameras: str | None) -> Path | None:
    """The model folder of `colmap:DIR`, or None when `cameras` is not a COLMAP option."""
    if cameras is None:
        return None
    name, sep, rest = str(cameras).strip().partition(":")
    if name.strip().lower() != "colmap":
        return None
    if not sep or not rest.strip():
        raise InputError("cameras='colmap:DIR' needs the folder of a COLMAP sparse model (e.g. sparse/0)")
    return Path(rest.strip()).expanduser()

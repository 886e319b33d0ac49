"""SoftRas' demo data and its ShapeNet archives.

- `source.npy` (N, 4, H, W) uint8 RGBA with `camera.npy` (N, 3) rows of distance, elevation, azimuth
  in SoftRas' Y-up world (`softfit.cameras.from_softras` converts them);
- `<class>_<set>_images.npz` whose first array is (K, 24, 4, H, W) (or (K*24, 4, H, W)): K objects
  seen from 24 azimuths (SoftRas uses azimuth = -15 deg * view), elevation 30 deg, distance 2.732.

Both were rendered with `viewing_angle=15` (a 30 deg field of view; SoftRas' library default is 30): the
cameras are built with that angle unless the caller passes another.

SoftRas' camera has a left-handed image frame (its x axis is up x forward), so each of its images is
the left-right mirror of a pinhole render at the same pose: images are flipped horizontally here, once,
so they match the converted cameras. numpy only: the Blender add-on ships this reader
(`core/data/formats/softras.py`) and reads SoftRas data with it."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ...cameras import SOFTRAS_DATA_VIEW_ANGLE_DEG, SOFTRAS_DISTANCE, from_softras
from ...errors import InputError
from ..types import RawView, RawViews

NPZ_VIEWS = 24
NPZ_ELEVATION_DEG = 30.0
NPZ_AZIMUTH_STEP_DEG = -15.0  # SoftRas' datasets.py: get_points_from_angles(d, e, -view_id * 15)


def npz_camera_rows() -> np.ndarray:
    """(24, 3) SoftRas camera rows (distance, elevation, azimuth) of the ShapeNet archives."""
    az = NPZ_AZIMUTH_STEP_DEG * np.arange(NPZ_VIEWS)
    return np.stack([np.full(NPZ_VIEWS, SOFTRAS_DISTANCE), np.full(NPZ_VIEWS, NPZ_ELEVATION_DEG), az], 1)


def unmirror(rgba_chw: np.ndarray, source: str) -> np.ndarray:
    """(N, 4, H, W) SoftRas RGBA (uint8, or float in [0, 1]) -> (N, H, W, 4) uint8, flipped left-right."""
    a = np.asarray(rgba_chw)
    if a.ndim != 4 or a.shape[1] != 4 or a.shape[2] != a.shape[3] or a.shape[2] < 2:
        raise InputError(f"{source}: expected (N, 4, S, S) RGBA images, got shape {a.shape}")
    if a.dtype != np.uint8:
        if not np.issubdtype(a.dtype, np.floating) or not np.isfinite(a).all() or a.min() < 0 or a.max() > 1:
            raise InputError(f"{source}: images must be uint8 or floats in [0, 1], got {a.dtype}")
        a = (a * 255.0 + 0.5).astype(np.uint8)
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)[:, :, ::-1])


def _views(images: np.ndarray, source: str, names: list[str]) -> list[RawView]:
    return [RawView(n, images[i], f"{source}[{i}]") for i, n in enumerate(names)]


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise InputError(f"file not found: {path}") from None
    except (OSError, ValueError, EOFError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None


def read_npy(folder: Path, view_angle_deg: float = SOFTRAS_DATA_VIEW_ANGLE_DEG) -> RawViews:
    source, camera = folder / "source.npy", folder / "camera.npy"
    images = unmirror(_load_npy(source), str(source))
    rows = _load_npy(camera)
    if rows.ndim != 2 or rows.shape[1] != 3:
        raise InputError(f"{camera}: expected (N, 3) rows of distance, elevation, azimuth, got {rows.shape}")
    if len(rows) != len(images):
        raise InputError(f"{source} has {len(images)} images but {camera} has {len(rows)} cameras")
    cameras = from_softras(rows, image_size=images.shape[1], view_angle_deg=view_angle_deg)
    names = [f"view_{i:03d}" for i in range(len(images))]
    info = {"format": "softras", "source": str(folder), "mirrored": True, "viewing_angle": view_angle_deg}
    return RawViews(_views(images, str(source), names), cameras, info)


def read_npz(path: Path, object_index: int | None,
             view_angle_deg: float = SOFTRAS_DATA_VIEW_ANGLE_DEG) -> RawViews:
    """One object of an archive. Cameras: a (24, 3) `camera.npy` beside the archive when there is one
    (archives rendered at another distance), else SoftRas' fixed 24 views."""
    block, k, count = _read_npz_object(path, object_index)
    images = unmirror(block, str(path))
    rows, cam_source = npz_camera_rows(), "softras default"
    beside = path.parent / "camera.npy"
    if beside.is_file():
        found = _load_npy(beside)
        if found.shape == (NPZ_VIEWS, 3):
            rows, cam_source = found, str(beside)
    cameras = from_softras(rows, image_size=images.shape[1], view_angle_deg=view_angle_deg)
    names = [f"view_{i:02d}" for i in range(NPZ_VIEWS)]
    info = {"format": "softras_npz", "source": str(path), "mirrored": True, "viewing_angle": view_angle_deg,
            "object_index": k,
            "objects": count, "cameras": cam_source}
    return RawViews(_views(images, f"{path}[object {k}]", names), cameras, info)


def _read_npz_object(path: Path, object_index: int | None) -> tuple[np.ndarray, int, int]:
    """(24, 4, H, W) of one object read without loading the others, its index, and the object count."""
    try:
        with zipfile.ZipFile(path) as zf:
            members = [n for n in zf.namelist() if n.endswith(".npy")]
            if not members:
                raise InputError(f"{path}: archive holds no arrays")
            name = "arr_0.npy" if "arr_0.npy" in members else members[0]
            with zf.open(name) as fh:
                version = np.lib.format.read_magic(fh)
                readers = {(1, 0): np.lib.format.read_array_header_1_0,
                           (2, 0): np.lib.format.read_array_header_2_0}
                if version not in readers:
                    raise InputError(f"{path}: unsupported .npy version {version}")
                shape, fortran, dtype = readers[version](fh)
                if dtype.hasobject or fortran:
                    raise InputError(f"{path}: unsupported array layout ({dtype}, fortran={fortran})")
                if len(shape) == 5 and shape[1] == NPZ_VIEWS:
                    count, per = shape[0], shape[1:]
                elif len(shape) == 4 and shape[0] % NPZ_VIEWS == 0 and shape[0] > 0:
                    count, per = shape[0] // NPZ_VIEWS, (NPZ_VIEWS, *shape[1:])
                else:
                    raise InputError(f"{path}: expected images shaped (K, 24, 4, S, S), got {shape}")
                k = _object(path, object_index, count)
                nbytes = int(np.prod(per)) * dtype.itemsize
                fh.seek(fh.tell() + k * nbytes)
                data = fh.read(nbytes)
    except FileNotFoundError:
        raise InputError(f"file not found: {path}") from None
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    if len(data) != nbytes:
        raise InputError(f"{path} is truncated")
    return np.frombuffer(data, dtype=dtype).reshape(per), k, count


def _object(path: Path, object_index: int | None, count: int) -> int:
    if object_index is None:
        if count == 1:
            return 0
        raise InputError(f"{path} holds {count} objects: choose one with object_index (0..{count - 1})")
    if isinstance(object_index, bool) or not isinstance(object_index, int | np.integer):
        raise InputError(f"object_index must be a whole number, got {object_index!r}")
    if not 0 <= object_index < count:
        raise InputError(f"object_index {object_index} is out of range: {path} holds {count} objects")
    return int(object_index)

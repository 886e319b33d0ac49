"""Find every object under a batch root, in a stable order, each with a unique folder-safe name.

An object is: an ALOI object folder `png2/<obj>` (its dataset's own transforms.json is then not counted
again), a folder holding `transforms.json`, a SoftRas `source.npy` + `camera.npy` folder, a COLMAP project
(`images/` and the model in `sparse/0/`), one object
of a SoftRas/ShapeNet `.npz` archive (`arr_0` shaped (K, 24, 4, S, S)), or, when the batch gives plain
photos their cameras (`--cameras turntable:...` or `sfm`), a folder of photos (its masks/ beside them) or
a video file.
Hidden folders and the batch output folder are skipped; folders of plain photos without such a camera
option are named in a warning, never passed over in silence."""

from __future__ import annotations

import logging
import os
import re
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from softfit.data.files import MASK_FOLDERS, VIDEO_EXTS, colmap_model, list_images
from softfit.errors import InputError

log = logging.getLogger(__name__)

ALOI_IMAGE_DIR = "png2"
NPZ_VIEWS = 24
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class ObjectJob:
    """One object to fit: `load_dataset(path, object_index=...)`; name: its output folder's name;
    gt_mesh: a ground-truth mesh for the Chamfer distance, when the dataset has one."""

    name: str
    path: str
    kind: str
    object_index: int | None = None
    gt_mesh: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ObjectJob:
        return cls(**d)


def npz_object_count(path: Path) -> int:
    """Objects in a SoftRas/ShapeNet archive, from the array header only (the images are not read)."""
    try:
        with zipfile.ZipFile(path) as zf:
            name = "arr_0.npy" if "arr_0.npy" in zf.namelist() else None
            if name is None:
                raise InputError(f"{path}: no arr_0 array in the archive")
            with zf.open(name) as fh:
                version = np.lib.format.read_magic(fh)
                if version == (1, 0):
                    shape = np.lib.format.read_array_header_1_0(fh)[0]
                elif version == (2, 0):
                    shape = np.lib.format.read_array_header_2_0(fh)[0]
                else:
                    raise InputError(f"{path}: unsupported .npy version {version}")
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    if len(shape) == 5 and shape[1] == NPZ_VIEWS:
        return int(shape[0])
    if len(shape) == 4 and shape[0] % NPZ_VIEWS == 0:
        return int(shape[0]) // NPZ_VIEWS
    raise InputError(f"{path}: expected images shaped (K, 24, 4, S, S), got {shape}")


def _images(folder: Path) -> bool:
    return any(p.suffix.lower() in (".png", ".jpg", ".jpeg") for p in folder.iterdir() if p.is_file())


def _aloi_objects(dataset: Path) -> list[Path]:
    png = dataset / ALOI_IMAGE_DIR
    if not png.is_dir():
        return []
    return sorted(d for d in png.iterdir() if d.is_dir() and not d.name.startswith(".") and _images(d))


def _aloi_gt(dataset: Path, obj: Path, count: int) -> Path | None:
    """gt_meshes/<obj>.obj, or the dataset's gt_mesh.obj when it holds this one object only."""
    for cand in (dataset / "gt_meshes" / f"{obj.name}.obj", obj / "gt_mesh.obj"):
        if cand.is_file():
            return cand
    single = dataset / "gt_mesh.obj"
    return single if count == 1 and single.is_file() else None


def _npz_gt(archive: Path, k: int) -> Path | None:
    folder = archive.parent / "gt_meshes"
    found = sorted(folder.glob(f"{k:02d}_*.obj")) if folder.is_dir() else []
    return found[0] if len(found) == 1 else None


def _is_relative_to(p: Path, other: Path) -> bool:
    try:
        p.relative_to(other)
        return True
    except ValueError:
        return False


def discover(root: str | Path, exclude: str | Path | None = None, photos: bool = False) -> list[ObjectJob]:
    """Every object under `root` (see the module docstring); InputError when there is none. `photos`:
    folders of plain photos are objects too (the batch's camera option places them)."""
    root = Path(root).expanduser().absolute()
    if not root.exists():
        raise InputError(f"batch root not found: {root}")
    skip = Path(exclude).expanduser().absolute() if exclude is not None else None
    found: list[ObjectJob] = []

    def label(p: Path) -> str:
        rel = p.relative_to(root) if p != root else Path(root.name)
        return "__".join(rel.parts) or root.name

    if root.is_file():
        if root.suffix.lower() != ".npz":
            raise InputError(f"batch root must be a folder or a .npz archive, got {root}")
        dirs: list[tuple[Path, list[str], list[str]]] = []
        found += _npz_jobs(root, root.stem)
    else:
        dirs = [(Path(d), sorted(sub), sorted(files)) for d, sub, files in os.walk(root)]
    pruned: list[Path] = []
    plain: list[Path] = []  # folders of photos that no camera option places
    mixed: list[Path] = []  # photos beside sub-folders: whose photos they are is not clear
    for folder, subs, files in sorted(dirs, key=lambda x: str(x[0])):
        if any(_is_relative_to(folder, p) for p in pruned):
            continue
        if folder != root and folder.name.startswith("."):
            pruned.append(folder)
            continue
        if skip is not None and _is_relative_to(folder, skip):
            pruned.append(folder)
            continue
        aloi = _aloi_objects(folder)
        if aloi:
            base = "" if folder == root else label(folder) + "__"
            found += [ObjectJob(base + o.name, str(o), "aloi", gt_mesh=_str(_aloi_gt(folder, o, len(aloi))))
                      for o in aloi]
            pruned.append(folder)
            continue
        if "transforms.json" in files:
            gt = folder / "gt_mesh.obj"
            found.append(ObjectJob(label(folder), str(folder), "transforms",
                                   gt_mesh=_str(gt if gt.is_file() else None)))
            pruned.append(folder)
            continue
        if "source.npy" in files and "camera.npy" in files:
            found.append(ObjectJob(label(folder), str(folder), "softras"))
            pruned.append(folder)
            continue
        if colmap_model(folder) is not None:  # a COLMAP project: images/ and sparse/0/
            found.append(ObjectJob(label(folder), str(folder), "colmap"))
            pruned.append(folder)
            continue
        for f in files:
            if f.lower().endswith(".npz"):
                archive = folder / f
                found += _npz_jobs(archive, label(archive.with_suffix("")))
            elif Path(f).suffix.lower() in VIDEO_EXTS and not f.startswith("."):  # one filmed orbit each
                video = folder / f
                if photos:
                    found.append(ObjectJob(label(video.with_suffix("")), str(video), "video"))
                else:
                    plain.append(video)
        if folder.name not in MASK_FOLDERS and list_images(folder):
            if any(not d.startswith(".") and d not in MASK_FOLDERS for d in subs):
                mixed.append(folder)
            elif photos:
                found.append(ObjectJob(label(folder), str(folder), "folder"))
                pruned.append(folder)
            else:
                plain.append(folder)
    hints = []
    if plain:
        hints.append(f"{len(plain)} folder(s) of plain photos or video(s) ({_names(plain, root)}) have no "
                     "cameras: give the batch --cameras sfm (or turntable:...) to fit them")
    if mixed:
        hints.append(f"{len(mixed)} folder(s) hold photos beside sub-folders ({_names(mixed, root)}): move "
                     "each object's photos into a folder of their own")
    hint = "; ".join(hints)
    if not found:
        raise InputError(f"no objects found under {root}: expected ALOI png2/<obj> folders, folders with "
                         "transforms.json, SoftRas source.npy/camera.npy or .npz archives"
                         + (f"; {hint}" if hint else ""))
    if hint:
        log.warning("not fitted: %s", hint)
    return _unique(found)


def places_photos(cameras: str | None) -> bool:
    """A batch camera option that places each folder of plain photos: a turntable spec, or SfM."""
    return cameras is not None and str(cameras).strip().lower().split(":", 1)[0] in ("turntable", "sfm")


def _names(folders: list[Path], root: Path) -> str:
    shown = ", ".join(str(p.relative_to(root)) if p != root else root.name for p in folders[:3])
    return shown + (f" and {len(folders) - 3} more" if len(folders) > 3 else "")


def _npz_jobs(archive: Path, base: str) -> list[ObjectJob]:
    try:
        count = npz_object_count(archive)
    except InputError as exc:
        log.warning("skipping %s: %s", archive, exc)
        return []
    return [ObjectJob(f"{base}__{k:03d}", str(archive), "npz", k, _str(_npz_gt(archive, k)))
            for k in range(count)]


def _str(p: Path | None) -> str | None:
    return None if p is None else str(p)


def _unique(jobs: list[ObjectJob]) -> list[ObjectJob]:
    """Folder-safe names, made unique with -2, -3, ... in discovery order."""
    seen: set[str] = set()
    out = []
    for job in jobs:
        base = _UNSAFE.sub("_", job.name).strip("._") or "object"
        name, k = base, 2
        while name.lower() in seen:
            name, k = f"{base}-{k}", k + 1
        seen.add(name.lower())
        out.append(ObjectJob(name, job.path, job.kind, job.object_index, job.gt_mesh))
    return out

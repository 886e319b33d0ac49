"""Finding a view's files: which input layout a path holds (`detect`), which names are images, in which
order, where a view's mask lives, and the turntable angle a file name carries. Standard library only:
the Blender add-on ships this module (`core/data/files.py`) so both sides find the same files in the
same order."""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import InputError

# any case; phones' HEIC/HEIF (pillow-heif) and AVIF are the backend's (Blender's loader reads neither)
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".heic", ".heif", ".avif")
PHONE_EXTS = (".heic", ".heif", ".avif")
# Photo formats a capture may hold that PIL does not read here: cameras' raw files, Blender's float renders
UNREADABLE_EXTS = (".dng", ".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf", ".rw2", ".exr", ".hdr")
VIDEO_EXTS = (".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm")  # an orbit filmed, not photographed
MASK_FOLDERS = ("masks", "mask")  # a view's masks: in the first of these beside its image that exists
MASK_SUFFIXES = ("_mask", "-mask", ".mask")  # or named after the image: view_000_mask.png, here or there
ANGLE_SUFFIX = re.compile(r"_r(-?\d+(?:\.\d+)?)$")
ALOI_IMAGE_DIR = re.compile(r"png(\d*)$")  # ALOI: png2/<obj>/<obj>_r<angle>.png, masks in mask2/<obj>/


def natural_key(path: Path) -> list:
    """Sort key putting img2 before img10."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name)]


def is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTS and not path.name.startswith(".")


def list_images(folder: Path) -> list[Path]:
    """Image files directly inside `folder` (not hidden), in natural order; masks named after an image
    beside it (`view_000_mask.png` next to `view_000.png`) are that image's mask, not a view."""
    files = [p for p in folder.iterdir() if p.is_file() and is_image(p)]
    stems = {p.stem for p in files}
    return sorted((p for p in files if not _names_a_mask_of(p.stem, stems)), key=natural_key)


def _names_a_mask_of(stem: str, stems: set[str]) -> bool:
    return any(stem.endswith(sfx) and stem[:-len(sfx)] in stems for sfx in MASK_SUFFIXES)


def mask_folders(*parents: Path) -> list[Path]:
    """The folders that may hold masks for images in `parents` (MASK_FOLDERS inside each), in order."""
    return list(dict.fromkeys(p / name for p in parents for name in MASK_FOLDERS))


def find_mask(folders: list[Path], stem: str, beside: Path | None = None) -> Path | None:
    """The image's mask: named with its stem, or the stem plus a MASK_SUFFIXES suffix (any image
    extension), in the first of `folders` that has one; else one with a suffix in `beside` (the image's
    own folder)."""
    names = [stem] + [stem + sfx for sfx in MASK_SUFFIXES]
    places = [(f, names) for f in folders] + ([(beside, names[1:])] if beside is not None else [])
    for folder, candidates in places:
        for name in candidates:
            for ext in IMAGE_EXTS:
                for cand in (folder / (name + ext), folder / (name + ext.upper())):
                    if cand.is_file():
                        return cand
    return None


def angle_from_name(stem: str) -> float | None:
    """12_r35 -> 35.0, view_r-30 -> -30.0; None without an `_r<angle>` suffix."""
    m = ANGLE_SUFFIX.search(stem)
    return float(m.group(1)) if m else None


def sort_by_angle(files: list[Path]) -> tuple[list[Path], list[float] | None]:
    """Files ordered by their `_r<angle>` suffix, with the angles; file order and None without one."""
    angles = [angle_from_name(f.stem) for f in files]
    if any(a is None for a in angles):
        return files, None
    order = sorted(range(len(files)), key=lambda i: angles[i])  # type: ignore[arg-type, return-value]
    return [files[i] for i in order], [angles[i] for i in order]  # type: ignore[misc]


def is_aloi(folder: Path) -> bool:
    """An ALOI object folder: inside `png*/`, its images all named `<obj>_r<angle>`."""
    if not (folder.is_dir() and ALOI_IMAGE_DIR.fullmatch(folder.parent.name)):
        return False
    files = list_images(folder)
    return bool(files) and all(f.stem.startswith(folder.name + "_r") and angle_from_name(f.stem) is not None
                               for f in files)


def aloi_mask_folder(folder: Path) -> Path:
    """png2/<obj> -> mask2/<obj> (the same resolution suffix)."""
    m = ALOI_IMAGE_DIR.fullmatch(folder.parent.name)
    return folder.parent.parent / f"mask{m.group(1) if m else ''}" / folder.name


def image_files(folder: Path) -> list[Path]:
    """The folder's images; a clear error for an empty folder or one holding only sub-folders."""
    if not folder.is_dir():
        raise InputError(f"not a folder: {folder}")
    files = list_images(folder)
    foreign = sorted((p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                      and p.suffix.lower() in UNREADABLE_EXTS), key=natural_key)
    if foreign:  # never a fit of the rest: views taken in file order (a turntable's angles) would shift
        kinds = ", ".join(sorted({p.suffix.lower() for p in foreign}))
        more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        names = ", ".join(p.name for p in foreign[:3]) + more
        beside = f", or move them out of the folder ({len(files)} readable images beside them)" * bool(files)
        raise InputError(f"{folder} holds {len(foreign)} photo(s) in a format SoftFit cannot read ({kinds}: "
                         f"{names}): convert them to PNG or JPEG (16-bit PNG or TIFF keep the depth){beside}")
    if not files:
        subs = sorted(p.name for p in folder.iterdir() if p.is_dir() and list_images(p))
        videos = sorted(p.name for p in folder.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_EXTS)
        hint = f"; it holds image folders ({', '.join(subs[:5])}): pass one of them" if subs else ""
        if videos and not subs:
            hint = (f"; it holds {len(videos)} video(s) ({', '.join(videos[:3])}): pass one of them (its "
                    "frames, evenly spaced, are the views)")
        raise InputError(f"no images found in {folder}{hint}")
    return files


NERF_TRAIN_SPLIT = "transforms_train.json"  # beside transforms_val/test.json in NeRF's synthetic scenes
COLMAP_MODELS = ("sparse/0", "sparse")  # where a COLMAP project keeps its model (the first reconstruction)


def colmap_model(folder: Path) -> Path | None:
    """The sparse model of a COLMAP project folder (`images/` and `sparse/0/` as COLMAP lays them out),
    binary or text, or None."""
    for sub in COLMAP_MODELS:
        model = folder / sub
        if any((model / f"cameras{ext}").is_file() and (model / f"images{ext}").is_file()
               for ext in (".bin", ".txt")):
            return model
    return None


def detect(path: Path) -> tuple[str, Path]:
    """(format name, the path its reader takes)."""
    if path.is_file():
        name, suffix = path.name.lower(), path.suffix.lower()
        if suffix == ".json":
            return "transforms", path
        if suffix == ".npz":
            return "softras_npz", path
        if name in ("source.npy", "camera.npy"):
            return "softras", path.parent
        if suffix in IMAGE_EXTS:
            raise InputError(f"{path} is a single image: pass the folder holding all the views")
        if suffix in VIDEO_EXTS:
            return "video", path
        raise InputError(f"unknown input layout: {path} (expected a folder of images, a video, "
                         "transforms.json, SoftRas source.npy/camera.npy or a .npz archive)")
    if (path / "transforms.json").is_file():
        return "transforms", path / "transforms.json"
    if (path / NERF_TRAIN_SPLIT).is_file():  # the NeRF synthetic layout: fit the training split
        return "transforms", path / NERF_TRAIN_SPLIT
    if (path / "source.npy").is_file() and (path / "camera.npy").is_file():
        return "softras", path
    model = colmap_model(path)
    if model is not None:
        return "colmap", model
    archives = sorted(path.glob("*.npz"))
    if len(archives) == 1 and not list_images(path):
        return "softras_npz", archives[0]
    if len(archives) > 1 and not list_images(path):
        raise InputError(f"{path} holds {len(archives)} .npz archives: pass one of them")
    if is_aloi(path):
        return "aloi", path
    videos = [p for p in path.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_EXTS]
    if len(videos) == 1 and not list_images(path):
        return "video", videos[0]
    image_files(path)  # raises a helpful error when there are no images
    return "folder", path

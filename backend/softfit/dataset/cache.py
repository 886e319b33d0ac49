"""The rendered-dataset cache shared by `softfit demo` and `softfit bench fit`: each dataset is rendered by
`softfit dataset render` in a subprocess (one `bpy` per process, and a Blender crash cannot take the
caller with it) into a folder keyed by the render options, so later runs start fitting at once.

Photoreal scenes (`softfit.dataset.suite`) are cached the same way by `cached_scene(name, root)`: Cycles
takes seconds per view, so each scene is rendered once into `root/scenes/<name>-<key>`, the key hashing the
scene's full specification, SCENE_FORMAT and the SoftFit version (a changed scene is rendered afresh)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from softfit.atomic import swap_folder
from softfit.errors import InputError

# The default dataset: Blender's Suzanne, 72 views on three rings (elevations 10/35/60 deg, 24 azimuths
# each) at 256x256, transparent background; scaled so the head fills about half of the frame, as a
# photographer would frame it (at scale 1 it covers only a third of the image width).
DEFAULT_DATASET = {"source": "suzanne", "views": 72, "cameras": "rings", "size": 256, "scale": 1.6}


def cache_root(explicit: str | None = None) -> Path:
    """--cache, else $SOFTFIT_CACHE, else $XDG_CACHE_HOME/softfit or ~/.cache/softfit."""
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get("SOFTFIT_CACHE"):
        return Path(os.environ["SOFTFIT_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "softfit"


_SPEC_VALUES = ("background", "engine", "texture", "finish", "samples")
_SPEC_KEYS = {"source", "views", "cameras", "size", "scale", "offset", "plates", *_SPEC_VALUES}


def render_command(spec: dict, out: Path) -> list[str]:
    """The `softfit dataset render` command line of `spec`; a key it would not pass on is an error, so a
    cached dataset never silently lacks what its spec (and its cache key) asks for."""
    unknown = sorted(set(spec) - _SPEC_KEYS)
    if unknown:
        raise ValueError(f"dataset spec key(s) with no render option: {', '.join(unknown)}")
    return [sys.executable, "-m", "softfit", "dataset", "render", spec["source"], "--out", str(out),
            "--views", str(spec["views"]), "--cameras", spec["cameras"], "--size", str(spec["size"]),
            "--scale", f"{spec['scale']:g}", *(["--offset", spec["offset"]] if spec.get("offset") else []),
            *[a for k in _SPEC_VALUES if k in spec for a in (f"--{k}", str(spec[k]))],
            *(["--plates"] if spec.get("plates") else [])]


def cache_folder(spec: dict, cache: Path) -> Path:
    """Where the dataset rendered for `spec` lives in `cache` (keyed by the spec and softfit's version)."""
    from softfit import __version__

    key = hashlib.sha256(json.dumps({**spec, "softfit": __version__}, sort_keys=True).encode()).hexdigest()
    return Path(cache) / "datasets" / f"{spec['source']}-{key[:12]}"


def cached_dataset(spec: dict, cache: Path, quiet: bool = False) -> Path:
    """The rendered dataset for `spec`, rendering it into the cache on first use."""
    folder = cache_folder(spec, cache)
    if (folder / "transforms.json").is_file() and (folder / "gt_mesh.obj").is_file():
        return folder
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.tmp-"))
    except OSError as exc:
        raise InputError(f"cannot write the dataset cache {folder.parent}: {exc.strerror or exc}") from exc
    try:
        render_out = tmp / "data"
        if not quiet:
            print(f"rendering the demo dataset with Blender into {folder} (first run only) ...", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run(render_command(spec, render_out), capture_output=True, text=True)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            raise InputError("rendering the demo dataset failed: " + " | ".join(tail))
        swap_folder(render_out, folder)
        if not quiet:
            print(f"rendered {spec['views']} views in {time.perf_counter() - t0:.1f} s", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


SCENE_FORMAT = 1  # bump when the photoreal renderer changes what a given spec looks like


def scene_folder(name: str, root: Path, **overrides) -> Path:
    """Where `cached_scene` keeps the scene (`overrides`: views, size, samples, seed)."""
    from softfit import __version__
    from softfit.dataset.suite import scene_spec

    spec = scene_spec(name, **overrides)
    key = json.dumps({"scene": spec.to_dict(), "softfit": __version__, "format": SCENE_FORMAT},
                     sort_keys=True)
    return Path(root) / "scenes" / f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def cached_scene(name: str, root: Path, quiet: bool = True, **overrides) -> Path:
    """The rendered scene folder, rendering it on first use (see `softfit.dataset.render.render_scene`)."""
    from softfit.dataset.render import render_scene

    folder = scene_folder(name, root, **overrides)
    if (folder / "dataset.json").is_file():
        return folder
    if not quiet:
        print(f"rendering scene {name} with Cycles into {folder} (first use only) ...", flush=True)
    return render_scene(name, folder, force=True, **overrides)

"""Rendered photoreal scenes cached on disk: `cached_scene(name, root)` renders a scene once (Cycles takes
seconds per view) into `root/scenes/<name>-<key>` and returns the folder afterwards. The key hashes the
scene's full specification and the SoftFit version, so a changed scene is rendered afresh."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from softfit.dataset.suite import scene_spec

SCENE_FORMAT = 1  # bump when the photoreal renderer changes what a given spec looks like


def scene_folder(name: str, root: Path, **overrides) -> Path:
    """Where `cached_scene` keeps the scene (`overrides`: views, size, samples, seed)."""
    from softfit import __version__

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

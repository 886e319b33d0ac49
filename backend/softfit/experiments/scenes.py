"""Ground-truth scenes for the experiments: rendered once with Blender (`softfit.dataset`) into a work
folder and reused while their options stay the same, then loaded at the working image size."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from softfit.data.load import load_dataset
from softfit.data.types import MultiViewData
from softfit.dataset.render import render_dataset
from softfit.mesh.io import load_mesh
from softfit.mesh.types import Mesh

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Scene:
    """One rendered dataset: `key` names its folder; `options` are `render_dataset` keyword options."""

    key: str
    source: str
    options: dict = field(default_factory=dict)

    def describe(self) -> str:
        """The `softfit dataset render` command that makes this scene (for the report)."""
        parts = [f"softfit dataset render {self.source} --out DIR"]
        for k, v in self.options.items():
            if isinstance(v, tuple | list):
                v = ",".join(f"{x:g}" if isinstance(x, float) else str(x) for x in v)
            parts.append(f"--{k.replace('_', '-')} {v}")
        return " ".join(parts)


def render(work: Path, scene: Scene) -> Path:
    """The scene's dataset folder under `work`, rendered unless an identical render is already there."""
    out = work / scene.key
    stamp = work / f"{scene.key}.options.json"
    want = json.dumps({"source": scene.source, **scene.options}, sort_keys=True, default=list)
    if out.is_dir() and stamp.is_file() and stamp.read_text() == want:
        return out
    log.info("rendering %s", scene.key)
    stamp.unlink(missing_ok=True)
    render_dataset(scene.source, out, force=True, **scene.options)
    stamp.write_text(want)
    return out


def load(path: Path, size: int | None, silhouette: str = "mask", cameras: str | None = None) -> MultiViewData:
    """The dataset at `path` with silhouettes from the exact masks (or alpha) by default."""
    return load_dataset(path, cameras=cameras, silhouette=silhouette, image_size=size)


def gt_mesh(path: Path) -> Mesh:
    return load_mesh(path / "gt_mesh.obj")


def empty_twin(work: Path, scene: Scene, floor_z: float) -> Scene:
    """The same scene without the object, for the backdrop-difference method (a photo of the empty
    scene taken with the same cameras and light). The renderer always places an object and puts the
    floor under it, so the twin holds a 10 µm speck at the original object's lowest point: the floor
    stays where it was and the speck covers no pixel."""
    opts = {**scene.options, "scale": 1e-5, "offset": (0.0, 0.0, float(floor_z))}
    return Scene(f"{scene.key}_empty", scene.source, opts)


def read_images(path: Path) -> np.ndarray:
    """(N, H, W, 3) uint8 images of a transforms-layout dataset at their stored size, read as they are
    (the loader would refuse the empty twin's empty masks)."""
    from PIL import Image

    from softfit.cameras import load_transforms

    _, frames = load_transforms(path / "transforms.json")
    return np.stack([np.asarray(Image.open(f.image).convert("RGB")) for f in frames])

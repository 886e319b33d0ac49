"""Reading a transforms.json inside Blender: the shared camera code (`core.cameras`, the backend's
`softfit.cameras` shipped verbatim) with image sizes measured by an injected function, since the
backend's own reader measures them with PIL, which Blender lacks.

Everything else about cameras (`Cameras`, `turntable`, `from_softras`, `transforms_dict`,
`blender_camera_settings`) is used from `core.cameras` directly.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from .core.cameras import Cameras, Frame, parse_transforms, resolve_frame_path
from .errors import InputError


def load_transforms(path: Path, image_size: Callable[[Path], tuple[int, int]]
                    ) -> tuple[Cameras, list[Frame]]:
    """Cameras and frames of a transforms.json; `image_size(path)` gives (w, h) of frames whose size the
    file does not state. Views of other sizes are rescaled to the first frame's size."""
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise InputError(f"camera file not found: {path}") from exc
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not a readable JSON file: {exc}") from exc
    frames = meta.get("frames") if isinstance(meta, dict) else None
    if isinstance(frames, list) and not ("w" in meta and "h" in meta):
        meta = {**meta, "frames": [_with_size(fr, path.parent, image_size) for fr in frames]}
    return parse_transforms(meta, path.parent, str(path))


def _with_size(frame: object, base: Path, image_size: Callable[[Path], tuple[int, int]]) -> object:
    """The frame with w and h from its image where it lacks them (anything malformed is left for
    `parse_transforms` to report)."""
    if not isinstance(frame, dict) or ("w" in frame and "h" in frame) or "file_path" not in frame:
        return frame
    w, h = image_size(resolve_frame_path(base, str(frame["file_path"])))
    return {**frame, "w": w, "h": h}

"""A video of the object (an orbit filmed with a phone, a turntable filmed turning once): evenly spaced
frames are the views, as if photographed.

Frames are taken at equal steps over the whole video, the last step ending where the first began (a
turntable's turn: frame i at azimuth 360 i / K, as a folder's photos in file order), K = the turntable
spec's `views`, else `DEFAULT_FRAMES`. The frames are decoded in order (seeking is not frame-exact for
every codec) and kept in memory, at most `MAX_SIDE` pixels long (a fit works on a few hundred; the
texture reads at most 1 024). OpenCV (FFmpeg) reads the file and applies its rotation tag. A video has
no masks and no cameras: they come from segmentation and from `--cameras sfm` or a turntable spec."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import InputError
from ..spec import TurntableSpec
from ..types import RawView, RawViews
from .folder import turntable_cameras

DEFAULT_FRAMES = 48  # views from a video unless the turntable spec says how many
MAX_SIDE = 1920  # longest side of a kept frame (a 4K video's 48 frames would take 1.2 GB)


def _frame_count(cap) -> int:
    import cv2

    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    if total > 0:
        return total
    total = 0  # the container does not say: count the frames by grabbing them all
    while cap.grab():
        total += 1
    cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
    return total


def _rgb(frame: np.ndarray) -> np.ndarray:
    import cv2

    h, w = frame.shape[:2]
    s = MAX_SIDE / max(h, w)
    if s < 1.0:
        frame = cv2.resize(frame, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(frame[..., ::-1])


def _open(path: Path):
    import cv2

    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        cap.release()
        raise InputError(f"cannot read the video {path.name}: OpenCV could not open it (extract frames "
                         f"with ffmpeg -i {path.name} -vf fps=2 frames/%04d.png and pass that folder)")
    return cap


def _frames(path: Path, total: int, k: int) -> tuple[list[int], list[np.ndarray], int]:
    """(the k frame indices at equal steps over `total` frames, those frames, the frames the file held
    up to the last one taken, or all of them when it ended first)."""
    wanted = [int(i * total / k) for i in range(k)]
    frames: list[np.ndarray] = []
    index = 0
    cap = _open(path)
    try:
        while len(frames) < k and cap.grab():
            if index == wanted[len(frames)]:
                ok, frame = cap.retrieve()
                if not ok:
                    raise InputError(f"the video {path.name}: frame {index} cannot be decoded")
                frames.append(_rgb(frame))
            index += 1
    finally:
        cap.release()
    return wanted, frames, index


def read(path: Path, spec: TurntableSpec) -> RawViews:
    """The views of the video at `path`, on the turntable `spec` (SfM replaces these cameras when asked).

    A container's frame count is an estimate (duration x frame rate); a phone's variable-rate video can
    hold fewer frames than it declares. When the file ends before the last frame wanted, the frames are
    chosen again over the count found."""
    cap = _open(path)
    try:
        total = _frame_count(cap)
    finally:
        cap.release()
    k = spec.views if spec.views is not None else min(DEFAULT_FRAMES, total)
    if total < max(k, 2):
        raise InputError(f"the video {path.name} has {total} frame(s): too few for {max(k, 2)} views")
    wanted, frames, found = _frames(path, total, k)
    declared = total
    if len(frames) < k:  # the file ended first: choose again over the frames it holds
        total = found
        k = spec.views if spec.views is not None else min(DEFAULT_FRAMES, total)
        if total >= max(k, 2):
            wanted, frames, found = _frames(path, total, k)
    if len(frames) < k or k < 2:
        raise InputError(f"the video {path.name} holds {found} frame(s) (it declares {declared}): too few "
                         f"for {max(k, 2)} views, or it is cut short or damaged")
    h, w = frames[0].shape[:2]
    views = [RawView(f"frame_{i:05d}", f, f"{path.name} frame {i}")
             for i, f in zip(wanted, frames, strict=True)]
    cameras = turntable_cameras(spec, k, None, (w, h))
    info = {"format": "video", "source": str(path), "video_frames": total, "frames": wanted,
            "azimuth_from": "frame order", "azimuths": [float(a) for a in spec.azimuths(k, None)]}
    if declared != total:
        info["declared_frames"] = declared
    return RawViews(views, cameras, info)

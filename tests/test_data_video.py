"""A video as input: evenly spaced frames are the views (a phone orbit, a turntable filmed turning once).

It used to be refused with "extract frames with ffmpeg first"."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from init_support import BACKDROP, iou, load_views

from softfit.cli import main
from softfit.data.load import load_dataset, read_views
from softfit.errors import InputError
from softfit.mesh.io import load_mesh
from softfit.metrics import view_iou

SPEC = "turntable:distance=2.732,elevation=15,fov=60"  # how the BACKDROP scene's ring of views was rendered


def write_video(path, frames: np.ndarray, fps: float = 12.0) -> None:
    """RGB frames (N, H, W, 3) as an MPEG-4 file, as a phone would save them."""
    h, w = frames.shape[1:3]
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    assert out.isOpened()
    for f in frames:
        out.write(np.ascontiguousarray(f[..., ::-1]))
    out.release()


def test_frames_are_evenly_spaced_in_order_and_in_rgb(tmp_path):
    n = 96
    frames = np.repeat((20 + 2 * np.arange(n, dtype=np.uint8))[:, None, None, None], 3, 3)
    frames = np.ascontiguousarray(np.broadcast_to(frames, (n, 48, 64, 3)))  # grey level: which frame
    frames[:, :16, :16] = (255, 0, 0)  # red top left, blue top right: the channel order
    frames[:, :16, -16:] = (0, 0, 255)
    write_video(tmp_path / "orbit.mp4", frames)
    vs = read_views(tmp_path / "orbit.mp4", "turntable")
    assert len(vs.views) == 48 and vs.info["format"] == "video" and vs.info["video_frames"] == n
    assert vs.info["frames"] == list(range(0, n, 2)) and vs.views[5].name == "frame_00010"
    grey = [float(v.image[32:, 16:48].mean()) for v in vs.views]
    # frame 2i, in order: its level within a level (a frame off by one is two levels off), once the
    # codec's small constant offset (limited-range YUV) is taken out
    off = grey - (20 + 2 * np.arange(0, n, 2))
    assert abs(np.median(off)) < 4 and np.abs(off - np.median(off)).max() < 1.5, off
    for v in vs.views:
        left, right = v.image[2:14, 2:14].mean((0, 1)), v.image[2:14, -14:-2].mean((0, 1))
        assert left[0] > 200 > left[2] and right[2] > 200 > right[0]  # RGB, not OpenCV's BGR
    assert (vs.cameras.width, vs.cameras.height) == (64, 48)
    twelve = read_views(tmp_path, "turntable:views=12")  # a folder holding one video reads as that video
    assert twelve.info["frames"] == list(range(0, n, 8))
    az = twelve.info["azimuths"]
    assert az[0] == 0.0 and az[1] == pytest.approx(30.0)  # one turn over the video


def test_bad_videos_say_what_is_wrong(tmp_path):
    (tmp_path / "broken.mp4").write_bytes(b"not a video at all" * 100)
    with pytest.raises(InputError, match="cannot read the video broken.mp4"):
        read_views(tmp_path / "broken.mp4", "turntable")
    write_video(tmp_path / "short.mp4", np.zeros((4, 32, 32, 3), np.uint8))
    with pytest.raises(InputError, match="short.mp4 has 4 frame.*too few for 12 views"):
        read_views(tmp_path / "short.mp4", "turntable:views=12")
    with pytest.raises(InputError, match="no cameras for the frames of .*short.mp4.*'sfm'"):
        read_views(tmp_path / "short.mp4")


def test_a_filmed_turntable_is_segmented_and_fitted(render_dataset_cached, tmp_path, capsys):
    src = render_dataset_cached(**BACKDROP)
    images, truth, cams = load_views(src)
    write_video(tmp_path / "turn.mp4", images)
    data = load_dataset(tmp_path / "turn.mp4", cameras=SPEC, image_size=None)
    np.testing.assert_allclose(data.cameras.c2w, cams.c2w, atol=1e-6)  # the ring the photos were taken on
    assert data.info["silhouette"] == "segment" and len(data) == len(cams)
    assert iou(data.silhouettes >= 0.5, truth).mean() > 0.85  # segmented from the decoded frames
    out = tmp_path / "out"
    assert main(["fit", str(tmp_path / "turn.mp4"), "--cameras", SPEC, "--out", str(out), "--iterations",
                 "120", "--polys", "800", "--image-size", "96", "--no-texture"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    size = m["image_size"]
    small = np.stack([cv2.resize(t.astype(np.float32), tuple(size), interpolation=cv2.INTER_AREA)
                      for t in truth])
    true_iou = view_iou(load_mesh(out / "mesh.obj"), small, cams.resized(*size)).mean()
    assert true_iou > 0.85, true_iou  # against the true masks, which the fit never saw
    assert "auto chose multiview" in capsys.readouterr().out

    # `softfit views`: the same views as RGBA files + transforms.json, which the add-on can read. The alpha
    # is the segmentation's, and a fit from the files still says its IoU is agreement, not accuracy.
    views = tmp_path / "views"
    assert main(["views", str(tmp_path / "turn.mp4"), "--cameras", SPEC, "--out", str(views)]) == 0
    assert "agreement with the segmentation, not accuracy" in capsys.readouterr().out
    again = load_dataset(views, image_size=None)
    assert again.info["silhouette"] == "alpha" and again.info["segmentation"]["method"] == "multiview"
    np.testing.assert_allclose(again.cameras.c2w, data.cameras.c2w, atol=1e-6)
    assert iou(again.silhouettes >= 0.5, data.silhouettes >= 0.5).min() > 0.99  # the masks, as segmented
    assert np.abs(again.images.astype(int) - data.images).max() <= 1
    assert main(["fit", str(views), "--out", str(tmp_path / "refit"), "--iterations", "30", "--image-size",
                 "96", "--no-texture", "--quiet"]) == 0
    refit = json.loads((tmp_path / "refit" / "metrics.json").read_text())
    assert "agreement with the segmentation, not accuracy" in refit["iou_against"]


def test_a_video_holding_fewer_frames_than_it_declares_is_read_over_what_it_holds(tmp_path, monkeypatch):
    """A phone's variable-rate video declares duration x rate frames, often more than it holds: the frames
    are chosen again over the count found, not refused as "cut short"."""
    from softfit.data.formats import video

    frames = np.repeat((20 + 4 * np.arange(40, dtype=np.uint8))[:, None, None, None], 3, 3)
    write_video(tmp_path / "vfr.mp4", np.ascontiguousarray(np.broadcast_to(frames, (40, 32, 32, 3))))
    monkeypatch.setattr(video, "_frame_count", lambda cap: 52)  # the container's estimate, stood in for
    vs = read_views(tmp_path / "vfr.mp4", "turntable:views=10")
    assert vs.info["video_frames"] == 40 and vs.info["declared_frames"] == 52
    assert vs.info["frames"] == list(range(0, 40, 4))  # evenly over the 40 it holds, not over 52
    grey = np.array([float(v.image.mean()) for v in vs.views])
    off = grey - (20 + 4 * np.arange(0, 40, 4))
    assert np.abs(off - np.median(off)).max() < 2.5, off
    every = read_views(tmp_path / "vfr.mp4", "turntable")  # no views given: as many as it holds, up to 48
    assert len(every.views) == 40 and every.info["frames"] == list(range(40))
    monkeypatch.setattr(video, "_frame_count", lambda cap: 400)
    with pytest.raises(InputError, match="holds 40 frame.*declares 400.*too few for 48 views"):
        read_views(tmp_path / "vfr.mp4", "turntable:views=48")

"""The output folder: atomic replacement, JSON safety, overlay colours, and a complete report that parses."""

import json

import numpy as np
import pytest
from PIL import Image

from softfit.cameras import turntable
from softfit.data.types import MultiViewData
from softfit.errors import InputError
from softfit.fit import FitResult
from softfit.mesh.io import load_mesh
from softfit.mesh.sphere import uv_sphere
from softfit.metrics import render_silhouettes
from softfit.report import atomic_folder, check_output_dir, json_safe, write_report
from softfit.report.plots import BOTH, FIT_ONLY, NEITHER, TARGET_ONLY, overlay_image, pick_views


def test_atomic_folder_appears_complete_or_not_at_all(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(RuntimeError), atomic_folder(out) as tmp:
        (tmp / "half.txt").write_text("x")
        raise RuntimeError("crash while writing")
    assert not out.exists() and list(tmp_path.iterdir()) == []
    with atomic_folder(out) as tmp:
        (tmp / "a.txt").write_text("1")
    assert (out / "a.txt").read_text() == "1" and [p.name for p in tmp_path.iterdir()] == ["out"]
    assert oct((out / "a.txt").stat().st_mode & 0o777) != oct(0o600)
    with pytest.raises(InputError, match="not empty"), atomic_folder(out):
        pass
    with pytest.raises(ValueError), atomic_folder(out, force=True) as tmp:  # failed replace keeps the old
        raise ValueError
    assert (out / "a.txt").read_text() == "1"
    with atomic_folder(out, force=True) as tmp:
        (tmp / "b.txt").write_text("2")
    assert sorted(p.name for p in out.iterdir()) == ["b.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_output_that_cannot_be_a_folder(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(InputError, match="not a folder"):
        check_output_dir(f)
    with pytest.raises(InputError, match="cannot write"):
        check_output_dir(f / "below")
    (tmp_path / "empty").mkdir()
    assert check_output_dir(tmp_path / "empty") == tmp_path / "empty"  # an empty folder is fine


def test_json_safe():
    d = json_safe({"a": np.float32(1.5), "b": [np.int64(2), float("nan")], "c": np.arange(2),
                   3: float("inf")})
    assert d == {"a": 1.5, "b": [2, None], "c": [0, 1], "3": None}
    json.dumps(d, allow_nan=False)


def test_overlay_colours_and_view_choice():
    t = np.array([[1, 1], [0, 0]], dtype=np.float32)
    f = np.array([[1, 0], [1, 0]], dtype=np.float32)
    img = overlay_image(t, f)
    assert [tuple(img[0, 0]), tuple(img[0, 1]), tuple(img[1, 0]), tuple(img[1, 1])] == [
        BOTH, TARGET_ONLY, FIT_ONLY, NEITHER]
    views = pick_views(72, [3, 40, 70], limit=12)
    assert {3, 40, 70} <= set(views) and len(views) == 12


def test_write_report_writes_everything_that_parses(tmp_path):
    target = uv_sphere(200, 0.5)
    cams = turntable(np.arange(8) * 45.0, width=48, height=40)
    data = MultiViewData(render_silhouettes(target, cams), cams, [f"v{i}" for i in range(8)])
    fitted = uv_sphere(200, 0.45)
    metrics = {"iterations": 3, "stop_reason": "completed", "fit_time": 0.1, "device": "cpu",
               "train_iou": 0.9, "heldout_iou": float("nan"), "heldout_views": [2, 6],
               "history": {"iteration": [0, 1, 2], "loss": [0.5, 0.4, 0.3], "iou": [0.5, 0.6, 0.7],
                           "size": [24, 48, 48], "terms": {"silhouette": [0.5, 0.4, 0.3]}}}
    out = write_report(tmp_path / "r", FitResult(fitted, metrics), data, turntable=True)
    m = json.loads((out / "metrics.json").read_text())
    assert m["heldout_iou"] is None and m["iterations"] == 3
    assert np.allclose(load_mesh(out / "mesh.obj").verts, fitted.verts, atol=1e-6)
    assert json.loads((out / "cameras.json").read_text())["frames"][0]["file_path"] == "v0"
    for name in ("loss.png", "overlays.png"):
        with Image.open(out / name) as im:
            assert im.format == "PNG" and im.width > 300
    with Image.open(out / "turntable.gif") as gif:
        assert gif.n_frames == 36
        # The shaded mesh is drawn: frames are not just the background.
        assert len(np.unique(np.asarray(gif.convert("RGB")))) > 2

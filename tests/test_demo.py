"""`softfit demo` at a reduced size: renders with Blender into its cache once, fits, reports, and can be
run again into the same folder."""

import json

import numpy as np
import pytest

from softfit.cli import main
from softfit.data.load import load_dataset
from softfit.dataset.cache import cache_root
from softfit.init import make_initial_mesh
from softfit.mesh.io import load_mesh
from softfit.metrics import view_iou

pytestmark = pytest.mark.slow  # minutes, not seconds: `make test-fast` leaves it out, CI runs it

SMALL = ["--views", "12", "--size", "64", "--iterations", "60", "--no-turntable", "--polys", "500"]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    return root


def test_demo_renders_once_fits_and_reports(demo_run, capsys):
    out, cache = demo_run / "out" / "demo", demo_run / "cache"
    assert main(["demo", "--out", str(out), "--cache", str(cache), *SMALL]) == 0
    text = capsys.readouterr().out
    assert "rendering the demo dataset" in text and "held-out IoU" in text and "Chamfer" in text
    assert str(out / "overlays.png") in text
    m = json.loads((out / "metrics.json").read_text())
    assert m["input"]["dataset"]["views"] == 12 and m["chamfer"]["chamfer_rel"] is not None
    # 64 px, 60 steps from the visual hull (IoU 0.92 on all views): measured held-out IoU 0.95.
    assert m["input"]["init"] == "hull" and m["heldout_iou"] > 0.93
    assert m["input"]["init_hull_max_misses"] == 0  # rendered alpha is trusted: a strict hull
    data = load_dataset(m["input"]["data"], image_size=64)
    start = view_iou(make_initial_mesh("hull", data, 500), data.silhouettes, data.cameras).mean()
    assert m["train_iou"] > start + 0.02
    # The mesh written is the mesh scored.
    written = view_iou(load_mesh(out / "mesh.obj"), data.silhouettes, data.cameras)
    assert np.mean(written) == pytest.approx(np.mean(m["train_iou_per_view"] + m["heldout_iou_per_view"]),
                                             abs=1e-3)
    datasets = list((cache / "datasets").iterdir())
    assert len(datasets) == 1 and (datasets[0] / "transforms.json").is_file()

    # Again into the same folder: the previous demo result is replaced, the dataset comes from the cache.
    (out / "marker").write_text("old")
    assert main(["demo", "--out", str(out), "--cache", str(cache), "--quiet", *SMALL]) == 0
    assert not (out / "marker").exists() and (out / "mesh.obj").is_file()
    assert list((cache / "datasets").iterdir()) == datasets


def test_demo_will_not_replace_a_foreign_folder(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep")
    assert main(["demo", "--out", str(out), "--cache", str(tmp_path / "c"), "--quiet", *SMALL]) == 2
    assert "not empty" in capsys.readouterr().err
    assert (out / "notes.txt").read_text() == "keep" and not (tmp_path / "c").exists()


def test_cache_root_order(monkeypatch, tmp_path):
    monkeypatch.setenv("SOFTFIT_CACHE", str(tmp_path / "env"))
    assert cache_root(str(tmp_path / "x")) == tmp_path / "x"
    assert cache_root() == tmp_path / "env"
    monkeypatch.delenv("SOFTFIT_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "softfit"

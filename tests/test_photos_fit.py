"""`softfit fit` on photos alone (no alpha, no masks): `--silhouette auto` segments them with the cameras,
says what it chose and why, labels every IoU against the segmentation as agreement, and the fit is
scored here against the renderer's TRUE masks, which the fit never sees."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from init_support import BACKDROP, load_views

from softfit.cli import main
from softfit.mesh.io import load_mesh
from softfit.metrics import view_iou

FIT = ["--iterations", "120", "--polys", "800", "--resolutions", "0:64,0.4:full", "--image-size", "96"]


@pytest.fixture(scope="module")
def photos(render_dataset_cached, tmp_path_factory):
    """The textured-room render's photos and cameras, without its masks."""
    src = render_dataset_cached(**BACKDROP)
    folder = tmp_path_factory.mktemp("photos")
    shutil.copytree(src / "images", folder / "images")
    meta = json.loads((src / "transforms.json").read_text())
    for f in meta["frames"]:
        f.pop("mask_path", None)
    (folder / "transforms.json").write_text(json.dumps(meta))
    return src, folder


def test_auto_fits_photos_and_never_calls_agreement_accuracy(photos, tmp_path, capsys):
    src, folder = photos
    out = tmp_path / "out"
    assert main(["fit", str(folder), "--out", str(out), *FIT]) == 0
    text = capsys.readouterr().out
    assert "auto chose multiview because" in text and "no transparency" in text
    assert "held-out agreement with the segmentation" in text and "held-out IoU" not in text
    m = json.loads((out / "metrics.json").read_text())
    assert "agreement with the segmentation, not accuracy" in m["iou_against"]
    assert m["silhouette_choice"]["chose"] == "multiview" and m["silhouette_method"] == "multiview"
    info = m["input"]["data_info"]["segmentation"]
    assert len(info["view_weights"]) == len(info["view_agreement"]) == 12
    # segmented masks get the tolerant initial hull: 10 % of the training views, rounded down
    train = len(m["train_views"])
    assert m["input"]["init"] == "hull" and m["input"]["init_hull_max_misses"] == int(0.1 * train) == 1
    assert "falls outside at most 1 of the segmented masks" in text  # said, not only recorded
    assert (out / "overlays.png").stat().st_size > 0
    # Against the TRUE masks (never given to the fit): measured 0.911 held-out at this small size, with
    # 0.901 reported as agreement (the fit from the true masks themselves: 0.945).
    _, truth, cams = load_views(src)
    mesh = load_mesh(out / "mesh.obj")
    held = m["heldout_views"]
    small = np.stack([_area(t, m["image_size"]) for t in truth[held]])
    true_iou = view_iou(mesh, small, cams.subset(held).resized(*m["image_size"])).mean()
    assert true_iou > 0.85, true_iou
    # the reported agreement may not flatter the fit by more than the benchmark's 0.02 without a warning
    assert m["heldout_iou"] <= true_iou + 0.02 or m.get("segmentation_warnings"), (m["heldout_iou"], true_iou)


def _area(mask: np.ndarray, size: list[int]) -> np.ndarray:
    from softfit.data.resize import resize

    return resize(mask.astype(np.float32), size[0], size[1])

"""`softfit bench silhouettes` on a tiny real Cycles scene: methods come from the registry, every score is
against the true masks (checked here independently), failures are reported per method, and the fit's
self-scored agreement is kept apart from its accuracy."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from dataset_support import read_masks

from softfit import silhouettes
from softfit.bench import silhouettes as bench_silhouettes
from softfit.bench.silhouettes import method_names
from softfit.cli import main as cli_main


def _centre_box(images: np.ndarray) -> np.ndarray:
    """A deliberately poor method: the middle third of every image."""
    n, h, w = images.shape[:3]
    m = np.zeros((n, h, w), dtype=bool)
    m[:, h // 3: 2 * h // 3, w // 3: 2 * w // 3] = True
    return m


def test_bench_scores_registered_methods_against_the_true_masks(tmp_path, monkeypatch):
    monkeypatch.setitem(silhouettes.METHODS, "centre_box", _centre_box)
    monkeypatch.setattr(bench_silhouettes, "DIAGNOSED", ("centre_box",))  # `auto` is too slow for a test
    assert {"auto", "threshold", "grabcut", "centre_box"} <= set(method_names())
    out = tmp_path / "out"
    assert cli_main(["bench", "silhouettes", "--scenes", "turntable-floor", "--methods",
                     "backdrop,centre_box", "--views", "8", "--size", "96x72", "--samples", "4",
                     "--cache", str(tmp_path / "cache"), "--out", str(out)]) == 0
    doc = json.loads((out / "silhouettes.json").read_text())
    scene = doc["scenes"]["turntable-floor"]
    assert "empty-scene photo" in scene["methods"]["backdrop"]["error"]  # reported, not hidden
    box = scene["methods"]["centre_box"]
    # The mask IoU is against the true masks: recompute it here from the scene's truth/ folder.
    truth = read_masks(sorted((Path(scene["folder"]) / "truth" / "masks").glob("*.png")))
    pred = _centre_box(np.zeros((len(truth), *truth.shape[1:], 3), np.uint8))
    want = (pred & truth).sum((1, 2)) / (pred | truth).sum((1, 2))
    np.testing.assert_allclose(box["mask_iou_vs_true_masks_per_view"], want, atol=1e-6)
    # The ceiling fit from the true masks is good; the box's fit is worse against the truth, although it
    # agrees well with its own masks: the bench keeps those two apart.
    ceiling = scene["true_masks"]["fit"]["heldout_iou_vs_true_masks"]
    fit = box["fit"]
    assert ceiling > 0.8
    assert fit["heldout_iou_vs_true_masks"] < ceiling - 0.1
    assert fit["heldout_agreement_with_own_masks"] > fit["heldout_iou_vs_true_masks"] + 0.1
    # the mesh scored is the one `softfit fit` writes: its topology repair ran
    assert isinstance(fit["crossings_left"], int)
    # ... and scores that flattering against the targets: it flatters, and unless the
    # segmentation warned (its warnings are in the row), that is marked unwarned.
    t = box["targets"]
    assert t["flatters"] and not t["meets_target"] and not t["within_gap"]
    assert t["flatters_unwarned"] == (not box["warnings"]) and t["warned"] == bool(box["warnings"])
    # Its wrong pixels, split by place, add up to what its IoU misses (over all views together) ...
    e = box["mask_errors"]
    union, inter = (pred | truth).sum(), (pred & truth).sum()
    assert sum(v for k, v in e.items() if k != "inward_px") == pytest.approx(1 - inter / union, abs=1e-3)
    # ... and putting either kind it has right from the truth brings its fit closer to the truth; the box
    # opens no hole, so putting holes right changes no pixel and the fit is the same one.
    fixed = box["fit_with_errors_put_right"]
    assert e["missed_hole"] == e["extra_hole"] == 0
    assert fixed["holes"] == pytest.approx(fit["heldout_iou_vs_true_masks"])
    assert min(fixed["edges"], fixed["far"]) > fit["heldout_iou_vs_true_masks"] + 0.03
    md = (out / "silhouettes.md").read_text()
    assert "## Where `auto`'s masks go wrong" in md
    assert "TRUE masks" in md and "agreement (own masks, not accuracy)" in md and "not run:" in md
    assert "## Mask IoU against the true masks" in md and "## Targets for `auto`" in md

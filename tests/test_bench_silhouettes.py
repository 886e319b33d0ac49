"""`softfit bench silhouettes` on a tiny real Cycles scene: methods come from the registry, every score is
against the true masks (checked here independently), failures are reported per method, and the fit's
self-scored agreement is kept apart from its accuracy."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from addon_helpers import ring_cameras
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
    # The targets read the mean over held-out splits whose views differ, the first being the default fit,
    # and the ceiling over the same splits.
    splits, ceil = box["fit_splits"], scene["true_masks"]["fit_splits"]
    # ... and putting either kind of error it has right from the truth brings its fit closer to the truth,
    # over the same splits; the box opens no hole, so putting holes right changes no pixel and the fits
    # are the same ones.
    fixed = box["fit_with_errors_put_right"]
    assert e["missed_hole"] == e["extra_hole"] == 0
    assert all(fixed[k]["seeds"] == splits["seeds"] for k in fixed)
    assert fixed["holes"]["heldout_iou_vs_true_masks"] == pytest.approx(splits["heldout_iou_vs_true_masks"])
    assert min(fixed["edges"]["mean"], fixed["far"]["mean"]) > splits["mean"] + 0.03
    assert splits["seeds"] == ceil["seeds"] and splits["seeds"][0] == 0
    assert len(splits["seeds"]) == bench_silhouettes.SPLITS
    assert len({tuple(v) for v in splits["heldout_views"]}) == bench_silhouettes.SPLITS
    assert splits["heldout_iou_vs_true_masks"][0] == fit["heldout_iou_vs_true_masks"]
    assert t["held_out"] == pytest.approx(np.mean(splits["heldout_iou_vs_true_masks"]))
    assert t["ceiling"] == pytest.approx(np.mean(ceil["heldout_iou_vs_true_masks"]))
    md = (out / "silhouettes.md").read_text()
    assert "## Where `auto`'s masks go wrong" in md
    assert "TRUE masks" in md and "agreement (own masks, not accuracy)" in md and "not run:" in md
    assert "## Mask IoU against the true masks" in md and "## Targets for `auto`" in md


def test_split_seeds_hold_out_different_views():
    from softfit.fit.views import split_views

    cams = ring_cameras(16, 64, 48)
    seeds = bench_silhouettes.split_seeds(cams, 4)
    assert seeds[0] == 0 and len(seeds) == 4
    held = [tuple(split_views(cams, 0.1, s)[1]) for s in seeds]
    assert len(set(held)) == 4 and all(len(h) == 2 for h in held)
    assert bench_silhouettes.split_seeds(ring_cameras(4, 64, 48), 3) == []  # too few views to hold any out


def test_verdict_reads_the_mean_over_splits_and_flags_any_flattering_split():
    def splits(held, agree):
        return {"heldout_iou_vs_true_masks": held, "heldout_agreement_with_own_masks": agree,
                "mean": float(np.mean(held)), "min": min(held), "max": max(held)}

    row = {"fit": {"heldout_iou_vs_true_masks": 0.95, "heldout_agreement_with_own_masks": 0.95},
           "fit_splits": splits([0.95, 0.90, 0.91], [0.95, 0.93, 0.91]), "warnings": []}
    truth = {"fit": {"heldout_iou_vs_true_masks": 0.96}, "fit_splits": splits([0.96, 0.94, 0.95], [1, 1, 1])}
    v = bench_silhouettes.verdict(row, truth)
    assert v["held_out"] == pytest.approx(0.92) and v["ceiling"] == pytest.approx(0.95)
    assert not v["meets_target"] and not v["within_gap"]  # the default split alone would pass both
    assert v["flatters"] and v["flatters_unwarned"]  # the second split's agreement is 0.03 above its truth
    # without splits on both sides, the default split's figures on both sides
    del truth["fit_splits"]
    v = bench_silhouettes.verdict(row, truth)
    assert v["held_out"] == 0.95 and v["ceiling"] == 0.96 and v["meets_target"] and v["within_gap"]


def test_summary_counts_the_verdicts_and_says_when_the_scenes_were_drawn():
    def scene(held, agree, warned):
        fit = {"heldout_iou_vs_true_masks": held, "heldout_agreement_with_own_masks": agree}
        return {"methods": {"auto": {"fit": fit, "warnings": ["doubt"] if warned else []}},
                "true_masks": {"fit": {"heldout_iou_vs_true_masks": 0.96}}}

    scenes = {"drawn-4-0": scene(0.95, 0.95, False), "drawn-4-1": scene(0.80, 0.90, False),
              "drawn-4-2": scene(0.85, 0.95, True)}
    line = bench_silhouettes._summary(scenes)[-1]
    assert line.startswith("Of 3 scenes, 1 reach 0.93, 1 are within 0.02 of the true-mask fit, 2 flatter")
    assert "1 of them unwarned" in line and "drawn at random" in line
    named = {"dark-cloth": scenes["drawn-4-0"], **scenes}
    assert "drawn at random" not in bench_silhouettes._summary(named)[-1]
    assert bench_silhouettes._summary({"x": {"methods": {}, "true_masks": {"fit": {}}}}) == []

"""`softfit bench masks`: the default masks against the true masks, and a run compared with an earlier one
with the held-out seeds apart."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from init_support import iou
from splat_support import as_benchmarked

from softfit.bench import masks as bench_masks


def _row(v: float) -> dict:
    errors = dict.fromkeys(("missed_edge", "missed_hole", "missed_far", "extra_edge", "extra_hole",
                            "extra_far", "inward_px"), 0.0)
    return {"mask_iou": v, "worst_view": v - 0.05, "errors": errors, "seconds_per_view": 0.3, "warnings": 1}


def test_the_held_out_seeds_are_counted_apart():
    """A change that gains where it was shaped (seed 4) and loses on a held-out seed (6) must show the loss
    in its own group; a refused scene counts as 0; a scene in one run only is left out."""
    before = {"drawn-4-0": _row(0.80), "drawn-4-1": _row(0.90), "drawn-6-0": _row(0.95),
              "drawn-6-1": _row(0.90), "small-desk": _row(0.89), "drawn-7-0": _row(0.5)}
    now = {"drawn-4-0": _row(0.85), "drawn-4-1": _row(0.9005), "drawn-6-0": _row(0.93),
           "drawn-6-1": {"refused": "no object could be isolated"}, "small-desk": _row(0.90)}
    got = bench_masks.compare(now, before, holdout={"6"})
    shaped, held = got["groups"]["shaped on"], got["groups"]["held out"]
    assert (shaped["scenes"], shaped["better"], shaped["worse"]) == (3, 2, 0)
    assert shaped["sum"] == pytest.approx(0.05 + 0.0005 + 0.01)
    assert (held["scenes"], held["better"], held["worse"], held["worst"]) == (2, 0, 2, "drawn-6-1")
    assert held["worst_change"] == pytest.approx(-0.90) and held["sum"] == pytest.approx(-0.92)
    assert "drawn-7-0" not in got["scenes"] and got["one_run_only"] == ["drawn-7-0"]
    doc = {"command": "softfit bench masks", "machine": {"cpu": "x", "git": "abc"}, "scenes": now,
           "against": {"file": "prev.json", "caveat": bench_masks.machine_caveat({"cpu": "x"}, {"cpu": "y"}),
                       **got}}
    md = bench_masks.markdown(doc)
    assert "**Warning:** the baseline ran on y, this run on x" in md  # renders differ between machines
    assert bench_masks.machine_caveat({"cpu": "x"}, {"cpu": "x"}) is None
    assert "Left out, in one run only (1): drawn-7-0." in md
    assert "| drawn-6-1 | refused: no object could be isolated |" in md
    assert "| held out | 2 | -0.9200 | -0.4600 | 0 | 2 | drawn-6-1 -0.9000 |" in md
    assert "| drawn-4-1 |" not in md.split("## Against")[1]  # moved by 0.0005: not listed as moved


def test_a_missing_or_foreign_baseline_is_one_clear_error(tmp_path):
    (tmp_path / "x.json").write_text(json.dumps({"rows": []}))
    (tmp_path / "list.json").write_text(json.dumps([1, 2]))
    (tmp_path / "broken.json").write_text('{"scenes": {')
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe\x00garbage")
    for path, says in ((tmp_path / "none.json", "no such file"), (tmp_path / "x.json", "not a masks.json"),
                       (tmp_path / "list.json", "not a masks.json"), (tmp_path / "broken.json", "not JSON"),
                       (tmp_path / "binary.json", "not JSON")):
        run = subprocess.run([sys.executable, "-m", "softfit", "bench", "masks", "--against", str(path),
                              "--out", str(tmp_path / "o")], capture_output=True, text=True, timeout=120)
        assert run.returncode != 0 and says in run.stderr, run.stderr
        assert "Traceback" not in run.stderr, run.stderr
        assert not (tmp_path / "o").exists()  # nothing was measured or written


@pytest.mark.slow
def test_on_a_real_render_it_scores_what_the_loader_gives(render_scene_cached, tmp_path_factory, tmp_path):
    """drawn-2-2 as the benchmark renders it: the figure is the mask IoU of `--silhouette auto` against the
    true masks, computed here independently; and the error shares add up to the wrong pixels."""
    masks, truth = as_benchmarked(render_scene_cached, tmp_path_factory, "drawn-2-2")
    mine, _ = masks()
    folder = render_scene_cached("drawn-2-2", views=16, size="400x300", samples=12)
    row = bench_masks.measure(folder, tmp_path)
    assert row["mask_iou"] == pytest.approx(float(iou(mine, truth).mean()), abs=1e-9)
    assert row["worst_view"] == pytest.approx(float(iou(mine, truth).min()), abs=1e-9)
    wrong = sum(v for k, v in row["errors"].items() if k != "inward_px")
    union = (mine | truth).reshape(len(mine), -1).sum(1)
    share = ((mine ^ truth).reshape(len(mine), -1).sum(1).sum() / union.sum())
    assert wrong == pytest.approx(share, abs=2e-3), (wrong, share)
    assert np.isfinite(row["seconds_per_view"]) and row["warnings"] >= 0


def test_the_committed_baseline_covers_every_scene_and_its_table_says_what_its_json_does():
    """benchmarks/masks.json is what `--against` compares with: it must hold every scene the default run
    measures (a trial against a partial baseline would leave scenes out unseen), and masks.md must be
    its table."""
    from pathlib import Path

    bench = Path(__file__).resolve().parents[1] / "benchmarks"
    doc = json.loads((bench / "masks.json").read_text())
    assert list(doc["scenes"]) == bench_masks.scene_list(bench_masks.SEEDS, bench_masks.DRAWN, None)
    assert (bench / "masks.md").read_text() == bench_masks.markdown(doc)

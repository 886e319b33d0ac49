"""The segmentation's per-view work runs on threads: the views really run at once, in their order, and
the masks are the same as from one thread (OpenCV's random generator is per thread; a cut that used
another's state, or results put back out of order, would change them)."""

from __future__ import annotations

import argparse
import json
import threading

import numpy as np
import pytest
from init_support import BACKDROP, load_views

from softfit import silhouettes as S
from softfit.bench import segment
from softfit.silhouettes import common


def test_per_view_runs_the_views_at_once_and_keeps_their_order(monkeypatch):
    monkeypatch.setattr(common, "WORKERS", 2)
    meet = threading.Barrier(2, timeout=10)  # one view at a time would wait here for ever: BrokenBarrier

    def work(i: int) -> tuple[int, str]:
        if i < 2:
            meet.wait()
        return i, threading.current_thread().name

    out = common.per_view(work, 6)
    assert [i for i, _ in out] == list(range(6))
    assert len({name for _, name in out}) == 2
    monkeypatch.setattr(common, "WORKERS", 1)  # one worker: the caller's own thread, no pool
    names = {name for _, name in common.per_view(lambda i: (i, threading.current_thread().name), 3)}
    assert names == {threading.current_thread().name}


def test_threads_change_the_time_not_the_masks(render_dataset_cached, monkeypatch):
    images, gt, cams = load_views(render_dataset_cached(**BACKDROP))
    monkeypatch.setattr(common, "WORKERS", 1)
    one = S.segment_with_info(images, "auto", cameras=cams)
    monkeypatch.setattr(common, "WORKERS", 4)  # more threads than CI's cores: they still interleave
    many = S.segment_with_info(images, "auto", cameras=cams)
    assert one.masks.any(axis=(1, 2)).all()
    assert np.array_equal(one.masks, many.masks)
    assert one.info()["view_agreement"] == many.info()["view_agreement"]


@pytest.mark.slow
def test_segment_bench_times_both_and_finds_the_masks_identical(tmp_path):
    assert segment.run(argparse.Namespace(scenes="turntable-floor", views=8, size="160x120", samples=4,
                                          cache=str(tmp_path / "cache"), out=tmp_path)) == 0
    row = json.loads((tmp_path / "segment.json").read_text())["rows"]["turntable-floor"]
    assert row["identical"] and row["views"] == 8 and row["photo_size"] == "160x120"
    assert row["one_s_per_view"] > 0 and row["all_s_per_view"] > 0
    assert abs(row["ratio"] - row["one_s_per_view"] / row["all_s_per_view"]) < 1e-9
    assert "| turntable-floor | 160x120 | 8 |" in (tmp_path / "segment.md").read_text()

"""The first round's seed when the object is much smaller in the frame than the framing suggests: on a
development scene the benchmark never uses (`dev-small-torus`: a torus at 1-2 % of the frame on a wooden
table, hand-held), at 12 views and 8 Cycles samples. The framing's seed lies mostly on the table; at
400x300 every view then cuts out the table (the masks agree, only the aim check notices), at 320x240 no
object is isolated at all. Either way the half-size seed finds the torus."""

from __future__ import annotations

import numpy as np
import pytest

from softfit.bench.silhouettes import truth_view
from softfit.data.load import load_dataset
from softfit.errors import InputError
from softfit.metrics import silhouette_iou
from softfit.silhouettes import confidence, multiview, seedretry


@pytest.mark.slow
@pytest.mark.parametrize("size", ["400x300", "320x240"])
def test_a_small_object_on_a_table_is_found_by_the_smaller_seed(render_scene_cached, tmp_path, size):
    folder = render_scene_cached("dev-small-torus", views=12, size=size, samples=8)
    truth = load_dataset(truth_view(folder, tmp_path), silhouette="mask", image_size=256)
    t = truth.silhouettes > 0.5
    try:
        first = multiview.segment_views(truth.images, truth.cameras, retry=False)
    except InputError:
        first = None  # nothing isolated: the other way the framing's seed fails
    else:
        assert silhouette_iou(first.masks, t).mean() < 0.4
        assert first.confidence.aim_offset > multiview.AIM_OFFSET
    seg = multiview.segment_views(truth.images, truth.cameras)
    iou = silhouette_iou(seg.masks, t)
    print(size, "mask IoU", iou.mean(), seg.notes)
    assert iou.mean() > 0.65 and np.median(iou) > 0.7
    said = "half the size was tried: kept" if first is not None else "isolated no object; a seed half"
    assert any(said in n for n in seg.notes), seg.notes
    if first is not None:
        assert seg.seconds > first.seconds  # both segmentations are paid for, and counted


@pytest.mark.slow
def test_the_retry_reuses_the_plane_sweep(render_scene_cached, tmp_path, monkeypatch):
    """The plane sweep depends on the photos and cameras only: a smaller-seed retry takes the first run's
    instead of sweeping again (on small-desk at 16 views it cost 2-3 s a run)."""
    from softfit.silhouettes import supportsweep

    folder = render_scene_cached("dev-small-torus", views=12, size="400x300", samples=8)
    truth = load_dataset(truth_view(folder, tmp_path), silhouette="mask", image_size=256)
    sweeps = []
    real = supportsweep.sweep
    monkeypatch.setattr(supportsweep, "sweep", lambda *a, **k: sweeps.append(1) or real(*a, **k))
    seg = multiview.segment_views(truth.images, truth.cameras, sweep=True)
    assert any("half the size was tried" in n for n in seg.notes), seg.notes  # the retry ran
    assert len(sweeps) == 1


@pytest.mark.slow
def test_masks_that_agree_poorly_are_segmented_again_from_the_smaller_seed(render_scene_cached, tmp_path):
    """A clay Suzanne on a fixed-camera turntable (`drawn-6-6`, 12 views at 320x240): the framing's seed
    takes in a patch of the turntable under her head in most views, a different patch in each, so the
    views disagree (median relative agreement 0.86, under the level that warns) while the masks sit on
    the aim point; the smaller seed's agree (0.97) and are kept. Measured here: mask IoU against the true
    masks 0.823 -> 0.961 (at 400x300 and 16 views: 0.772 -> 0.967)."""
    folder = render_scene_cached("drawn-6-6", views=12, size="320x240", samples=8)
    truth = load_dataset(truth_view(folder, tmp_path), silhouette="mask", image_size=256)
    t = truth.silhouettes > 0.5
    first = multiview.segment_views(truth.images, truth.cameras, retry=False)
    rel = float(np.median(first.confidence.rel))
    assert rel < confidence.WARN_MEDIAN, rel  # the evidence: poor agreement ...
    assert first.confidence.aim_offset < multiview.AIM_OFFSET  # ... while the aim check passes
    seg = multiview.segment_views(truth.images, truth.cameras)
    assert any("agreed poorly" in n and ": kept" in n for n in seg.notes), seg.notes
    before, after = silhouette_iou(first.masks, t).mean(), silhouette_iou(seg.masks, t).mean()
    print("mask IoU", before, "->", after)
    assert after > 0.93 and after > before + 0.08, (before, after)
    assert float(np.median(seg.confidence.rel)) > rel + 0.05


def test_only_a_failure_to_isolate_is_retried_with_the_smaller_seed():
    """Bad input that no seed can cure (cameras that do not match, unreadable images) fails at once,
    without a second segmentation; a run that isolated nothing is retried once with half the seed."""
    seeds: list[float] = []

    def mismatched(seed: float):
        seeds.append(seed)
        raise InputError("12 images but 11 cameras")

    with pytest.raises(InputError, match="12 images but 11 cameras"):
        seedretry.with_smaller_seed(mismatched, 0.5)
    assert seeds == [0.5]

    seeds.clear()

    def nothing(seed: float):
        seeds.append(seed)
        raise multiview.NotIsolated(f"no object could be isolated (seed {seed})")

    with pytest.raises(InputError, match=r"seed 0\.5\)"):  # the first run's error, unchanged
        seedretry.with_smaller_seed(nothing, 0.5)
    assert seeds == [0.5, 0.25]


def _run_with(results: dict[float, tuple]):
    """A `run(seed)` for `seedretry.with_smaller_seed` whose masks' confidence is fixed per seed: (median
    relative agreement, aim offset, whether the standing rule acted[, the signs before the shadow cut]);
    the seeds asked for are recorded."""
    asked: list[float] = []

    def run(seed: float) -> multiview.MultiViewSegmentation:
        asked.append(seed)
        rel, aim, stood, *before_cut = results[seed]
        n = 8
        conf = multiview.ViewConfidence(np.full(n, rel), np.zeros(n, bool), np.ones(n), [],
                                        [f"v{i}" for i in range(n)], relative=np.full(n, rel),
                                        aim_offset=aim)
        return multiview.MultiViewSegmentation(np.full((n, 4, 4), seed > 0.3), conf, 1, 1.0, [], stood,
                                               before_cut[0] if before_cut else None)

    return run, asked


@pytest.mark.parametrize(("first", "second", "kept"), [
    ((0.96, 0.05, False), (0.99, 0.01, False), None),  # agreeing, on aim: no retry
    ((0.82, 0.05, False), (0.97, 0.10, False), 0.25),  # poor agreement, the second's much better, on aim
    ((0.82, 0.05, False), (0.83, 0.02, False), 0.5),  # ... only a little better: not kept
    ((0.82, 0.17, False), (0.95, 0.22, False), 0.5),  # ... better, but further off the aim point
    ((0.82, 0.17, False), (0.95, 0.17, False), 0.25),  # ... no further off it
    ((0.79, 0.141, False), (0.97, 0.142, False), 0.25),  # ... further by less than a working-size pixel
    ((0.79, 0.141, False), (0.97, 0.165, False), 0.5),  # ... by more
    ((0.90, 0.10, True), (1.00, 0.50, False), None),  # the standing rule acted: no retry
    ((0.95, 0.28, False), (0.94, 0.10, False), 0.25),  # off the aim point: closer, agreeing no worse
    ((0.95, 0.28, False), (0.80, 0.10, False), 0.5),  # ... but agreeing worse
])
def test_the_smaller_seed_is_tried_on_poor_agreement_or_off_aim_and_kept_on_evidence(first, second, kept):
    """The retry's two triggers and what each keeps (`seedretry.with_smaller_seed`): the masks agree poorly
    (median relative agreement under the warning's level) or sit off the point the cameras aim at."""
    run, asked = _run_with({0.5: first, 0.25: second})
    seg = seedretry.with_smaller_seed(run, 0.5)
    assert asked == ([0.5] if kept is None else [0.5, 0.25])
    assert seg.masks.all() == (kept != 0.25)  # the first run's masks are all True, the second's False
    if kept is not None:
        assert any(("not kept" if kept == 0.5 else ": kept") in n for n in seg.notes), seg.notes
        said = " ".join(seg.notes)  # the note names every trigger that fired
        assert ("agreed poorly" in said) == (first[0] < confidence.WARN_MEDIAN), said
        assert ("off the point" in said) == (first[1] > multiview.AIM_OFFSET), said
        assert seg.seconds == 2.0  # both runs are counted


@pytest.mark.parametrize(("before_cut", "retried"), [
    ((0.86, 0.24), True),  # off the aim point and agreeing poorly before the cut: retried, and kept
    ((0.96, 0.05), False),  # sound before the cut too: no retry
])
def test_the_retry_reads_the_signs_before_the_shadow_cut(before_cut, retried):
    """A shadow cut that took away most of the support a misled seed brought in leaves masks whose final
    agreement and aim look sound; the signs read before the cut still call for the smaller seed."""
    run, asked = _run_with({0.5: (0.95, 0.08, False, before_cut), 0.25: (0.99, 0.01, False)})
    seg = seedretry.with_smaller_seed(run, 0.5)
    assert asked == ([0.5, 0.25] if retried else [0.5])
    assert seg.masks.all() == (not retried)  # the second run's masks are kept when tried
    if retried:
        said = " ".join(seg.notes)
        assert "offset 0.24 before the shadow cut" in said and "0.860 before the shadow cut" in said, said


@pytest.mark.slow
def test_a_turntable_disc_half_taken_in_is_left_out_by_the_smaller_seed(render_scene_cached, tmp_path):
    """A glossy blue cylinder turning on a turntable (`drawn-2-1`, 16 views at 320x240, 8 samples): the
    framing's seed takes in the disc's near half and the shadow on it in every view; the shadow cut takes
    most of that away, and what is left agrees well enough across views (the cylinder looks the same from
    every side) that only the signs before the cut call for the smaller seed, which leaves the disc out.
    Measured against the true masks: 0.973 mask IoU, 0.863 reading the final masks' signs alone."""
    folder = render_scene_cached("drawn-2-1", views=16, size="320x240", samples=8)
    data = load_dataset(truth_view(folder, tmp_path), silhouette="mask", image_size=256)
    truth = data.silhouettes > 0.5
    seg = multiview.segment_views(data.images, data.cameras)
    assert silhouette_iou(seg.masks, truth).mean() > 0.95
    assert any("before the shadow cut" in n and ": kept" in n for n in seg.notes), seg.notes

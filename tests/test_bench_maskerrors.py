"""`softfit.bench.maskerrors`: the silhouette benchmark's split of wrong pixels by place, its inward offset,
and the oracle masks that put one kind of error right."""

from __future__ import annotations

import numpy as np
import pytest

from softfit.bench.maskerrors import classify, corrected


def _disc(r: float, cx: float = 32, cy: float = 32, size: int = 64) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size] + 0.5
    return (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r


def test_a_shrunk_outline_is_an_inward_edge_error_and_the_oracle_restores_it():
    truth, mask = _disc(20)[None], _disc(19)[None]
    e = classify(mask, truth)
    assert 0.7 < e.inward_px < 1.3  # one pixel inside the true outline
    assert e.missed_edge > 0.05 and e.extra_edge == 0
    assert e.missed_hole == e.missed_far == e.extra_hole == e.extra_far == 0
    np.testing.assert_array_equal(corrected(mask, truth, "edges") > 0.5, truth)
    np.testing.assert_array_equal(corrected(mask, truth, "holes") > 0.5, mask)  # nothing of that kind
    # grown instead of shrunk: the offset changes sign
    assert classify(_disc(21)[None], truth).inward_px < -0.7


def test_a_filled_true_hole_and_an_opened_container_are_hole_errors():
    ring = _disc(20) & ~_disc(8)
    filled = _disc(20)
    e = classify(filled[None], ring[None])
    assert e.extra_hole == pytest.approx((filled & ~ring).sum() / filled.sum())
    assert e.extra_edge == e.extra_far == 0 and e.missed_edge == e.missed_hole == e.missed_far == 0
    np.testing.assert_array_equal(corrected(filled[None], ring[None], "holes")[0] > 0.5, ring)
    # the other way round: the mask opened a hole where the object is solid (a mug's inside)
    e = classify(ring[None], filled[None])
    assert e.missed_hole == pytest.approx((filled & ~ring).sum() / filled.sum()) and e.extra_hole == 0


def test_a_swallowed_patch_away_from_the_object_is_far_and_the_shares_add_up():
    truth = _disc(12, cx=20)
    mask = truth | _disc(5, cx=50)  # a patch of floor taken in, well clear of the outline
    e = classify(mask[None], truth[None])
    assert e.extra_far == pytest.approx(_disc(5, cx=50).sum() / mask.sum())
    total = e.missed_edge + e.missed_hole + e.missed_far + e.extra_edge + e.extra_hole + e.extra_far
    assert total == pytest.approx(1 - (mask & truth).sum() / (mask | truth).sum())
    np.testing.assert_array_equal(corrected(mask[None], truth[None], "far")[0] > 0.5, truth)


def test_the_oracle_changes_only_the_pixels_of_its_kind():
    truth = _disc(12, cx=20)
    soft = np.where(truth | _disc(5, cx=50), 0.9, 0.0).astype(np.float32)  # a soft mask with a far patch
    soft[truth & ~_disc(11, cx=20)] = 0.6  # soft values along the outline, on the object's side
    out = corrected(soft[None], truth[None], "far")[0]
    np.testing.assert_array_equal(out[_disc(5, cx=50)], 0.0)  # the patch is gone ...
    untouched = ~_disc(5, cx=50)
    np.testing.assert_array_equal(out[untouched], soft[untouched])  # ... and every other value is kept
    assert corrected(soft[None], truth[None], "holes").tobytes() == soft[None].tobytes()


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="shape"):
        classify(np.zeros((1, 8, 8)), np.zeros((2, 8, 8)))
    with pytest.raises(ValueError, match="kind"):
        corrected(np.zeros((1, 8, 8)), np.zeros((1, 8, 8)), "rims")

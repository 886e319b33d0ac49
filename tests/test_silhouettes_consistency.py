"""Mask cleaning, cross-view consistency flags and the original method's RGBA convention."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from init_support import BLACK, load_views

from softfit import silhouettes as S
from softfit.errors import InputError
from softfit.silhouettes.common import clean_mask


def _disks(radii, size=64) -> np.ndarray:
    out = np.zeros((len(radii), size, size), np.uint8)
    for m, r in zip(out, radii, strict=True):
        cv2.circle(m, (size // 2, size // 2), int(r), 1, -1)
    return out.astype(bool)


def test_flags_the_view_whose_area_jumps():
    radii = [20, 20.5, 21, 21.5, 22, 22, 21.5, 21, 20.5, 20]
    assert S.check_consistency(_disks(radii)) == []
    radii[4] = 10  # a view that lost most of the object
    radii[8] = 29  # and one that swallowed a shadow (1.9x the area)
    assert S.check_consistency(_disks(radii)) == [4, 8]
    # the turntable closes: view 0's neighbours include the last views
    radii = [30, 20, 20, 20, 20, 20, 20, 20]
    assert S.check_consistency(_disks(radii)) == [0]
    assert S.check_consistency(_disks(radii), cyclic=False) == [0]
    with pytest.raises(InputError):
        S.check_consistency(_disks(radii), max_ratio=0.9)


def test_rendered_turntable_is_consistent_until_a_view_breaks(render_dataset_cached):
    _, gt, _ = load_views(render_dataset_cached(**BLACK))
    assert S.check_consistency(gt) == []
    broken = gt.copy()
    broken[7] = cv2.erode(gt[7].astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    assert S.check_consistency(broken) == [7]


def test_clean_mask_removes_speckle_and_fills_holes():
    m = _disks([20])[0]
    m[30:34, 30:34] = False  # a hole (dark part of the object)
    m[2, 2] = True  # a speck of noise
    m[50:60, 2:6] = True  # a separate blob
    out = clean_mask(m)
    assert out[31, 31] and not out[2, 2] and not out[55, 3]
    kept = clean_mask(m, keep="large", min_frac=0.01, holes=False)
    assert kept[55, 3] and not kept[31, 31]
    # only small holes: a hole of 16 px is below 5 % of the object's area
    assert clean_mask(m, holes=0.05)[31, 31]
    assert not clean_mask(m, holes=0.001)[31, 31]


def test_rgba_convention():
    masks = _disks([10, 15])
    rgba = S.to_rgba(None, masks)
    assert rgba.shape == (2, 64, 64, 4) and rgba.dtype == np.uint8
    assert (rgba[masks][:, :3] == S.OBJECT_GREY).all() and (rgba[masks][:, 3] == 255).all()
    assert (rgba[~masks] == 0).all()
    assert np.array_equal(S.from_rgba(rgba), masks)
    images = np.full((2, 64, 64, 3), 200, np.uint8)
    assert np.array_equal(S.to_rgba(images, masks), rgba)  # the photo's colours are discarded
    with pytest.raises(InputError, match="do not match"):
        S.to_rgba(images[:, :32], masks)

"""The padded box around a view's pixels that the silhouette code and the plots crop to."""

import numpy as np

from softfit.pixelbox import around


def test_the_box_holds_every_pixel_and_its_padding_within_the_image():
    sel = np.zeros((20, 30), bool)
    sel[5, 7] = sel[9, 12] = True
    assert around(sel) == (slice(5, 10), slice(7, 13))
    assert around(sel, 2) == (slice(3, 12), slice(5, 15))
    # grow: x the longer side, first to last pixel (5 columns apart): 0.4 x 5 = 2 more
    assert around(sel, 1, 0.4) == (slice(2, 13), slice(4, 16))
    assert around(sel, 50) == (slice(0, 20), slice(0, 30))  # clipped to the image
    assert around(np.zeros((4, 4), bool), 2) is None

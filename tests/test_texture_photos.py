"""The texture is baked from the photos read again at up to PHOTO_SIZE, not from the fit's small copies:
a 2400x1800 capture fitted at 256 px gave a 162x157 texture (round 17)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from addon_helpers import box_mesh, convex_silhouettes, ring_cameras, write_rgba_dataset

from softfit.cli import main
from softfit.data.load import load_dataset
from softfit.texture.photos import bake_photos

VERTS = box_mesh((0.45, 0.3, 0.25), (0.05, -0.05, 0.0), yaw_deg=20)[0]


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory):
    """12 RGBA views at 160x120 whose alpha is a box's silhouette."""
    folder = tmp_path_factory.mktemp("photos")
    cams = ring_cameras(12, 160, 120)
    write_rgba_dataset(folder, cams, convex_silhouettes(cams, VERTS))
    return folder


def test_the_photos_are_read_again_at_the_larger_size_with_the_fits_cameras(capture):
    small = load_dataset(capture, image_size=64)
    photos = bake_photos(capture, small, size=1024)
    full = load_dataset(capture, image_size=None)  # what the loader reads at the photos' own size
    assert photos is not None and (photos.cameras.width, photos.cameras.height) == (160, 120)
    assert photos.names == small.names
    np.testing.assert_array_equal(photos.images, full.images)
    np.testing.assert_array_equal(photos.silhouettes, full.silhouettes)  # alpha read again, not upsampled
    np.testing.assert_allclose(photos.cameras.intrinsics, small.cameras.resized(160, 120).intrinsics)
    np.testing.assert_allclose(photos.cameras.c2w, small.cameras.c2w)
    capped = bake_photos(capture, small, size=100)  # never past the size asked
    assert (capped.cameras.width, capped.cameras.height) == (100, 75)


def test_nothing_is_read_again_when_it_adds_no_detail(capture):
    full = load_dataset(capture, image_size=None)
    assert bake_photos(capture, full) is None  # the fit already had the photos at their size
    small = load_dataset(capture, image_size=64)
    assert bake_photos(small, small) is None  # views given in memory: no files to read again
    assert bake_photos(capture, small, size=64) is None


def test_segmented_masks_are_upsampled_not_segmented_again(capture):
    small = load_dataset(capture, image_size=64)
    seg = type(small)(small.silhouettes, small.cameras, small.names, small.images,
                      {**small.info, "silhouette": "multiview"}, small.view_weights)
    photos = bake_photos(capture, seg, size=1024)
    assert photos is not None and photos.silhouettes.shape == (12, 120, 160)
    agree = ((photos.silhouettes >= 0.5) == (load_dataset(capture, image_size=None).silhouettes >= 0.5))
    assert agree.mean() > 0.97  # the small masks, upsampled: right but for a pixel or two at the outline
    # and the copies a segmentation would read are not made for it (up to twice the size, per view)
    from softfit.data.gather import gather
    from softfit.data.load import READERS, read_views

    assert gather(read_views(capture), "segment", 64, READERS, work_copies=False).work is None
    assert gather(read_views(capture), "segment", 64, READERS).work.shape == (12, 96, 128, 3)  # 2 x 64


def test_softfit_fit_bakes_from_the_larger_photos(capture, tmp_path):
    code = main(["fit", str(capture), "--out", str(tmp_path / "a"), "--quiet", "--image-size", "64",
                 "--iterations", "30"])
    assert code == 0
    tex = json.loads((tmp_path / "a" / "metrics.json").read_text())["texture"]
    assert tex["photo_size"] == [160, 120]
    code = main(["fit", str(capture), "--out", str(tmp_path / "b"), "--quiet", "--image-size", "0",
                 "--iterations", "30"])
    same = json.loads((tmp_path / "b" / "metrics.json").read_text())["texture"]
    assert code == 0 and same["photo_size"] == [160, 120]
    # the texel follows the photos' pixel footprint, not the fit's copies (64 px: 2.5 times coarser)
    assert tex["texel"] == pytest.approx(same["texel"], rel=0.1)


def test_a_fit_of_some_of_the_views_bakes_from_those_photos(capture):
    """SfM may leave views out of a fit: the photos read again are the fit's views, in its order."""
    small = load_dataset(capture, image_size=64).subset([5, 0, 7])
    photos = bake_photos(capture, small, size=1024)
    full = load_dataset(capture, image_size=None)
    assert photos is not None and photos.names == small.names
    np.testing.assert_array_equal(photos.images, full.images[[5, 0, 7]])
    np.testing.assert_array_equal(photos.silhouettes, full.silhouettes[[5, 0, 7]])

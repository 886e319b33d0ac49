"""`load_dataset(..., cameras="sfm")`: the loader runs structure-from-motion and reports the outcome."""

from __future__ import annotations

import numpy as np
import pytest

from softfit.cameras import load_transforms
from softfit.data.load import load_dataset
from softfit.errors import InputError

pytestmark = pytest.mark.slow  # minutes, not seconds: `make test-fast` leaves it out, CI runs it


def test_textureless_object_falls_back_to_turntable_with_pose_errors(render_dataset_cached):
    root = render_dataset_cached("suzanne", views=12, size="96")
    data = load_dataset(root, cameras="sfm", image_size=64)
    assert data.info["cameras"] == "sfm"
    assert data.info["sfm"]["fallback"] is True
    assert "turntable" in data.info["sfm"]["message"].lower()
    assert (data.cameras.width, data.cameras.height) == (64, 64) and len(data) == 12
    # The layout's own cameras are kept as ground truth: the fallback turntable is 30 deg apart like them.
    errs = data.info["sfm_pose_errors"]
    assert len(errs["rotation_deg_per_view"]) == 12
    gt, _ = load_transforms(root)
    np.testing.assert_allclose(np.linalg.norm(data.cameras.centers, axis=1), 2.732, rtol=1e-6)
    assert len(gt) == len(data.cameras)


def test_bad_sfm_option_fails_before_reading(tmp_path):
    with pytest.raises(InputError):
        load_dataset(tmp_path / "missing", cameras="sfm:bogus=1")

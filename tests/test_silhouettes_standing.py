"""An object stands on its support (softfit.silhouettes.standing): a hull that floats above the support
plane gets the gap under its footprint, and nothing else does: a hull that touches the plane, a plane
farther down than the hull is tall (the floor under a table), a fill that would move the hull away from
where the cameras aim; and the labels make the gap's core sure object in every view."""

import cv2
import numpy as np
import pytest

from softfit.cameras import turntable
from softfit.silhouettes import standing
from softfit.silhouettes.cutlabels import prior_labels
from softfit.silhouettes.voxelvotes import VoxelVotes

UP = np.array([0.0, 0.0, 1.0])


@pytest.fixture(scope="module")
def votes() -> VoxelVotes:
    cams = turntable(np.arange(0, 360, 45), distance=4.0, elevation_deg=30.0, fov_deg=40.0, width=96,
                     height=72)
    return VoxelVotes(cams, np.array([-1.0, -1.0, -1.0]), np.array([1.0, 1.0, 1.0]), 40)


def _box(votes: VoxelVotes, z0: float, z1: float, r: float = 0.4) -> np.ndarray:
    c = votes.centers
    return (np.abs(c[:, 0]) < r) & (np.abs(c[:, 1]) < r) & (c[:, 2] >= z0) & (c[:, 2] <= z1)


def test_a_hull_floating_above_its_support_gets_the_gap_under_its_footprint(votes):
    """A bucket's upper half (z 0..0.8 of a bucket on z = -0.8): the fill is the lower half's column."""
    occ = _box(votes, 0.0, 0.8)
    add = standing.under(votes, occ, UP, -0.8, aim=np.zeros(3))
    assert add is not None and not (add & occ).any()
    z = votes.centers[add, 2]
    assert z.min() >= -0.8 and z.max() < 0.0
    assert np.array_equal(add, _box(votes, -0.8, -1e-9) & ~occ)  # the footprint's columns, nothing wider
    # the lower half seen by every camera is now in the prior
    lower = _box(votes, -0.8, -0.05)
    for i in range(len(votes.cameras)):
        assert votes.project(occ | add, i)[votes.project(lower, i)].mean() > 0.99


def test_a_hull_on_its_support_or_far_above_it_or_away_from_the_aim_gets_nothing(votes):
    occ = _box(votes, -0.78, 0.8)  # touches the plane (within a voxel): nothing is missing
    assert standing.under(votes, occ, UP, -0.8, aim=np.zeros(3)) is None
    small = _box(votes, 0.5, 0.8)  # 0.3 tall, 1.3 above the plane: a plane farther down, not its support
    assert standing.under(votes, small, UP, -0.8, aim=np.zeros(3)) is None
    occ = _box(votes, 0.0, 0.8)  # the cameras aim above it: filling below would move it away
    assert standing.under(votes, occ, UP, -0.8, aim=np.array([0.0, 0.0, 0.7])) is None
    assert standing.under(votes, np.zeros(len(votes.centers), bool), UP, -0.8, aim=np.zeros(3)) is None


def test_the_gap_is_sure_object_in_the_labels_whatever_the_last_mask_said():
    prior = np.zeros((60, 60), bool)
    prior[10:50, 15:45] = True
    mask = np.zeros_like(prior)
    mask[10:30, 15:45] = True  # the last mask lost the lower half
    stands = np.zeros_like(prior)
    stands[30:50, 15:45] = True
    bg_like = ~mask  # and the colour models took it for background
    plain = prior_labels(prior, mask, None, 0.02, 0.15, bg_like)
    labels = prior_labels(prior, mask, None, 0.02, 0.15, bg_like, stands=stands)
    assert (plain[36:44, 22:38] != cv2.GC_FGD).all()
    assert (labels[36:44, 22:38] == cv2.GC_FGD).all()
    assert (labels[~prior] == plain[~prior]).all()


@pytest.mark.slow
def test_a_lower_part_with_the_colour_of_the_table_is_found_in_real_photos(render_scene_cached, tmp_path):
    """Development scene `dev-painted-cube` (never benchmarked; its 16 views at 320x240): a cube whose cream
    lower part has the colours of the wooden table and the tiles behind it. Every view's colour models
    lost that part alike (mask IoU 0.69 against the true masks at 400x300 before this rule), the masks
    sat above the point the cameras aim at, the plane sweep found the table, and the gap under the hull
    became object."""
    from softfit.bench.silhouettes import truth_view
    from softfit.data.load import load_dataset
    from softfit.metrics import silhouette_iou
    from softfit.silhouettes.multiview import segment_views

    folder = render_scene_cached("dev-painted-cube", views=16, size="320x240", samples=8)
    data = load_dataset(truth_view(folder, tmp_path), silhouette="mask", image_size=256)
    truth = data.silhouettes > 0.5
    seg = segment_views(data.images, data.cameras)
    assert any("taken to stand on it" in n for n in seg.notes), seg.notes
    iou = silhouette_iou(seg.masks, truth)
    print(f"mask IoU {iou.mean():.3f} (worst {iou.min():.3f})")
    assert iou.mean() > 0.9
    # the lower half of the object: covered in the masks as in the truth
    lower = np.zeros_like(truth)
    for i in range(len(truth)):
        r = np.flatnonzero(truth[i].any(1))
        below = slice((r.min() + r.max()) // 2 + 1, r.max() + 1)
        lower[i, below] = truth[i, below]
    assert (seg.masks & lower).sum() > 0.85 * lower.sum()



@pytest.mark.slow
def test_the_floor_under_a_wide_footprint_is_not_forced_in(render_scene_cached, tmp_path):
    """Development scene `dev-painted-suzanne` (never benchmarked; its 16 views at 320x240): a two-tone
    Suzanne touching the tiled floor with its chin only. Its masks lose the cream lower part and their
    hull floats, but the column under the head's whole footprint is mostly floor: forced in whole, it
    made the masks worse than no rule at all (0.76 against 0.81 at 400x300). Only the column's pixels
    that do not see the floor are forced in, so what the masks take beyond the true object stays small."""
    from softfit.bench.silhouettes import truth_view
    from softfit.data.load import load_dataset
    from softfit.metrics import silhouette_iou
    from softfit.silhouettes.multiview import segment_views

    folder = render_scene_cached("dev-painted-suzanne", views=16, size="320x240", samples=8)
    data = load_dataset(truth_view(folder, tmp_path), silhouette="mask", image_size=256)
    truth = data.silhouettes > 0.5
    seg = segment_views(data.images, data.cameras)
    assert seg.stood, seg.notes
    iou = silhouette_iou(seg.masks, truth)
    extra = (seg.masks & ~truth).sum() / truth.sum()
    print(f"mask IoU {iou.mean():.3f} (worst {iou.min():.3f}), beyond the object {extra:.3f} of its area")
    assert extra < 0.1
    assert iou.mean() > 0.83

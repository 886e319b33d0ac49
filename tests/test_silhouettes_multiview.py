"""Camera-aware segmentation (`multiview`) on Blender-rendered photos, scored against the renderer's exact
masks; its parts (axis convergence, voxel votes, support cut, fixed-camera background, per-view
confidence) on constructed inputs whose answer is known; and the bad input it must refuse."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from init_support import BACKDROP, iou, load_views

from softfit import silhouettes as S
from softfit.cameras import Cameras, look_at, turntable
from softfit.errors import InputError
from softfit.silhouettes import confidence, convergence, cutlabels, multiview, staticbackground
from softfit.silhouettes.voxelvotes import VoxelVotes, cut_support


@pytest.fixture(scope="module")
def backdrop_scene(render_dataset_cached):
    return load_views(render_dataset_cached(**BACKDROP))


def test_multiview_beats_grabcut_on_a_textured_room(backdrop_scene):
    images, gt, cams = backdrop_scene
    seg = S.segment_with_info(images, "auto", cameras=cams)
    assert seg.method == "multiview" and "cameras are known" in seg.reason
    v = iou(seg.masks, gt)
    g = iou(S.segment(images, "grabcut"), gt)
    # measured: multiview 0.958 mean (worst view 0.887; 0.93 before the prior hull tolerated 30 % misses,
    # which gained up to 0.17 on the photoreal scenes); grabcut 0.92 (worst 0.75) on this scene
    assert v.mean() >= 0.93 and v.min() >= 0.85, (v.mean(), v.min())
    assert v.mean() > g.mean() + 0.01 and v.min() > g.min() + 0.05, (v, g)
    info = seg.info()
    assert info["method"] == "multiview" and len(info["view_agreement"]) == len(images)
    assert "OTHER views" in info["view_agreement_is"] and "not accuracy" in info["view_agreement_is"]
    assert seg.weights is not None and seg.weights.shape == (len(images),)
    # a good segmentation: the views confirm each other and nothing is flagged
    assert np.median(info["view_relative_agreement"]) >= 0.93 and not info["warnings"], info


def test_agreement_flags_a_wrong_view_and_weights_it_down(backdrop_scene):
    images, gt, cams = backdrop_scene
    good = confidence.assess(cams, gt, [f"v{i}" for i in range(len(gt))])
    assert good.doubtful == [] and (good.weights == 1).all() and not good.warnings
    assert np.median(good.rel) >= 0.95  # true masks: measured 0.977 on a 16-view render
    bad = gt.copy()
    h, w = bad.shape[1:]
    bad[3, h // 2:, :] = True  # view 3 took in the floor below the object
    judged = confidence.assess(cams, bad, [f"v{i}" for i in range(len(gt))])
    assert judged.doubtful == [3] and judged.weights[3] < 0.5 and judged.rel[3] < 0.6
    assert (np.delete(judged.weights, 3) == 1).all()
    assert any("doubtful" in x and "v3" in x for x in judged.warnings)
    # most views reaching the border: the floor, or an object leaving the frame
    edge = gt.copy()
    edge[:, -h // 3:, :] = True
    assert any("touch the image border" in x for x in confidence.assess(cams, edge, list(map(str,
                                                                         range(len(gt))))).warnings)


def test_a_part_only_some_views_keep_is_warned_about(backdrop_scene):
    """Most views lose the object's lower third (as where it has the colour of what lies behind it);
    the views that keep it agree with each other, not with the rest: agreement cannot say which side is
    right, so the judgement must say there is a part only some views keep."""
    _, gt, cams = backdrop_scene
    names = [f"v{i}" for i in range(len(gt))]

    def lose_lower_third(views):
        out = gt.copy()
        for i in views:
            ys = np.flatnonzero(gt[i].any(1))
            out[i, ys[0] + 2 * (ys[-1] - ys[0]) // 3:] = False
        return out

    kept = [0, 4, 8]  # a quarter of the 12 views, spread round the object
    judged = confidence.assess(cams, lose_lower_third([i for i in range(len(gt)) if i not in kept]), names)
    said = [x for x in judged.warnings if "a part of their own" in x]
    assert len(said) == 1 and all(f"v{i}," in said[0] or f"v{i};" in said[0] for i in kept), judged.warnings
    assert all(judged.alone[i] >= confidence.ALONE for i in kept), judged.alone
    assert judged.info()["view_part_alone"] is not None and judged.doubts >= 1
    # Two views keeping it are two doubtful views, not a doubt on the whole capture.
    two = confidence.assess(cams, lose_lower_third([i for i in range(len(gt)) if i not in (0, 6)]), names)
    assert not any("a part of their own" in x for x in two.warnings), two.warnings
    # True masks: the other views' hull is looser than the object, never tighter, so no view keeps one.
    good = confidence.assess(cams, gt, names)
    assert (good.alone < confidence.ALONE).all(), good.alone


def _ring(n: int = 8, size: int = 64) -> Cameras:
    return turntable(np.arange(n) * 360.0 / n, distance=3.0, elevation_deg=25.0, fov_deg=40.0, width=size,
                     height=size)


def test_object_region_from_converging_axes():
    cams = _ring()
    region = convergence.object_region(cams)
    np.testing.assert_allclose(region.center, 0.0, atol=1e-9)
    assert region.spread < 1e-9 and 0.5 < region.radius < 3.0 * np.tan(np.radians(20)) + 1e-9
    centers, radii = region.projected(cams)
    np.testing.assert_allclose(centers, 32.0, atol=1e-6)  # the origin projects to the image centre
    np.testing.assert_allclose(radii, 32.0, atol=1.0)  # the largest sphere reaching the nearest edge


def test_cameras_that_do_not_converge_are_refused():
    eyes = np.array([[x, -3.0, 0.0] for x in (-2.0, 0.0, 2.0)])
    c2w = np.stack([look_at(e, e + np.array([0.0, 1.0, 0.0])) for e in eyes])  # parallel axes
    cams = Cameras(c2w, 50.0, 50.0, 32.0, 32.0, 64, 64)
    with pytest.raises(InputError, match="parallel"):
        convergence.object_region(cams)
    skew = np.stack([look_at(e, e + np.array([0.1 * k, 1.0, 0.3 * (k - 1)])) for k, e in enumerate(eyes)])
    with pytest.raises(InputError, match="do not converge|behind or outside"):
        convergence.object_region(Cameras(skew, 50.0, 50.0, 32.0, 32.0, 64, 64))


def test_blank_photos_end_with_one_clear_error():
    cams = _ring()
    grey = np.full((len(cams), 64, 64, 3), 120, np.uint8)
    with pytest.raises(InputError) as err:
        S.segment(grey, "auto", cameras=cams)
    msg = str(err.value)
    assert "no object could be isolated" in msg and "--silhouette grabcut" in msg and "backdrop" in msg
    assert "\n" not in msg


def _box_votes(occ_fn) -> tuple[VoxelVotes, np.ndarray]:
    cams = _ring()
    votes = VoxelVotes(cams, np.array([-1.0, -1, -1]), np.array([1.0, 1, 1]), 40)
    c = votes.centers
    return votes, occ_fn(c)


def test_support_cut_removes_a_floor_skirt_but_not_an_object_base():
    up = np.array([0.0, 0.0, 1.0])
    pillar = lambda c: (np.abs(c[:, 0]) < 0.3) & (np.abs(c[:, 1]) < 0.3) & (c[:, 2] > -0.5) & (c[:, 2] < 0.6)  # noqa: E731
    # a double tent around the pillar's foot: the hull of a shadow on the floor at z = -0.5
    tent = lambda c: (np.hypot(c[:, 0], c[:, 1]) < 0.8 - 4 * np.abs(c[:, 2] + 0.5))  # noqa: E731
    votes, occ = _box_votes(lambda c: pillar(c) | tent(c))
    cut = cut_support(votes, occ, up)
    object_voxels = pillar(votes.centers)
    left = votes.centers[cut & ~object_voxels]
    assert len(left) < 0.25 * (occ & ~object_voxels).sum()  # the skirt is gone...
    assert (np.abs(left[:, :2]).max(1) < 0.3 + 2 * votes.h).all()  # ...but for the pillar's own footprint
    assert (left[:, 2] > -0.5 - votes.h).all()  # and nothing below the support plane is left
    assert (cut & object_voxels).sum() > 0.9 * object_voxels.sum()  # the pillar stays
    # a cone's base is not much wider than the cone just above it: nothing is cut
    votes, cone = _box_votes(lambda c: (np.hypot(c[:, 0], c[:, 1]) < 0.6 * (0.6 - c[:, 2]) / 1.2)
                             & (c[:, 2] > -0.6) & (c[:, 2] < 0.6))
    np.testing.assert_array_equal(cut_support(votes, cone, up), cone)


def test_hull_votes_and_leave_one_out():
    votes, ball = _box_votes(lambda c: np.linalg.norm(c, axis=1) < 0.5)
    masks = np.stack([votes.project(ball, i) for i in range(len(votes.cameras))])
    inside = votes.inside(masks)
    assert (votes.hull(inside, 0) >= ball).all()  # the hull contains the object
    wrong = masks.copy()
    wrong[2] = False  # one empty view: the strict hull vanishes, one tolerated miss restores it
    assert not votes.hull(votes.inside(wrong), 0).any()
    assert (votes.hull(votes.inside(wrong), 1) >= ball).all()
    assert (votes.hull(votes.inside(wrong), 0, leave_out=2) >= ball).all()


def test_fixed_camera_background_is_detected_only_when_the_camera_stands_still():
    rng = np.random.default_rng(0)
    back = np.kron(rng.integers(0, 255, (6, 12, 3)), np.ones((8, 8, 1))).astype(np.uint8)  # tiles
    frames = []
    for k in range(8):
        im = back.copy()
        im[16:32, 4 + 11 * k: 16 + 11 * k] = (200, 40, 40)  # the object moves, the room stays
        frames.append(im)
    still = staticbackground.detect(np.stack(frames))
    assert still is not None
    changed = still.differs(frames[0])
    assert changed[18:30, 6:14].all() and changed[:10].mean() < 0.05
    moving = np.stack([np.roll(f, 5 * k, axis=1) for k, f in enumerate(frames)])  # the camera pans
    assert staticbackground.detect(moving) is None
    assert not still.plain  # the tiles would have shown a moving camera


def test_featureless_borders_leave_the_fixed_camera_to_the_cameras():
    """A finely grained floor filling the frame matches its median photo whatever the camera did (a
    hand-held orbit round a torus on wood was taken for a fixed camera): such borders are flagged
    `plain`, and only cameras on one circle about the point they look at keep the fixed camera."""
    rng = np.random.default_rng(1)
    frames = []
    for k in range(8):
        im = np.clip(rng.normal(120, 6, (48, 96, 3)), 0, 255).astype(np.uint8)  # grain, no features
        im[16:32, 4 + 11 * k: 16 + 11 * k] = (200, 40, 40)
        frames.append(im)
    still = staticbackground.detect(np.stack(frames))
    assert still is not None and still.plain
    ring = _ring(12)
    assert staticbackground.on_one_circle(ring.centers, np.zeros(3))
    eyes = [(3.0 + 0.3 * (k % 3)) * np.array([np.cos(a) * np.cos(e), np.sin(a) * np.cos(e), np.sin(e)])
            for k, (a, e) in enumerate(zip(np.linspace(0, 2 * np.pi, 12, endpoint=False),
                                           np.radians(np.linspace(15, 45, 12)), strict=True))]
    assert not staticbackground.on_one_circle(np.stack(eyes), np.zeros(3))  # a hand-held orbit
    flat = np.stack([e / np.linalg.norm(e) * 3.0 for e in eyes])
    assert not staticbackground.on_one_circle(flat, np.zeros(3))  # one distance, varying elevation
    level = np.stack([e * np.array([1, 1, 0]) + [0, 0, 1.0] for e in eyes])
    assert not staticbackground.on_one_circle(level, np.array([0, 0, 1.0]))  # one plane, varying distance


def test_fixed_camera_veto_needs_the_colour_models_to_agree():
    """Next to the prior, a pixel the median background explains is forced out only when the colour
    models call it background too: a dark object on a dark cloth matches the median within its noise,
    and the median alone cut its outer loops off for good."""
    prior = np.zeros((100, 100), bool)
    prior[30:70, 30:70] = True  # band: 0.15 x its equivalent radius, 3.4 px
    static = np.ones_like(prior)  # the whole view matches the median background
    bg_like = np.ones_like(prior)
    bg_like[48:52, 70:73] = False  # a dark loop just outside the prior, object-coloured
    labels = cutlabels.prior_labels(prior, prior, static, 0.0, 0.15, bg_like)
    assert (labels[48:52, 70:73] == cv2.GC_PR_BGD).all()  # GrabCut may still take it
    assert (labels[30:34, 70:73] == cv2.GC_BGD).all()  # background by both tests: vetoed
    assert (cutlabels.prior_labels(prior, prior, static, 0.0, 0.15)[48:52, 70:73] == cv2.GC_BGD).all()


def test_multiview_needs_cameras():
    with pytest.raises(InputError, match="needs the views' cameras"):
        S.segment(np.zeros((3, 32, 32, 3), np.uint8), "multiview")
    with pytest.raises(InputError, match="images but"):
        multiview.segment_views(np.zeros((3, 32, 32, 3), np.uint8), _ring())
    with pytest.raises(InputError, match="seed must be in"):  # the option reaches segment_views
        S.segment(np.zeros((8, 32, 32, 3), np.uint8), "multiview", cameras=_ring(8, 32), seed=0)
    with pytest.raises(InputError, match="seed must be in"):
        S.segment(np.zeros((8, 32, 32, 3), np.uint8), "multiview", cameras=_ring(8, 32), seed="big")
    with pytest.raises(InputError, match="unknown option"):
        S.segment(np.zeros((8, 32, 32, 3), np.uint8), "multiview", cameras=_ring(8, 32), seeds=0.2)


def test_an_object_leaving_the_frame_is_refused_not_fitted(render_dataset_cached):
    """Scaled far beyond the frame, the object reaches the image border in every view: one error naming
    the views and what to try, never masks of a part of it (or of the floor) handed to the fit."""
    folder = render_dataset_cached("suzanne", views=8, size="64x48", background="backdrop", elevation=15,
                                   scale=6.0, samples=4)
    images, _, cams = load_views(folder)
    with pytest.raises(InputError) as err:
        S.segment(images, "auto", cameras=cams)
    msg = str(err.value)
    assert "no object could be isolated" in msg and "--silhouette grabcut" in msg and "\n" not in msg

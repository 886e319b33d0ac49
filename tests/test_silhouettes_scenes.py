"""Camera-aware segmentation on the photoreal Cycles scenes (`softfit dataset render --scene ...`), scored
against the scenes' true masks (rendered separately, never given to the method), and the aim check that
warns about an error every view makes alike. Small renders (12 views, 160x120, 4 samples: noisier than
the benchmark's) keep the test to about a minute per scene; the benchmark holds the full-size figures."""

from __future__ import annotations

import numpy as np
import pytest
from init_support import iou

from softfit.bench.silhouettes import truth_view
from softfit.data.load import load_dataset
from softfit.silhouettes import confidence, grabcut, multiview

SMALL = {"views": 12, "size": "160x120", "samples": 4}


def _scene(render_scene_cached, tmp_path_factory, name: str):
    """(photos, true masks, cameras) of a small render of scene `name`, through the real loader."""
    folder = render_scene_cached(name, **SMALL)
    data = load_dataset(truth_view(folder, tmp_path_factory.mktemp(name)), silhouette="mask", image_size=160)
    return data.images, data.silhouettes > 0.5, data.cameras


@pytest.fixture(scope="module")
def glossy(render_scene_cached, tmp_path_factory):
    return _scene(render_scene_cached, tmp_path_factory, "glossy-table")


@pytest.fixture(scope="module")
def handheld(render_scene_cached, tmp_path_factory):
    return _scene(render_scene_cached, tmp_path_factory, "handheld-room")


def test_multiview_beats_single_image_grabcut_on_a_glossy_torus(glossy):
    images, truth, cams = glossy
    mv = multiview.segment_views(images, cams)
    v, g = iou(mv.masks, truth), iou(grabcut.segment(images), truth)
    # measured on this render: multiview 0.774 mean (worst view 0.603), GrabCut 0.598; before the
    # tolerant prior hull and the background-like pixels left unforced, multiview was below GrabCut here
    # (0.59 at full size). Holes (the torus's) are still filled: the benchmark's gap to the truth.
    assert v.mean() >= 0.74 and v.min() >= 0.5, (v.mean(), v.min())
    assert v.mean() > g.mean() + 0.1, (v.mean(), g.mean())


def test_a_part_lost_in_every_view_is_warned_about(handheld):
    """The bucket's white half looks like the white floor, so every view loses it alike and the views
    agree with each other: the agreement alone would not doubt them. The aim check does; the true masks
    pass it."""
    images, truth, cams = handheld
    names = [f"v{i}" for i in range(len(images))]
    mv = multiview.segment_views(images, cams, names)
    true_iou = iou(mv.masks, truth).mean()
    assert true_iou < 0.8, true_iou  # measured 0.62: the consistent error this test is about
    aim = [w for w in mv.confidence.warnings if "aim at" in w]
    assert aim and "agreement between views cannot reveal" in aim[0], mv.confidence.warnings
    assert "above it (the object's lower part may be missing" in aim[0], aim[0]  # the half it lost
    # measured 0.155 for the segmentation, 0.061 for the true masks (threshold 0.12)
    assert mv.confidence.aim_offset > confidence.AIM_OFFSET
    good = confidence.assess(cams, truth, names)
    assert good.aim_offset is not None and good.aim_offset < confidence.AIM_OFFSET - 0.03, good.aim_offset
    assert not any("aim at" in w for w in good.warnings), good.warnings
    info = mv.confidence.info()
    assert info["aim_offset"] == pytest.approx(mv.confidence.aim_offset, abs=1e-4) and info["aim_offset_is"]
    # The warnings that doubt the masks end with what the user can give instead, once; the true masks
    # draw no such advice.
    assert info["warnings"][-1] == confidence.ADVICE and info["warnings"].count(confidence.ADVICE) == 1
    assert confidence.ADVICE not in good.info()["warnings"]


def test_advice_follows_doubts_about_the_masks_not_a_few_doubtful_views():
    """A few doubtful views are down-weighted and the others carry the fit: no advice. A warning about the
    masks as a whole (poor agreement, border, aim, enclosed background) adds it, after every warning."""
    names = ["a", "b", "c", "d"]
    agree, edge = np.array([0.99, 0.98, 0.5, 0.99]), np.zeros(4, bool)
    said = confidence.warnings_for(agree, edge, [2], names)
    assert len(said) == 1 and "doubtful" in said[0]
    few = confidence.ViewConfidence(agree, edge, np.ones(4), [2], names, said, agree, doubts=0)
    assert confidence.ADVICE not in few.info()["warnings"]
    swallowed = few.with_enclosed(np.full(4, 0.2))  # 20 % of every mask looks like the background
    assert swallowed.doubts == 1
    w = swallowed.info()["warnings"]
    assert w[0] == said[0] and "enclose background-coloured" in w[1] and w[-1] == confidence.ADVICE
    poor = confidence.warnings_for(np.full(4, 0.5), edge, [0, 1, 2, 3], names)
    assert len(poor) == 2 and "agree poorly" in poor[0] and "doubtful" in poor[-1]


def test_aim_offset_measures_how_far_masks_sit_off_the_aim_point():
    masks = np.zeros((3, 40, 40), bool)
    masks[:, 10:30, 10:30] = True  # a 20 px square centred on (20, 20)
    np.testing.assert_allclose(confidence.aim_offset(masks, np.full((3, 2), 20.0)), 0.0, atol=1e-9)
    # shifted 5 px: 5 / sqrt(400) = 0.25 in every view (the median over views)
    assert confidence.aim_offset(masks, np.array([[25.0, 20.0], [20.0, 15.0], [25.0, 20.0]])) == \
        pytest.approx(0.25)
    assert confidence.aim_offset(np.zeros((2, 8, 8), bool), np.zeros((2, 2))) is None


def test_aim_side_names_where_the_masks_sit_when_the_views_agree_on_it():
    masks = np.zeros((3, 40, 40), bool)
    masks[:, 10:30, 10:30] = True  # centred on (20, 20)
    below = np.array([[20.0, 14.0], [21.0, 15.0], [19.0, 14.0]])  # the aim above the masks' centres
    assert confidence.aim_side(masks, below) == "below"
    assert confidence.aim_side(masks, np.array([[26.0, 20.0], [25.0, 21.0], [26.0, 19.0]])) == "left of"
    assert confidence.aim_side(masks, np.array([[26.0, 20.0], [14.0, 20.0], [20.0, 26.0]])) is None  # no side
    w = confidence.warnings_for(np.ones(3), np.zeros(3, bool), [], ["a", "b", "c"], 0.3, "below")
    assert any("below it (the object's upper part may be missing" in x for x in w), w
    assert any("aim at" in w for w in confidence.warnings_for(np.ones(3), np.zeros(3, bool), [],
                                                              ["a", "b", "c"], 0.25))
    assert not confidence.warnings_for(np.ones(3), np.zeros(3, bool), [], ["a", "b", "c"], 0.05)


def test_colour_model_reads_grabcuts_mixtures():
    """The GMM rows GrabCut learns give background pixels a higher background likelihood (and object
    pixels a higher object one) on a two-colour image."""
    import cv2

    from softfit.silhouettes.colourmodel import log_likelihood, looks_like_background

    rng = np.random.default_rng(0)
    img = np.clip(rng.normal(60, 8, (60, 80, 3)), 0, 255).astype(np.uint8)
    img[20:40, 30:50] = np.clip(rng.normal((200, 40, 40), 8, (20, 20, 3)), 0, 255).astype(np.uint8)
    labels = np.full((60, 80), cv2.GC_PR_BGD, np.uint8)
    labels[15:45, 25:55] = cv2.GC_PR_FGD
    labels[:3], labels[-3:], labels[:, :3], labels[:, -3:] = (cv2.GC_BGD,) * 4
    bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
    cv2.setRNGSeed(0)
    cv2.grabCut(img, labels, None, bgd, fgd, 3, cv2.GC_INIT_WITH_MASK)
    like = looks_like_background(img, bgd, fgd)
    assert like[:15].mean() > 0.95 and like[22:38, 32:48].mean() < 0.05
    assert np.isfinite(log_likelihood(img, bgd)).all()
    assert not looks_like_background(img, np.zeros((1, 65)), fgd).any()  # unlearnt model: no claim


def test_the_scene_paths_are_real(glossy):
    """Guards the fixtures: real photos, and true masks that are neither empty nor full."""
    images, truth, _ = glossy
    assert images.dtype == np.uint8 and images.std() > 10
    frac = truth.mean((1, 2))
    assert (frac > 0.02).all() and (frac < 0.8).all()


@pytest.mark.slow
def test_a_part_a_few_views_lost_is_given_back(render_scene_cached, tmp_path_factory, monkeypatch):
    """A torus small in the frame on a forest floor (16 views, 320x240, 4 samples, loaded at 256 px): parts
    some views lose come back where the hull of all the final masks holds them (`agreed`), against the
    same segmentation without that step (measured 0.791 -> 0.832 mask IoU against the true masks; the
    benchmark's render 0.812 -> 0.855)."""
    from softfit.silhouettes import agreed

    folder = render_scene_cached("dev-small-torus", views=16, size="320x240", samples=4)
    data = load_dataset(truth_view(folder, tmp_path_factory.mktemp("small-torus")), silhouette="mask",
                        image_size=256)
    truth = data.silhouettes > 0.5
    seg = multiview.segment_views(data.images, data.cameras)
    new = iou(seg.masks, truth).mean()
    assert any("given back" in n for n in seg.notes), seg.notes
    monkeypatch.setattr(agreed, "restore",
                        lambda votes, occ, masks, band, up: (masks, np.zeros(len(masks), int)))
    old = iou(multiview.segment_views(data.images, data.cameras).masks, truth).mean()
    assert new > old + 0.02, (new, old)


def test_unchanging_share_and_its_warning():
    """The share of mask pixels a fixed camera's median photo explains, over the views with a mask; at or
    above UNCHANGING the views are one view seen many times, and that doubts the masks as a whole."""
    masks = np.zeros((3, 10, 10), bool)
    masks[:2, 2:6, 2:6] = True  # 16 px each; the third view has no mask and does not count
    static = np.zeros_like(masks)
    static[0, 2:6, 2:6] = True
    static[1, 2:4, 2:6] = True
    assert confidence.unchanging_share(static, masks) == pytest.approx((1.0 + 0.5) / 2)
    assert confidence.unchanging_share(static, np.zeros_like(masks)) == 0.0
    names = ["a", "b", "c"]
    base = confidence.ViewConfidence(np.ones(3), np.zeros(3, bool), np.ones(3), [], names, [], np.ones(3))
    quiet = base.with_unchanging(confidence.UNCHANGING - 0.01)
    assert quiet.doubts == 0 and not quiet.info()["warnings"]
    alike = base.with_unchanging(1.0)
    w = alike.info()["warnings"]
    assert alike.doubts == 1 and "looks the same in every view" in w[0] and w[-1] == confidence.ADVICE


@pytest.mark.parametrize(("name", "alike"), [("dev-dark-bucket", True), ("dev-knot-city", False)])
def test_an_object_that_looks_alike_from_every_side_on_a_turntable_is_warned_about(render_scene_cached, name,
                                                                                    alike):
    """A bucket turning about its own axis gives the same photo in every view: the views cannot check each
    other (unseen drawn scenes: a torus whose hole the turntable shows through agreed with its own masks
    0.04 above the truth, unwarned). A knot turning on the same kind of turntable changes in every view."""
    folder = render_scene_cached(name, views=12, size="200x150", samples=8)  # dark: SMALL is too noisy
    seg = load_dataset(folder, silhouette="multiview", image_size=200).info["segmentation"]
    assert (seg["unchanging"] >= confidence.UNCHANGING) == alike
    assert any("looks the same in every view" in w for w in seg["warnings"]) == alike
    if alike:
        assert seg["warnings"][-1] == confidence.ADVICE


def test_a_hand_held_orbit_over_a_plain_floor_is_not_taken_for_a_fixed_camera(render_scene_cached,
                                                                               tmp_path_factory):
    """A dark torus on a finely grained wooden floor that fills every frame (an unseen drawn scene): the
    image borders match their median photo although the camera moved, and the capture was reported as a
    fixed-camera turntable, whose disc step ran instead of the table's. The borders are featureless and
    the cameras vary in elevation and distance, so it is not a fixed camera (the median still serves as
    the background); the turntables above stay fixed cameras (their cameras lie on one circle)."""
    images, _, cams = _scene(render_scene_cached, tmp_path_factory, "drawn-6-7")
    seg = multiview.segment_views(images, cams)
    assert any("this is not a fixed camera" in n for n in seg.notes), seg.notes
    assert not any(n.startswith("fixed camera") for n in seg.notes), seg.notes

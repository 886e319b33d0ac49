"""Cast shadows taken in with the object are cut off the masks (`castshadow`): the colour test on a
synthetic photo, and the whole step on real Cycles renders against the true masks."""

from __future__ import annotations

import numpy as np
import pytest
from init_support import iou
from splat_support import rendered

from softfit.bench.silhouettes import truth_view
from softfit.data.load import load_dataset
from softfit.silhouettes import castshadow, multiview


def _photo(object_rgb: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(image, object, shadow): a grainy beige floor, a disc of `object_rgb` and the disc's shadow cast to
    its right (the floor at 40 % brightness), touching it."""
    rng = np.random.default_rng(0)
    h, w = 120, 160
    img = np.clip(np.array([190, 160, 120]) + rng.normal(0, 6, (h, w, 3)), 0, 255)
    yy, xx = np.mgrid[:h, :w]
    disc = (xx - 60) ** 2 + (yy - 60) ** 2 <= 30**2
    shadow = ((xx - 85) ** 2 / 40**2 + (yy - 75) ** 2 / 15**2 <= 1) & ~disc
    img[shadow] *= 0.4
    img[disc] = np.clip(np.array(object_rgb) + rng.normal(0, 6, (int(disc.sum()), 3)), 0, 255)
    return img.astype(np.uint8), disc, shadow


def test_a_shadow_in_the_floors_colour_is_a_candidate_and_the_object_is_not():
    img, disc, shadow = _photo((40, 70, 170))  # a blue object
    cand = castshadow.candidates(img, disc | shadow)
    assert cand[shadow].mean() > 0.9, cand[shadow].mean()
    assert cand[disc].mean() < 0.02, cand[disc].mean()
    cleared = castshadow.clear(img[None], (disc | shadow)[None])[0]
    assert iou(cleared[None], disc[None])[0] > 0.95


def test_the_lit_support_the_mask_reaches_over_is_a_candidate_and_a_brighter_patch_is_not():
    """The floor in full light, taken in beside the object (the turntable under a head that overhangs its
    neck), has the floor's colour and brightness: a candidate like the shadow. Much brighter than the floor
    next to it (a highlight in the floor's colour) it is not the support."""
    img, disc, shadow = _photo((40, 70, 170))
    yy, xx = np.mgrid[: img.shape[0], : img.shape[1]]
    lit = ((xx - 35) ** 2 / 25**2 + (yy - 95) ** 2 / 12**2 <= 1) & ~disc & ~shadow  # attached below-left
    cand = castshadow.candidates(img, disc | shadow | lit)
    assert cand[lit].mean() > 0.9 and cand[shadow].mean() > 0.9, (cand[lit].mean(), cand[shadow].mean())
    assert cand[disc].mean() < 0.02, cand[disc].mean()
    bright = img.copy()
    bright[lit] = np.clip(bright[lit].astype(float) * 1.6, 0, 255).astype(np.uint8)
    assert castshadow.candidates(bright, disc | shadow | lit)[lit].mean() < 0.1
    # Where the pixels are known to be object (what the standing rule filled), only a shadow's darkness
    # makes a candidate: a white part of the object looks like a pale support in light.
    known = castshadow.candidates(img, disc | shadow | lit, keep=lit | shadow)
    assert known[lit].mean() < 0.02 and known[shadow].mean() > 0.9, (known[lit].mean(), known[shadow].mean())


def test_an_object_in_the_floors_own_colour_is_never_cut():
    """No chromaticity to tell a shadow by (a dark object on a dark cloth, a beige one on a beige floor):
    nothing is flagged, whatever is darker."""
    img, disc, shadow = _photo((95, 80, 60))  # the floor's colour, darker
    assert not castshadow.candidates(img, disc | shadow).any()


def test_a_dark_object_is_left_alone():
    """A near-black object's colour is mostly what it mirrors (its lower rim, the support's colour, darker:
    a shadow's look): below DARK x its surroundings' brightness nothing is flagged."""
    img, disc, shadow = _photo((6, 8, 18))  # a dark blue object, darker than a fifth of the floor
    assert not castshadow.candidates(img, disc | shadow).any()
    img, disc, shadow = _photo((40, 70, 170))
    assert castshadow.candidates(img, disc | shadow).any()  # the same scene with a brighter object


@pytest.mark.slow
@pytest.mark.parametrize(("name", "render", "gain"), [
    ("drawn-2-11", {"views": 16, "size": "320x240", "samples": 8}, 0.1),
    ("handheld-room", {"views": 12, "size": "160x120", "samples": 4}, -0.005),  # test_silhouettes_scenes'
])
def test_cast_shadows_cut_where_they_are_and_nothing_lost_where_they_are_not(
        render_scene_cached, tmp_path_factory, monkeypatch, name, render, gain):
    """A blue cylinder on a wooden floor under the sun, its long shadow taken in by every view, against the
    same segmentation without the step (measured 0.800 -> 0.957 mask IoU against the true masks); and a
    two-tone bucket whose cream half looks like the pale floor in shade: what the colour test flags there
    the other views keep, so nothing is lost (0.616 both ways at this size)."""
    folder = render_scene_cached(name, **render)
    size = int(render["size"].split("x")[0])
    data = load_dataset(truth_view(folder, tmp_path_factory.mktemp(name)), silhouette="mask",
                        image_size=min(size, 256))
    images, truth, cams = data.images, data.silhouettes > 0.5, data.cameras
    seg = multiview.segment_views(images, cams)
    new = iou(seg.masks, truth).mean()
    monkeypatch.setattr(castshadow, "clear", lambda images, masks, keep=None: masks)
    old = iou(multiview.segment_views(images, cams).masks, truth).mean()
    assert new >= old + gain, (new, old)
    if gain > 0:
        assert any("the support next to the object" in n for n in seg.notes), seg.notes


@pytest.mark.slow
def test_the_lit_turntable_under_an_overhanging_head_is_cut(render_scene_cached, tmp_path_factory,
                                                            monkeypatch):
    """A clay Suzanne turning on a grey turntable (an unseen drawn scene): the hull of one ring of views
    cannot carve the space under the head, and the lit disc seen there stayed in 15 masks of 16. It has
    the disc's colour and brightness, so the support's test takes it with the shadow (measured at this
    size 0.824 -> 0.945 mask IoU against the true masks, against the shadows-only bound)."""
    images, truth, cams = rendered(render_scene_cached, tmp_path_factory, "drawn-6-6")
    seg = multiview.segment_views(images, cams)
    new = iou(seg.masks, truth).mean()
    monkeypatch.setattr(castshadow, "BRIGHTNESS", (castshadow.BRIGHTNESS[0], 0.85))
    old = iou(multiview.segment_views(images, cams).masks, truth).mean()
    assert new >= 0.9 and new >= old + 0.08, (new, old)


@pytest.mark.slow
def test_what_the_standing_rule_made_object_is_not_cut_as_the_support(render_scene_cached, tmp_path_factory,
                                                                     monkeypatch):
    """A two-tone bucket on a pale floor: every view lost its white lower half, the standing rule made it
    object again, and the white half has the floor's colour and brightness, so the support's test flags
    it. Where the rule made object only a shadow is cut, and it stays (measured at this size 0.930 mask
    IoU against the true masks; 0.750 when the step may cut what the standing rule made)."""
    images, truth, cams = rendered(render_scene_cached, tmp_path_factory, "handheld-room")
    seg = multiview.segment_views(images, cams)
    assert seg.stood, seg.notes
    new = iou(seg.masks, truth).mean()
    cut = multiview._cut_shadows
    monkeypatch.setattr(multiview, "_cut_shadows", lambda *a: cut(*a[:10]))  # without `made`
    old = iou(multiview.segment_views(images, cams).masks, truth).mean()
    assert new >= 0.9 and new >= old + 0.1, (new, old)

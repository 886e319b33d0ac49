"""The support plane found by sweeping the photos (softfit.silhouettes.supportsweep): on a ray-traced scene
with a known floor and a real Cycles scene, the plane is found at the floor's height, the pixels it names
are the floor's (a cast shadow included) and not the object's, and it names nothing on a floor with no
texture to match."""

import numpy as np
import pytest

from softfit.cameras import Cameras, turntable
from softfit.pixelbox import around
from softfit.silhouettes import supportsweep
from softfit.silhouettes.convergence import ObjectRegion
from softfit.silhouettes.cutlabels import prior_labels

FLOOR = -0.35  # the floor's height (world +Z up); the ball of radius 0.35 rests on it at the origin
BALL = 0.35
SHADOW = (np.array([0.35, 0.25]), 0.4)  # a disc of the floor darkened by half, fixed in the world


def _palette(seed: int, n: int = 4096) -> np.ndarray:
    return np.random.default_rng(seed).uniform(30, 230, (n, 3))


def _trace(cams: Cameras, floor_texture: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(images (N, H, W, 3) uint8, ball masks, shadow masks): a blocky-textured ball resting on a floor of
    coloured 0.1-unit tiles with a shadow disc on it beside the ball (or a flat grey floor, no shadow),
    grey sky."""
    floor_pal, ball_pal = _palette(0), _palette(1)
    n, h, w = len(cams), cams.height, cams.width
    imgs = np.zeros((n, h, w, 3))
    ball = np.zeros((n, h, w), bool)
    shade = np.zeros((n, h, w), bool)
    yy, xx = np.mgrid[:h, :w] + 0.5
    for i in range(n):
        d = np.stack([(xx - cams.cx[i]) / cams.fx[i], -(yy - cams.cy[i]) / cams.fy[i], -np.ones_like(xx)],
                     -1)
        d = d @ cams.c2w[i, :3, :3].T
        d /= np.linalg.norm(d, axis=-1, keepdims=True)
        o = cams.c2w[i, :3, 3]
        b = d @ o
        disc = b * b - (o @ o - BALL**2)
        s_ball = np.where(disc > 0, -b - np.sqrt(np.maximum(disc, 0)), np.inf)
        s_floor = np.where(d[..., 2] < 0, (FLOOR - o[2]) / np.minimum(d[..., 2], -1e-9), np.inf)
        img = np.full((h, w, 3), 120.0) + 40 * d[..., 2:3]  # sky
        on_floor = np.isfinite(s_floor) & (s_floor < s_ball)
        p = o + s_floor[..., None] * d
        if floor_texture:
            cell = np.floor(p[..., :2] / 0.1).astype(np.int64)
            key = (cell[..., 0] * 7919 + cell[..., 1]) % 4096
            img[on_floor] = floor_pal[key[on_floor]]
        else:
            img[on_floor] = 150.0
        dark = on_floor & (np.linalg.norm(p[..., :2] - SHADOW[0], axis=-1) < SHADOW[1]) & floor_texture
        img[dark] *= 0.5
        on_ball = np.isfinite(s_ball) & (s_ball <= s_floor)
        q = o + s_ball[..., None] * d
        theta = np.arctan2(q[..., 1], q[..., 0])
        phi = np.arccos(np.clip(q[..., 2] / BALL, -1, 1))
        key = (np.floor(theta * 3).astype(np.int64) * 131 + np.floor(phi * 6).astype(np.int64)) % 4096
        img[on_ball] = ball_pal[key[on_ball]]
        imgs[i], ball[i], shade[i] = img, on_ball, dark
    return np.clip(imgs, 0, 255).astype(np.uint8), ball, shade


def _aim(cams: Cameras) -> ObjectRegion:
    """Where the ring's cameras aim: the ball's centre, with room for the ball and its shadow."""
    return ObjectRegion(np.zeros(3), 0.5, np.full(len(cams), 3.0), 0.0)


@pytest.fixture(scope="module")
def ring() -> Cameras:
    return turntable(np.arange(0, 360, 30), distance=3.0, elevation_deg=35.0, fov_deg=50.0, width=160,
                     height=120)


def test_the_floor_is_found_at_its_height_and_its_pixels_are_not_the_object(ring):
    images, ball, shade = _trace(ring)
    found = supportsweep.sweep(images, ring, np.array([0.0, 0.0, 1.0]), _aim(ring))
    assert found is not None
    step = (supportsweep.HIGHEST - supportsweep.LOWEST) * 0.5 / (supportsweep.HEIGHTS - 1)  # height step
    assert abs(found.height - FLOOR) <= 1.01 * step
    floor = ~ball & _floor_seen(ring)
    # measured: 0.06 % of the ball, 39 % of the floor (the inside of a flat tile has nothing to match:
    # only windows across tile edges take part), 56 % of the shadow
    assert found.pixels[ball].mean() < 0.02  # the ball's own texture does not agree through the floor
    assert found.pixels[floor & ~shade].mean() > 0.3
    assert found.pixels[shade].mean() > 0.3  # a shadow fixed in the world is the floor, darker


def test_comparing_a_box_gives_the_whole_image_s_votes_inside_it(ring):
    """The sweep compares only a box around the pixels it counts (`around`): inside it, at least the
    comparison window from its edges, every vote is the one the whole image gives."""
    images, ball, _ = _trace(ring)
    views = supportsweep.WindowedViews(images)
    nb = supportsweep.neighbours(ring)
    up = np.array([0.0, 0.0, 1.0])
    for i in (0, 5):
        box = around(ball[i], supportsweep.WINDOW)
        assert box is not None and box[0].stop - box[0].start < ring.height
        for height in (FLOOR, 0.0):
            full = views.votes(ring, i, nb, up, height)
            part = views.votes(ring, i, nb, up, height, box)
            sel = ball[i][box]
            assert part[0].shape == sel.shape and sel.sum() > 100
            assert all((f[box][sel] == q[sel]).all() for f, q in zip(full, part, strict=True))
            assert full[0][box][sel].sum() > 0  # the ball's pixels take part at all


def _floor_seen(cams: Cameras) -> np.ndarray:
    out = []
    for i in range(len(cams)):
        pts, ok = supportsweep.plane_points(cams, i, np.array([0.0, 0.0, 1.0]), FLOOR)
        out.append(ok & (np.abs(pts[..., :2]).max(-1) < 1.5))  # near the object, not at the horizon
    return np.stack(out)


def test_a_floor_with_nothing_to_match_gives_no_plane(ring):
    images, _, _ = _trace(ring, floor_texture=False)
    assert supportsweep.sweep(images, ring, np.array([0.0, 0.0, 1.0]), _aim(ring)) is None


def test_the_footprint_covers_the_object_s_base_and_not_the_floor_beside_it(ring):
    # cells of the ball's lower half, on the floor plane
    g = np.linspace(-BALL, BALL, 41)
    pts = np.stack(np.meshgrid(g, g, [FLOOR + 0.01]), -1).reshape(-1, 3)
    pts = pts[np.linalg.norm(pts[:, :2], axis=1) < BALL]
    cells = supportsweep.plane_cells(pts, np.array([0.0, 0.0, 1.0]), 0.05)
    foot = supportsweep.footprint(cells, ring, np.array([0.0, 0.0, 1.0]), FLOOR, 0.05)
    base = []
    for i in range(len(ring)):
        p, ok = supportsweep.plane_points(ring, i, np.array([0.0, 0.0, 1.0]), FLOOR)
        base.append((np.linalg.norm(p[..., :2], axis=-1), ok))
    r = np.stack([b[0] for b in base])
    assert foot[r < 0.9 * BALL].all()
    assert not foot[r > BALL + 0.15].any()


def test_a_shadow_two_views_see_the_floor_through_is_empty_and_the_ball_is_not(ring):
    """The footprint's hull loses the voxels two views see the floor through (`seen_through`): over the
    shadow disc beside the ball every one, of the ball none (measured: with one view 0.9 % of the ball,
    where its texture happens to agree through the floor)."""
    from softfit.silhouettes.voxelvotes import VoxelVotes

    images, _, _ = _trace(ring)
    pixels = supportsweep.plane_pixels(images, ring, np.array([0.0, 0.0, 1.0]), FLOOR, 0.5)
    votes = VoxelVotes(ring, np.array([-0.8, -0.8, FLOOR]), np.array([0.8, 0.8, BALL]), 48)
    c = votes.centers
    in_ball = np.linalg.norm(c, axis=1) < BALL
    shadow = ((c[:, 2] < FLOOR + 0.05) & (np.linalg.norm(c[:, :2] - SHADOW[0], axis=1) < SHADOW[1])
              & (np.linalg.norm(c[:, :2], axis=1) > BALL))  # a slab on the shadow, not under the ball
    assert in_ball.sum() > 1000 and shadow.sum() > 100
    empty = supportsweep.seen_through(votes.inside(pixels))
    assert empty[shadow].mean() > 0.9
    assert not empty[in_ball].any()
    assert supportsweep.seen_through(votes.inside(pixels), views=1)[in_ball].any()


def test_support_pixels_are_sure_background_whatever_the_prior_says():
    import cv2

    prior = np.zeros((40, 40), bool)
    prior[10:30, 10:30] = True
    support = np.zeros_like(prior)
    support[25:30, 10:30] = True  # the bottom rows of the prior: a shadow the hull took in
    labels = prior_labels(prior, prior, None, 0.02, 0.15, support=support)
    assert (labels[support] == cv2.GC_BGD).all()
    assert (labels[12:24, 12:28] != cv2.GC_BGD).all()


@pytest.mark.slow
def test_the_table_is_found_in_real_photos_and_the_masks_do_not_lose(render_scene_cached, tmp_path):
    """Development scene `dev-torus-forest` (never benchmarked; the render the hole test shares, 12 views
    at 320x240): the sweep finds the table top (the true mesh rests on z = 0) without any 3-D points,
    and the camera-aware segmentation with it is at least as close to the true masks as without."""
    from softfit.bench.silhouettes import truth_view
    from softfit.data.load import load_dataset
    from softfit.metrics import silhouette_iou
    from softfit.silhouettes.convergence import object_region
    from softfit.silhouettes.multiview import _small, _up, segment_views

    folder = render_scene_cached("dev-torus-forest", views=12, size="320x240", samples=8)
    data = load_dataset(truth_view(folder, tmp_path), silhouette="mask", image_size=256)
    truth = data.silhouettes > 0.5
    small, cams = _small(data.images, data.cameras, 200)
    region = object_region(cams)
    up = _up(cams, region.center)
    assert up is not None and up[2] > 0.99
    found = supportsweep.sweep(small, cams, up, region)
    assert found is not None
    step = (supportsweep.HIGHEST - supportsweep.LOWEST) * region.radius / (supportsweep.HEIGHTS - 1)
    assert abs(found.height - 0.0) <= 1.5 * step
    with_sweep = segment_views(data.images, data.cameras)  # the default: on
    assert any(n.startswith("support plane found by a plane sweep") for n in with_sweep.notes)
    without = segment_views(data.images, data.cameras, sweep=False)
    assert not any("plane sweep" in n for n in without.notes)
    iou_with = silhouette_iou(with_sweep.masks, truth).mean()
    iou_without = silhouette_iou(without.masks, truth).mean()
    print(f"mask IoU with the sweep {iou_with:.3f}, without {iou_without:.3f}")
    assert iou_with >= iou_without - 0.005
    assert iou_with > 0.9


@pytest.mark.slow
def test_a_shadow_under_a_ball_is_taken_out_of_the_footprint_on_real_renders(render_scene_cached,
                                                                            tmp_path_factory, monkeypatch):
    """A clay ball on tiles, hand-held (drawn-4-7): its shadow lies partly under the ball, so the ball's
    overhang put it in the footprint, and the masks kept it. The voxels two views see the tiles through
    leave the footprint's hull, and the shadow's support pixels become background. Mask IoU against the
    true masks, with and without `seen_through` (measured on the benchmark's render: 0.881 and 0.857)."""
    from init_support import iou
    from splat_support import as_benchmarked

    from softfit.silhouettes import multiview

    masks, truth = as_benchmarked(render_scene_cached, tmp_path_factory, "drawn-4-7")
    new, notes = masks()
    assert any(n.startswith("support plane found by a plane sweep") for n in notes), notes
    monkeypatch.setattr(multiview.supportsweep, "seen_through",
                        lambda inside: np.zeros(inside.shape[1], bool))
    old, _ = masks()
    gained, lost = iou(new, truth).mean(), iou(old, truth).mean()
    print(f"mask IoU {gained:.3f}, without seen_through {lost:.3f}")
    assert gained >= 0.87 and gained >= lost + 0.015, (gained, lost)

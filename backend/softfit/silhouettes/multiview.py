"""`multiview`: segmentation that uses the cameras: the object is what every camera looks at.

After Campbell, Vogiatzis, Hernández and Cipolla (2010, 2011), in our own simpler form:
1. locate the object in 3-D where the optical axes converge (`convergence.object_region`);
2. seed every view from that region's projection: a disc around it probable object, the image frame
   sure background (and, for a fixed camera, pixels that differ from the median background probable
   object: `staticbackground`), and let OpenCV GrabCut learn the view's own colour models of object and
   background and cut;
3. carve the visual hull from all masks, tolerating many wrong views (`voxelvotes`; a voxel may fall
   outside up to `prior_miss_frac` of the masks: a strict hull turns a part lost in a few views into sure
   background in every view, and the loss spreads round after round; measured: 0.2 -> 0.4 raised the
   photoreal scenes' mask IoU by up to 0.17 (glossy torus 0.59 -> 0.76), but cost 0.05 on an 8-view
   capture, whose hull with 3 misses allowed is much looser than the object; 0.3 keeps both gains), cut
   a support plane's skirt off its base (`voxelvotes.cut_support`; at the plane found among the
   capture's 3-D points when it has them: `supportplane`; else at the one a plane sweep of the
   photos finds: `supportsweep`, whose pixels that see the plane beside the object's footprint are sure
   background), and reproject it into every view as
   the prior of the next round: well inside it sure object, well outside it sure background (also where
   a fixed camera sees its unchanged background), GrabCut decides the band between; pixels inside it that
   look like background (to the last round's colour models, or to models of the mask's rim against its
   surroundings) are left for GrabCut to decide (`colourmodel`), and so is the prior's deep interior,
   where a hole the hull cannot carve hides;
4. repeat until the masks stop changing;
5. when they all sit above the point the cameras aim at (a lower part every view lost alike, which
   agreement cannot reveal) and their hull floats above the support plane (the capture's 3-D points',
   or else the one `supportsweep.find_height` finds in the photos; on a fixed-camera turntable, whose
   photos the sweep cannot use, the disc's top, found by its rims' colour edges in the median photo:
   `turntable.find_below`), take the object to stand on it: the gap under the hull is made object in
   the priors (`standing`) and the rounds run again; when that plane is too far down (the floor under a
   table), a table's top found near the object between it and the hull (`topsweep`) takes its place;
6. on a fixed-camera turntable, cut off the turntable's disc when the masks took it in (`turntable`: its
   rim lies on their outlines and something stands on it); with moving cameras, a table's top seen
   whole (`tabletop`: the hull widens sharply at its height, or, under a flat object, the views agree
   on the grain of its plane inside the masks; and the far views see its plane alike);
   either is cut by its colour (`supportcut`), and left, with a warning, when the object on it has
   that colour; a table's top cut off is the support in the rounds that follow (a shadow on it, which
   the views agree on along its plane, is background);
7. open what still looks like the background around each mask (`colourmodel.background_regions`),
   unless the neighbouring views see a surface there (`seenthrough`: a patch of the object painted in a
   colour of its surroundings).
8. cut off what looks like a shadow on the support next to the object (the background's colour,
   darker) where the views see the hull's base and no other view keeps that place (`castshadow`);
9. give back to each view what the hull of all the final masks (tolerating `miss_frac` of them) shows
   well inside its outline and the view lost, not enclosed by its mask (`agreed`: a mug's pale rim
   against pale tiles, lost by a few views, which the rounds could not bring back).
A view's confidence is the IoU of its mask with the hull carved from the *other* views: it says how much
the rest of the capture agrees with that view, which a wrong mask cannot vouch for itself.
GrabCut, hull and priors work on a copy at most `max_side` pixels long; the final masks are upsampled
and their edge pixels re-decided by coverage at full resolution (`common.refine_edges`). The holes
they have are then widened there (`widenholes`). Many sizes in
the later steps are pixels of that copy (kernels, rings, windows): working on the full 400 x 300 photos
(round 34, the 37 photoreal scenes whose object covers under 3.3 % of the frame) raised some small objects
(drawn-5-10 0.695 -> 0.956 mask IoU) but lowered 23 of the 37 and collapsed five, whose masks took in
the support (4-8 x the object's area: two turntables' discs no longer cut, three tables' tops kept;
drawn-6-5 0.900 -> 0.126), at about 4 x the time."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial

import cv2
import numpy as np

from softfit.cameras import Cameras
from softfit.errors import InputError
from softfit.silhouettes import (
    agreed,
    castshadow,
    seenthrough,
    standing,
    staticbackground,
    supportsweep,
    tabletop,
    topsweep,
    turntable,
    widenholes,
    zoomin,
)
from softfit.silhouettes.colourmodel import background_regions, enclosed_background
from softfit.silhouettes.common import (
    check_images,
    clean_mask,
    per_view,
    refine_edges,
)
from softfit.silhouettes.confidence import (
    AIM_OFFSET,
    ViewConfidence,
    aim_offset,
    aim_side,
    enclosed_fractions,
    judge,
    touches_border,
    unchanging_share,
)
from softfit.silhouettes.convergence import object_region
from softfit.silhouettes.cutlabels import grabcut, mask_labels, prior_labels, seed_labels
from softfit.silhouettes.seedretry import NotIsolated, SeedFree, with_smaller_seed
from softfit.silhouettes.supportplane import Plane, find_support
from softfit.silhouettes.voxelvotes import VoxelVotes, cut_support

KEEP_AFTER_CUT = 0.5  # a support plane found in the photos that cuts more of the hull away is not the support
GAP_CLOSE = 5  # px: gaps between support pixels closed before they are taken out of the footprint's hull
# When that hull keeps less than this share of the masks' own, the object lies flat on the plane and its
# pixels agree there as the support's do: none is made background (a dark airplane on a table top,
# drawn-9-9: at most 0.032 in every round; where a shadow was taken out, 0.27 at least: drawn-2-2, 6-9, 9-2)
FLAT = 0.1
LEAVES_FRAME = 0.75  # masks reaching the border in this fraction of views: no whole object to fit
TRY = ("try --silhouette grabcut, give masks (--silhouette mask with a masks/ folder), or photograph the "
       "empty scene and pass it (--silhouette backdrop:backdrop=EMPTY.png)")


@dataclass
class MultiViewSegmentation:
    """masks (N, H, W) bool; confidence: per-view agreement with the other views' hull; rounds run;
    notes: what the method found about the capture (static background, support cut), for the report;
    stood: whether the standing rule acted (then no smaller-seed retry runs:
    `seedretry.with_smaller_seed`)."""

    masks: np.ndarray
    confidence: ViewConfidence
    rounds: int
    seconds: float
    notes: list[str] = field(default_factory=list)
    stood: bool = False  # the standing rule filled a hull that floated above its support
    before_cut: tuple[float, float | None] | None = None  # (median relative agreement, aim offset) of the
    # masks before the shadow cut, when it changed them: the signs of a misled seed it may have hidden

    def info(self) -> dict:
        return {"rounds": self.rounds, "seconds_per_view": round(self.seconds / len(self.masks), 3),
                "notes": list(self.notes), **self.confidence.info()}


def _small(images: np.ndarray, cameras: Cameras, max_side: int) -> tuple[np.ndarray, Cameras]:
    n, h, w = images.shape[:3]
    s = min(1.0, max_side / max(h, w))
    if s == 1.0:
        return images, cameras
    ws, hs = max(8, round(w * s)), max(8, round(h * s))
    small = np.stack([cv2.resize(im, (ws, hs), interpolation=cv2.INTER_AREA) for im in images])
    return small, cameras.resized(ws, hs)


def _round_cut(i: int, *, small: np.ndarray, bgr: np.ndarray, votes: VoxelVotes, occ: np.ndarray,
               masks: np.ndarray, static: np.ndarray | None, border: float, band: float, bg_like: np.ndarray,
               support: np.ndarray | None, add: np.ndarray | None, floor: np.ndarray | None, iterations: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """View i's cut in a hull-prior round of `segment_views`: its prior is the hull `occ` projected, what
    the standing rule `add`ed is sure object except where it sees the support (`floor`), and what looks
    like background (`bg_like`, and the regions its mask encloses that do) is probable background."""
    like = bg_like[i] | enclosed_background(bgr[i], masks[i])
    stands = None if add is None or floor is None else votes.project(add, i) & ~floor[i]
    labels = prior_labels(votes.project(occ, i), masks[i], None if static is None else static[i], border,
                          band, like, support=None if support is None else support[i], stands=stands)
    return grabcut(small[i], labels, iterations)


def _up(cameras: Cameras, center: np.ndarray) -> np.ndarray | None:
    """World up as the cameras agree on it (mean of their image-up axes), when they look at the object
    from above it; None when they disagree (no support plane to assume)."""
    ups = cameras.c2w[:, :3, 1]
    mean = ups.mean(0)
    if np.linalg.norm(mean) < 0.7:
        return None
    up = mean / np.linalg.norm(mean)
    return up if float(np.median((cameras.centers - center) @ up)) >= 0 else None


def tight_hull(cams: Cameras, masks: np.ndarray, outer: tuple, box: tuple, resolution: int,
               max_misses: int, pad: float = 0.15) -> tuple[VoxelVotes, np.ndarray, tuple]:
    """(votes, hull, box): the hull carved in `box`, then again in a box around it (plus `pad` of its size,
    inside `outer`) when that is much smaller: voxels must be small next to the object, whose size is
    only known once carved (a box from the cameras alone can be many times larger). A view whose mask is
    empty vetoes nothing: the object is in every view, so an empty mask is that view's failure, not
    evidence (measured: four empty views of twelve emptied the whole hull)."""
    votes = VoxelVotes(cams, box[0], box[1], resolution)
    occ = votes.hull(_votes(votes, masks), max_misses)
    b = votes.bounds(occ)
    if b is None:
        return votes, occ, box
    p = pad * float((b[1] - b[0]).max())
    tight = (np.maximum(outer[0], b[0] - p), np.minimum(outer[1], b[1] + p))
    if float((tight[1] - tight[0]).max()) < 0.8 * float((box[1] - box[0]).max()):
        votes = VoxelVotes(cams, tight[0], tight[1], resolution)
        occ = votes.hull(_votes(votes, masks), max_misses)
    return votes, occ, tight


def _beside(votes: VoxelVotes, masks: np.ndarray, found: supportsweep.SupportSweep, cams: Cameras,
            misses: int, plane: Plane, carved: int) -> np.ndarray:
    """(N, H, W) pixels that see the support plane outside the object's footprint: the cells under the hull
    carved from the masks less the support pixels, cut at the plane, grown by a cell; none when that hull
    keeps less than `FLAT` of the one carved from the masks themselves in `votes` (`carved` voxels, the
    round's own hull). The support pixels are scattered (only textured windows take part), so for this hull
    their gaps of up to GAP_CLOSE px are closed first: a cast shadow the masks took in widens a hull of the
    masks themselves, and a hull with only its scattered pixels taken out (measured: the matte
    texture-benchmark torus 0.782 mask IoU against 0.790 closed, dev glossy torus 0.864 against 0.876, the
    other development scenes within 0.001). Only the hull sees the closed pixels: a thin part between two
    support pixels stays the colour models' to decide. The footprint is the shadow of the whole hull on
    the plane, and an overhang (a ball's lower half) covers the cast shadow under it, which the masks took
    in and the closed gaps do not take out of most views; so that hull also loses the voxels two views see
    the plane through (`supportsweep.seen_through`). Measured in round 49 on the 89 scenes of the masks
    benchmark (mask IoU against the true masks): 7 changed, drawn-4-7 (a clay ball's shadow on tiles)
    0.857 -> 0.881, drawn-2-6 +0.017, 6-0 +0.007, 2-2 +0.002, 9-2 -0.031 (traced in round 50: a few
    pixels' change sent its graph cuts down another path; the shadow it keeps lies in the table top's
    footprint with this rule and without it), handheld-room and 9-1 by under 0.001; fits' held-out
    IoU against the true masks 0.862 -> 0.881, +0.022, +0.004, +0.001, -0.016, +0.001."""
    k = np.ones((GAP_CLOSE, GAP_CLOSE), np.uint8)
    closed = np.stack([cv2.morphologyEx(p.astype(np.uint8), cv2.MORPH_CLOSE, k) > 0 for p in found.pixels])
    occ = cut_support(votes, votes.hull(_votes(votes, masks & ~closed), misses), found.up, plane=plane)
    if occ.sum() < FLAT * carved:  # the object lies flat on the plane: its pixels cannot tell it apart
        return np.zeros_like(found.pixels)
    occ &= ~supportsweep.seen_through(votes.inside(found.pixels))
    cells = supportsweep.plane_cells(votes.centers[occ], found.up, votes.h)
    return found.pixels & ~supportsweep.footprint(cells, cams, found.up, found.height, votes.h)


def _votes(votes: VoxelVotes, masks: np.ndarray) -> np.ndarray:
    inside = votes.inside(masks)
    inside[~masks.reshape(len(masks), -1).any(1)] = True
    return inside


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    u = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / u) if u else 1.0


def segment_views(images: np.ndarray, cameras: Cameras, names: list[str] | None = None, rounds: int = 4,
                  max_side: int = 200, resolution: int = 56, miss_frac: float = 0.2, band: float = 0.15,
                  iterations: int = 4, border: float = 0.03, settle: float = 0.99,
                  prior_miss_frac: float = 0.3, points: np.ndarray | None = None, seed: float = 0.5,
                  retry: bool = True, sweep: bool = True, zoom: float = 1.0,
                  start: np.ndarray | None = None) -> MultiViewSegmentation:
    """Segment every view (see the module docstring). `points`: the capture's 3-D points (SfM), where the
    support plane is looked for (`supportplane`); without them the hull's own shape has to tell. `rounds`:
    hull-prior rounds at most; `max_side`: working resolution (px); `resolution`: hull voxels along the box
    side; `miss_frac`: fraction of views a hull voxel may fall outside when judging the views and when
    giving back what a view lost (`agreed`); `prior_miss_frac`: the same for the hull that steers the next
    round; `band`: uncertain band around the prior (x its radius); `settle`: stop when successive rounds'
    masks agree to this mean IoU; `seed`: the first round's disc radius, x the object's radius the framing
    suggests; `retry`: when no object is isolated or the masks sit off the point the cameras aim at,
    segment again with half the seed (`seedretry.with_smaller_seed`); `sweep`: without 3-D points, look
    for the support plane in the photos (`supportsweep`; never for a fixed camera; on by default since
    round 35, `multiview:sweep=no` turns it off: on the 76 photoreal scenes the fits from its masks lost
    on 4 and gained on 9, held-out IoU against the true masks +0.015 on average over the 16 scenes whose
    masks it changed (drawn-3-11 0.770 -> 0.935, drawn-3-9 0.750 -> 0.865; drawn-4-7 0.961 -> 0.866, whose
    cleaner first run no longer calls for the smaller-seed retry that dropped a distractor cube); round
    11's loss on the benchmark's glossy-table and small-desk is gone with the later steps); `zoom`: when the
    masks are small, segment again in a window around them up to this much closer (`zoomin`; 1, the
    default: never; `multiview:zoom=2` turns it on: round 51 measured +0.006 mask IoU on the 87 scenes of
    `bench masks`, but up to 1.46 s per view, over the issue's 1 s on 14 of them);
    `start`: (N, H, W) masks at the photos' size to begin from instead of the cameras' aim (`zoomin`'s
    second pass; no retry then)."""
    if isinstance(seed, bool) or not isinstance(seed, int | float) or not 0 < seed <= 2:
        raise InputError(f"multiview seed must be in (0, 2] (x the object's radius the framing suggests), "
                         f"got {seed}")
    if isinstance(zoom, bool) or not isinstance(zoom, int | float) or not 1 <= zoom <= zoomin.ZOOM:
        raise InputError(f"multiview zoom must be in [1, {zoomin.ZOOM:g}] (1: never segment again closer), "
                         f"got {zoom}")
    if start is not None and np.shape(start) != np.shape(images)[:3]:
        raise InputError(f"multiview start masks must be (N, H, W) as the images, got {np.shape(start)} for "
                         f"{np.shape(images)[:3]}")
    once = SeedFree()

    def run(s: float) -> MultiViewSegmentation:
        return _segment_once(images, cameras, names, rounds, max_side, resolution, miss_frac, band,
                             iterations, border, settle, prior_miss_frac, points, s, sweep, once, start)

    chosen = with_smaller_seed(run, seed) if retry and start is None else run(seed)
    # To the photos' size once, for the run kept (a retry's loser is never upsampled).
    t0, imgs = time.perf_counter(), check_images(images)
    full = np.stack(per_view(lambda i: _upsample(imgs[i], chosen.masks[i]), len(imgs)))
    full, widened = widenholes.widen(imgs, cameras, full)
    notes = chosen.notes + ([f"the holes of {widened} view(s) widened at the photos' size, where more of the "
                             "background seen through them shows"] if widened else [])
    first = replace(chosen, masks=full, notes=notes, seconds=chosen.seconds + time.perf_counter() - t0)
    if zoom <= 1 or start is not None:
        return first
    again = partial(segment_views, names=names, rounds=rounds, max_side=max_side, resolution=resolution,
                    miss_frac=miss_frac, band=band, iterations=iterations, border=border, settle=settle,
                    prior_miss_frac=prior_miss_frac, points=points, seed=seed, retry=False, sweep=sweep)
    return _zoomed(imgs, cameras, first, zoom, max_side, border, again)


def _zoomed(imgs: np.ndarray, cameras: Cameras, first: MultiViewSegmentation, zoom: float, max_side: int,
            border: float, again: Callable[..., MultiViewSegmentation]) -> MultiViewSegmentation:
    """`first`, or, when its masks are small, the segmentation run `again` in a window around them up to
    `zoom` x closer, beginning from them (`zoomin`), if it refines them rather than redraws them. Its
    confidence is the second pass's, with the border test on the frame (the window's edge is not the
    photo's) and every whole-capture doubt of the first pass that the second did not raise again."""
    n, h, w = imgs.shape[:3]
    cams = cameras.resized(w, h) if (cameras.width, cameras.height) != (w, h) else cameras
    win = zoomin.around(first.masks, cams, max_side, zoom)
    if win is None:
        return first
    where = f"in a {win.width}x{win.height} window around the masks ({w / win.width:.1f} x closer)"
    try:
        second = again(win.crop(imgs), win.cameras(cams), start=win.crop(first.masks))
    except InputError as exc:  # a refinement that fails leaves the first pass's masks, not the user without
        why = "isolated no object" if isinstance(exc, NotIsolated) else f"failed ({str(exc)[:160]})"
        return replace(first, notes=[*first.notes, f"segmenting again {where} {why}: the first masks are "
                                     "kept"])
    agree = zoomin.agreement(win.crop(first.masks), second.masks)
    if agree < zoomin.AGREE:
        return replace(first, seconds=first.seconds + second.seconds,
                       notes=[*first.notes, f"segmenting again {where} redrew the masks (median IoU "
                              f"{agree:.2f} with the first) rather than refined them: the first are kept"])
    masks = win.paste(second.masks)
    conf = second.confidence.on_frame(np.array([touches_border(m, border) for m in masks]),
                                      first.confidence)
    return replace(second, masks=masks, confidence=conf, seconds=first.seconds + second.seconds,
                   notes=[*first.notes, f"the object is small in the frame: segmented again {where}, "
                          f"beginning from the first masks (median IoU {agree:.2f} with them)",
                          *(f"in the window: {x}" for x in second.notes)])


def _segment_once(images: np.ndarray, cameras: Cameras, names: list[str] | None, rounds: int, max_side: int,
                  resolution: int, miss_frac: float, band: float, iterations: int, border: float,
                  settle: float, prior_miss_frac: float, points: np.ndarray | None, seed: float, sweep: bool,
                  once: SeedFree, start: np.ndarray | None = None) -> MultiViewSegmentation:
    """One segmentation from a first-round seed of `seed` (the options are `segment_views`'), its masks at
    the working size (`segment_views` upsamples the one kept); `once` keeps what depends only on the photos
    and cameras for the smaller-seed retry."""
    t0 = time.perf_counter()
    imgs = check_images(images)
    n, h, w = imgs.shape[:3]
    if len(cameras) != n:
        raise InputError(f"{n} images but {len(cameras)} cameras")
    cameras = cameras.resized(w, h) if (cameras.width, cameras.height) != (w, h) else cameras
    names = names or [str(i) for i in range(n)]
    region = object_region(cameras, names)
    small, cams = _small(imgs, cameras, max_side)

    def windows() -> supportsweep.WindowedViews:  # every plane sweep of this capture reads the same windows
        return once.get("windows", lambda: supportsweep.WindowedViews(small))

    notes: list[str] = []
    still = staticbackground.detect(small)
    static = None if still is None else np.stack([~still.differs(im) for im in small])
    # Featureless borders match their median whatever the camera did: the cameras tell a fixed one.
    fixed = still is not None and not (still.plain and not staticbackground.on_one_circle(cams.centers,
                                                                                         region.center))
    if fixed:
        notes.append("fixed camera: the per-pixel median over the views is used as the background")
    elif still is not None:
        notes.append("the image borders are featureless and match their median photo, which is used as the "
                     "background; the cameras do not move on one circle, so this is not a fixed camera")
    centers, radii = region.projected(cams)
    bgr = np.ascontiguousarray(small[..., ::-1])
    if start is None:
        cuts = per_view(lambda i: grabcut(small[i], seed_labels(small.shape[1:3], centers[i], radii[i] * seed,
                                                                None if static is None else ~static[i],
                                                                border), iterations), n)
    else:  # begin from the masks given, at the working size
        size = (small.shape[2], small.shape[1])
        begun = np.stack([cv2.resize(np.asarray(m, np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
                          for m in start])
        cuts = per_view(lambda i: grabcut(small[i], mask_labels(begun[i]), iterations), n)
    masks, bg_like = np.stack([c[0] for c in cuts]), np.stack([c[1] for c in cuts])
    max_misses = int(np.floor(miss_frac * n)) if n >= 5 else 0
    prior_misses = int(np.floor(prior_miss_frac * n)) if n >= 5 else 0
    lo0, hi0 = region.center - 2 * region.radius, region.center + 2 * region.radius
    lo, hi = lo0, hi0
    up = _up(cams, region.center)
    plane = None
    if points is not None and len(points):
        if up is None:
            notes.append("the capture's 3-D points were not searched for a support plane: the cameras do "
                         "not agree on an up direction")
        else:
            plane = find_support(points, up, region.center, region.radius)
            notes.append("support plane found among the capture's 3-D points and cut away at its height "
                         f"({plane.inliers} points on it)" if plane is not None else
                         "no support plane among the capture's 3-D points: the hull's shape decides the cut")
    found = None
    # A fixed camera's photos hold no world-fixed plane the sweep can rely on: the lights and the
    # background turn with the camera, not with the object (on the photoreal turntables it found none; on
    # an 8-view ALOI-style capture it found a weak one and its cut cost the worst view 0.06 IoU).
    if sweep and fixed:
        notes.append("fixed camera: no plane sweep of the photos (the lights and background do not turn "
                     "with the object)")
    if sweep and not fixed and up is not None and plane is None:
        found = once.get("sweep", lambda: supportsweep.sweep(small, cams, up, region, windows()))
        if found is not None:
            plane = Plane(found.up, found.height, 0)
            notes.append(f"support plane found by a plane sweep of the photos ({found.share:.0%} of "
                         f"the textured pixels around the object agree there, median "
                         f"{found.median_share:.0%} over the heights tried): the hull is cut at its "
                         "height, and what sees it beside the object is background")
    stood = 0
    floor: np.ndarray | None = None  # pixels that see the support plane, when the standing rule needs them

    def iterate(masks: np.ndarray, bg_like: np.ndarray, box: tuple, stand_on: Plane | None = None
                ) -> tuple[np.ndarray, np.ndarray, tuple, int]:
        """Hull-prior rounds from `masks` until they settle: (masks, bg_like, hull box, rounds run);
        `stand_on`: the support, down to which a hull floating above it is filled (`standing`)."""
        nonlocal plane, found, stood, floor
        done = 0
        for _ in range(rounds):
            done += 1
            votes, occ, box = tight_hull(cams, masks, (lo0, hi0), box, resolution, prior_misses)
            carved = int(occ.sum())
            if up is not None:
                cut = cut_support(votes, occ, up, plane=plane)
                if found is not None and cut.sum() < KEEP_AFTER_CUT * occ.sum():
                    notes.append("the plane the sweep found would cut away most of the hull: not used")
                    found = plane = None
                    cut = cut_support(votes, occ, up)
                occ = cut
            if not occ.any():
                _fail(names, masks, "the views' masks share no common 3-D region (the visual hull is empty)")
            add = None if stand_on is None else standing.under(votes, occ, stand_on.normal, stand_on.offset,
                                                                region.center)
            if add is not None:
                occ, stood = occ | add, stood + 1
                if floor is None:  # what sees the support itself is never forced in (module `standing`)
                    floor = supportsweep.plane_pixels(small, cams, stand_on.normal, stand_on.offset,
                                                      region.radius, windows())
            support = (None if found is None
                       else _beside(votes, masks, found, cams, prior_misses, plane, carved))

            cuts = per_view(partial(_round_cut, small=small, bgr=bgr, votes=votes, occ=occ, masks=masks,
                                    static=static, border=border, band=band, bg_like=bg_like, support=support,
                                    add=add, floor=floor, iterations=iterations), n)
            new, bg_like = np.stack([c[0] for c in cuts]), np.stack([c[1] for c in cuts])
            lost = ~new.reshape(n, -1).any(1) & masks.reshape(n, -1).any(1)
            new[lost] = masks[lost]  # a view that lost everything keeps its last mask for the next hull
            change = float(np.mean([_iou(a, b) for a, b in zip(masks, new, strict=True)]))
            masks = new
            if change >= settle:
                break
        return masks, bg_like, box, done

    masks, bg_like, (lo, hi), done = iterate(masks, bg_like, (lo, hi))

    def above_aim(m: np.ndarray) -> bool:  # masks that may all miss the object's lower part
        off = aim_offset(m, centers)
        return off is not None and off > AIM_OFFSET and aim_side(m, centers) == "above"

    before = aim_offset(masks, centers)
    if up is not None and above_aim(masks):
        # Every mask may miss the object's lower part: if the hull floats above the support, fill the gap.
        stand_on, how = plane, ""
        if stand_on is None and fixed:
            stand_on = _disc_below(cams, masks, still.median, up)
            how = " (a turntable's top, found by its rim in the median photo)"
        elif stand_on is None:
            h = once.get("height", lambda: supportsweep.find_height(small, cams, up, region, windows(),
                                                                   min_share=standing.MIN_SHARE))
            stand_on = None if h is None else Plane(h.up, h.height, 0)
            how = " that a plane sweep of the photos found"
        if stand_on is not None:
            masks, bg_like, (lo, hi), more = iterate(masks, bg_like, (lo, hi), stand_on)
            done += more
        if stand_on is not None and not stood and not fixed:  # the sweep's plane may be the floor
            top = _top_above(small, cams, masks, up, stand_on.offset, (lo0, hi0), (lo, hi), resolution,
                             prior_misses, plane, windows)
            if top is not None:
                masks, bg_like, (lo, hi), more = iterate(masks, bg_like, (lo, hi), top)
                done += more
                how = (" (a table's top, found near the object by a second plane sweep, above the plane "
                       "found first)")
        if stood:
            notes.append(
                f"the masks sat above the point the cameras aim at (offset {before:.2f}) and their hull "
                f"floated above the support plane{how}: the object was taken to stand on it, and what lies "
                f"between was made object in every view's prior (offset now "
                f"{aim_offset(masks, centers) or 0:.2f})")
    left = None  # the support found in the masks but left there: the object has its colour
    cut_off = None  # the support cut off the masks by its colour: a part of the object in it may go too
    stand_after: tuple[Plane, str] | None = None  # a support cut off the masks, and how the note says so
    if fixed and up is not None:
        masks, left, disc = _cut_disc(small, cams, masks, static, up, iterations, notes)
        if disc is not None and above_aim(masks):
            stand_after = disc, "the disc's cut floated above its top"  # the cut left masks above the aim
    elif up is not None:
        cut_top, top = _cut_top(cams, small, masks, up, (lo0, hi0), (lo, hi), resolution, max_misses,
                                iterations, notes, windows)
        masks, left = cut_top.masks, "a table's top" if cut_top.ambiguous else None
        if cut_top.views:
            cut_off = "a table's top"
            stand_after = Plane(up, top.height, 0), "the cut floated above the table's top"
            if sweep:  # the top is the support now: its grain beside the object (a cast shadow) is background
                plane = stand_after[0]
                found = supportsweep.SupportSweep(up, top.height, 0.0, 0.0, supportsweep.plane_pixels(
                    small, cams, up, top.height, region.radius, windows()))
                notes.append("the table's top is the support from here on: the hull is cut at its height, "
                             "and what the views agree on along its plane beside the object is background")
            # the colours learnt while the top was object: what lay on it (a hole in the masks then) looked
            # like background to them
            bg_like = np.zeros_like(bg_like)
    if stand_after is not None:  # what stood on the support reaches down to it: a part lost with it is filled
        floor, had_stood = None, stood  # `floor`: the pixels that see this plane, not another's
        masks, bg_like, (lo, hi), more = iterate(masks, bg_like, (lo, hi), stand_after[0])
        done += more
        if stood > had_stood:
            notes.append(f"the hull left by {stand_after[1]}: the object was taken to stand on it, and what "
                         "lies between was made object in every view's prior")
    masks, surfaces = _open_holes(small, cams, masks, bgr, still, notes)

    def judged(m: np.ndarray) -> ViewConfidence:  # one measure for the masks before the cut and after
        return judge(cams, m, (lo, hi), resolution, max_misses, border, names, centers)

    before_cut = None
    if up is not None:  # a shadow lies on a support, and only cameras agreeing on up assume one
        cut = _cut_shadows(small, cams, masks, (lo0, hi0), (lo, hi), resolution, max_misses, prior_misses,
                           up, notes)
        if not (cut == masks).all():
            raw = judged(masks)
            before_cut = (float(np.median(raw.rel)), raw.aim_offset)
        masks = cut
    masks = _give_back(cams, masks, (lo0, hi0), (lo, hi), resolution, max_misses, band, up, plane, notes)
    conf = judged(masks)
    # Filled holes: agreement cannot see them (the regions shown to be surfaces are no doubt).
    conf = conf.with_enclosed(enclosed_fractions(small, masks, surfaces))
    if static is not None:
        conf = conf.with_unchanging(unchanging_share(static, masks))
    if left is not None:
        conf = conf.with_support_left(left)
    if cut_off is not None:
        conf = conf.with_support_cut(cut_off)
    if up is not None:  # where the shadow cut ran: say where its colour test could not
        conf = conf.with_dark(castshadow.dark_share(small, masks))
    if conf.isolated_views() == 0:
        _fail(names, masks, "no view's mask agrees with the hull of the other views")
    edge = np.flatnonzero(conf.touches_border)
    if len(edge) >= LEAVES_FRAME * n:
        which = ", ".join(names[i] for i in edge[:8]) + (" ..." if len(edge) > 8 else "")
        raise NotIsolated(f"no object could be isolated: the masks reach the image border in {len(edge)} "
                          f"of {n} views ({which}), so the object leaves the frame or the floor was taken "
                          f"for it; {TRY}")
    return MultiViewSegmentation(masks, conf, done, time.perf_counter() - t0, notes, stood > 0, before_cut)


def _open_holes(small: np.ndarray, cams: Cameras, masks: np.ndarray, bgr: np.ndarray,
                still: staticbackground.StaticBackground | None, notes: list[str]
                ) -> tuple[np.ndarray, np.ndarray]:
    """(`masks` less the regions that look like the background around them, except those the other views
    show to be the object's surface (`seenthrough`); those surfaces' pixels)."""
    regions = per_view(lambda i: background_regions(bgr[i], masks[i]), len(masks))
    opened, keep, verdicts = seenthrough.open_regions(small, cams, masks, regions,
                                                      None if still is None else still.median)
    kept = sum(v.object for v in verdicts)
    if kept:
        notes.append(f"{kept} of {len(verdicts)} background-coloured region(s) inside the masks kept as "
                     "object: the neighbouring views see the same colours on a surface there")
    return opened, keep


def _top_above(small: np.ndarray, cams: Cameras, masks: np.ndarray, up: np.ndarray, floor: float,
               outer: tuple, box: tuple, resolution: int, misses: int, plane: Plane | None,
               windows: Callable[[], supportsweep.WindowedViews]) -> Plane | None:
    """The plane of a table's top between the support plane at `floor` and the hull of `masks`, found near
    the object (`topsweep`), or None. `windows()`: the photos' `WindowedViews`, built once per
    segmentation."""
    votes, occ, _ = tight_hull(cams, masks, outer, box, resolution, misses)
    occ = cut_support(votes, occ, up, plane=plane)
    if float((votes.centers[occ] @ up).min(initial=np.inf)) - floor < standing.MIN_GAP * votes.h:
        return None
    top = topsweep.find_top(small, cams, up, floor, votes, occ, masks, windows())
    return None if top is None else Plane(top.up, top.height, 0)


def _disc_below(cams: Cameras, masks: np.ndarray, median: np.ndarray, up: np.ndarray) -> Plane | None:
    """The plane of a fixed-camera turntable's top under masks that stop above it (`turntable.find_below`
    in the `median` photo), or None."""
    disc = turntable.find_below(masks, cams, up, median)
    return None if disc is None else Plane(disc.up, disc.top_height, 0)


def _cut_disc(small: np.ndarray, cams: Cameras, masks: np.ndarray, static: np.ndarray, up: np.ndarray,
              iterations: int, notes: list[str]) -> tuple[np.ndarray, str | None, Plane | None]:
    """(`masks` less a fixed-camera turntable's disc they took in with the object (`turntable`), what was
    found but left in, the object on it having its colour, or None; the plane of its top when it was cut
    off, else None)."""
    disc = turntable.find(masks, cams, up, static)
    if disc is None:
        return masks, None, None
    done = turntable.cut(disc, cams, masks, small, static,
                         lambda image, labels: grabcut(image, labels, iterations)[0])
    if done.views:
        notes.append(f"a turntable's disc taken with the object was cut off the masks of {done.views} "
                     f"view(s): its rim (radius {disc.radius:.3g} about the cameras' axis) lies on their "
                     "outlines and something stands on it")
    top = Plane(disc.up, disc.top_height, 0) if done.views else None
    return done.masks, "the turntable's disc" if done.ambiguous else None, top


def _cut_top(cams: Cameras, small: np.ndarray, masks: np.ndarray, up: np.ndarray, outer: tuple,
             box: tuple, resolution: int, misses: int, iterations: int, notes: list[str],
             windows: Callable[[], supportsweep.WindowedViews]) -> tuple[tabletop.Cut, tabletop.Top | None]:
    """(`masks` less a table's top they took in with the object (`tabletop`), the top found). `windows()`:
    the photos' `WindowedViews`, built once per segmentation."""
    votes, occ, _ = tight_hull(cams, masks, outer, box, resolution, misses)
    top = (tabletop.find(votes, occ, up)
           or tabletop.find_by_grain(small, cams, votes, occ, misses, up, masks, windows()))
    if top is None:
        return tabletop.Cut(masks, 0), None
    done = tabletop.cut(top, cams, masks, small, lambda image, labels: grabcut(image, labels, iterations)[0])
    if done.views:
        how = (f"the hull widens to {top.wide:.1f} x its section above at the top's height"
               if top.grain is None else
               f"{top.grain:.0%} of the textured pixels inside the masks agree between views on the top's "
               "plane, more than at the hull's other heights")
        notes.append(f"a table's top taken with the object was cut off the masks of {done.views} view(s): "
                     f"{how}, and the far views see the top's colour there")
    return done, top


def _cut_shadows(small: np.ndarray, cams: Cameras, masks: np.ndarray, outer: tuple, box: tuple,
                 resolution: int, misses: int, prior_misses: int, up: np.ndarray, notes: list[str]
                 ) -> np.ndarray:
    """`masks` less the shadows they took in from the support (`castshadow`), judged against the hull of
    the other views (each voxel outside at most half of `misses` of them, as the confidence's hull)."""
    cleared = castshadow.clear(small, masks)
    if (cleared == masks).all():
        return masks
    votes, occ, _ = tight_hull(cams, masks, outer, box, resolution, prior_misses)
    if not occ.any():
        return masks
    base = castshadow.base_voxels(votes, occ, up)
    masks, views = castshadow.restore(votes, masks, cleared, misses // 2, base)
    if views:
        notes.append(f"a shadow on the support cut off the masks of {views} view(s): darker than the "
                     "background next to it in the same colour, and no other view keeps that place")
    return masks


def _give_back(cams: Cameras, masks: np.ndarray, outer: tuple, box: tuple, resolution: int, misses: int,
               band: float, up: np.ndarray | None, plane: Plane | None, notes: list[str]) -> np.ndarray:
    """`masks` with what the hull of all of them (each voxel outside at most `misses`) shows well inside
    its outline and a view lost (`agreed.restore`)."""
    votes, occ, _ = tight_hull(cams, masks, outer, box, resolution, misses)
    if up is not None:
        occ = cut_support(votes, occ, up, plane=plane)
    masks, added = agreed.restore(votes, occ, masks, band, up)
    if added.any():
        notes.append(f"{int((added > 0).sum())} view(s) given back a part of the object they had lost and "
                     f"the hull of the other views holds ({int(added.sum())} pixels at {masks.shape[2]}x"
                     f"{masks.shape[1]})")
    return masks


def _upsample(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    if mask.shape != (h, w):
        mask = cv2.resize(mask.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR) > 0.5
    if not mask.any():
        return mask
    return clean_mask(refine_edges(image, mask), open_radius=0, keep="large", min_frac=0.1, holes=0.02)


def _fail(names: list[str], masks: np.ndarray, why: str) -> None:
    empty = [names[i] for i in range(len(masks)) if not masks[i].any()]
    which = f"; empty masks in {', '.join(empty[:8])}{' ...' if len(empty) > 8 else ''}" if empty else ""
    raise NotIsolated(f"no object could be isolated in views {names[0]}..{names[-1]}: {why}{which}; {TRY}")


def segment(images: np.ndarray, cameras: Cameras | None = None, names: list[str] | None = None,
            rounds: int = 4, max_side: int = 200, resolution: int = 56, miss_frac: float = 0.2,
            band: float = 0.15, iterations: int = 4, border: float = 0.03, settle: float = 0.99,
            prior_miss_frac: float = 0.3, seed: float = 0.5, retry: bool = True, sweep: bool = True,
            zoom: float = 1.0) -> np.ndarray:
    """(N, H, W) bool masks; needs the views' `cameras` (the options are `segment_views`')."""
    if cameras is None:
        raise InputError("silhouette method 'multiview' needs the views' cameras")
    return segment_views(images, cameras, names, rounds, max_side, resolution, miss_frac, band, iterations,
                         border, settle, prior_miss_frac, seed=seed, retry=bool(retry),
                         sweep=bool(sweep), zoom=zoom).masks

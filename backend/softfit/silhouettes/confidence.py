"""How far to trust segmented masks, per view, from the capture itself (no ground truth needed).

A view's *agreement* is the IoU of its mask with the visual hull carved from all the other views and
reprojected into it: the other views vouch for it, it cannot vouch for itself. Even perfect masks score
below 1 (the other views' hull is looser than the object where few of them constrain it), so the
decisions use the *relative* agreement: over what perfectly consistent masks (the outlines of the hull
of all views) score with the same cameras. It is agreement, not accuracy: views that all make the same
mistake (a floor every mask took in) agree with each other, which is why two checks on the images'
framing stand beside it: the border check, and the aim check (cameras are pointed at the object, so the
point their axes converge on projects near the middle of the true silhouette; masks that consistently
sit off that point lost or gained a part in every view, e.g. a bucket's white half taken for the white
floor, which the other views cannot notice). When only some views lose a part, the others keep it
alone: a part of a view's mask that the other views' hull carves away. One view with such a part took
in background, and its low agreement says so; when a quarter of the views or more keep one, the majority
may be what is wrong (a sphere's cream half lost where the floor behind it is cream too), and agreement
cannot say which, so that is warned about. Doubtful views (agreement far below the capture's typical
view, or low outright) get a smaller weight in the fit's loss and are listed; warnings say when the
numbers should not be believed."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from softfit.cameras import Cameras
from softfit.data.framing import BORDER_MAJORITY
from softfit.errors import InputError
from softfit.silhouettes.common import border_width
from softfit.silhouettes.voxelvotes import VoxelVotes

# Thresholds on the relative agreement (see ViewConfidence). Measured on a textured-room render, 16 views:
# true masks 0.977 median, camera-aware segmentation 0.959, single-image GrabCut 0.881 (truth IoU 0.884);
# a view that took in the floor 0.10.
LOW_AGREEMENT = 0.85  # a view whose mask the other views confirm less than this is doubtful
TYPICAL_GAP = 0.08  # ... as is one this far below the capture's median view
WARN_MEDIAN = 0.93  # the capture as a whole agrees poorly below this median
# Median over views of |mask centroid - projected aim point| / sqrt(mask area). Measured on the four
# photoreal scenes (16 views each): true masks 0.066-0.101; masks that lost a part in every view
# (bucket's white half, a torus's far side, a dark knot's loops) 0.13-0.16.
AIM_OFFSET = 0.12
# Median over views of the fraction of a mask's pixels that look like the background around it
# (`colourmodel.enclosed_background`). Measured on the development scenes (12 views, 200x150): true masks
# 0.000-0.009; the same masks with their holes filled 0.18 (torus) and 0.28 (knot); a segmentation that
# left a third of the knot's holes filled 0.10.
ENCLOSED = 0.03
# Mean over views of the share of a mask's pixels that match a fixed camera's per-pixel median photo
# (`staticbackground`). Measured on the fixed-camera photoreal scenes (16 views): objects that turn into
# a new shape 0.22-0.39 (knots, Suzanne on cloth), 0.78 (Suzanne on a grey disc); shapes that look alike
# from every side (a torus, cylinder, cone, bucket, ico sphere about the turntable's axis) 0.99-1.00. Render
# noise raises the share (the median test's threshold follows the noise): the clay knot 0.33 at 400x300
# and 12 samples, 0.87 at 200x150 and 8 samples.
UNCHANGING = 0.95
# Share of the views whose object is too dark for the shadow cut's colour test (`castshadow.dark_share`).
# Measured on the 96 cached photoreal scenes with masks (auto, 200 px): 19 of the 30 dark objects 0.50-1.00
# (buckets, cylinders, mugs, tori, spheres, a knot); the other 11, lit in parts (knots, a cone, Suzannes),
# and every scene of another material at most 0.44.
DARK_VIEWS = 0.5
# A part of its own (`alone_share`) at least ALONE of a view's mask, in at least ALONE_VIEWS of the views.
# Measured on 75 photoreal scenes (16 views, 200 px): with the true masks no view of 74 scenes holds one
# (the other views' hull is looser than the object, not tighter), but 10 views of a small chair whose
# legs are a pixel or two wide (drawn-5-3, whose true masks already agree poorly: 0.857). With `auto`'s
# masks 11 scenes reach ALONE_VIEWS: 6 of the 28 whose agreement flatters the true held-out IoU (among
# them drawn-5-9, a two-tone sphere whose cream half only the views that see it against the table kept:
# 6 views at 0.051-0.081, agreement 0.932, true held-out IoU 0.820, and nothing else warned), and 5 whose
# masks are wrong without flattering (true held-out IoU 0.827-0.948; drawn-8-2's 5 views took in a glossy
# sphere's shadow); at most 3 of 16 views on the other 64.
ALONE = 0.05
ALONE_VIEWS = 0.25
# What a user can give instead, said once after the warnings that doubt the masks as a whole (not after a
# few doubtful views alone: those are down-weighted and the rest carry the fit). The add-on shows it in its
# panel's terms (`addon/logic/errors.PANEL_TERMS`).
ADVICE = ("to do better than this segmentation, give masks (--silhouette mask with a masks/ folder) or a "
          "photo of the empty scene (--silhouette backdrop:backdrop=EMPTY.png); for people, animals, "
          "vehicles, furniture or bottles, learned segmentation (--silhouette deeplab:weights=torchvision)")


@dataclass(frozen=True)
class ViewConfidence:
    """agreement (N,): IoU of each mask with the other views' hull; relative (N,): that over what
    perfectly consistent masks score with the same cameras (1 = as consistent as silhouettes can be);
    touches_border (N,) bool; weights (N,) in (0, 1] for the fit's loss; doubtful: view indices;
    warnings: sentences; doubts: how many of them doubt the masks as a whole (then `info` adds ADVICE)."""

    agreement: np.ndarray
    touches_border: np.ndarray
    weights: np.ndarray
    doubtful: list[int]
    names: list[str]
    warnings: list[str] = field(default_factory=list)
    relative: np.ndarray | None = None
    aim_offset: float | None = None
    enclosed: np.ndarray | None = None
    unchanging: float | None = None
    dark: float | None = None
    alone: np.ndarray | None = None
    doubts: int = 0

    @property
    def rel(self) -> np.ndarray:
        return self.agreement if self.relative is None else self.relative

    def isolated_views(self) -> int:
        """Views whose mask the others confirm at least half (an object was found there)."""
        return int((self.agreement >= 0.5).sum())

    def info(self) -> dict:
        return {
            "view_agreement": [round(float(a), 4) for a in self.agreement],
            "view_agreement_is": "IoU of each view's mask with the visual hull of the OTHER views' masks "
                                 "(agreement between segmentations, not accuracy)",
            "median_agreement": round(float(np.median(self.agreement)), 4),
            "view_relative_agreement": [round(float(a), 4) for a in self.rel],
            "view_relative_agreement_is": "view_agreement over what perfectly consistent masks score with "
                                          "the same cameras (1 = as consistent as silhouettes can be)",
            "doubtful_views": [self.names[i] for i in self.doubtful],
            "view_weights": [round(float(x), 4) for x in self.weights],
            "border_views": [self.names[i] for i in np.flatnonzero(self.touches_border)],
            "aim_offset": None if self.aim_offset is None else round(self.aim_offset, 4),
            "aim_offset_is": "median over views of the distance from the mask's centroid to where the "
                             "cameras' axes converge, over the square root of the mask's area",
            "view_enclosed_background": None if self.enclosed is None else
            [round(float(x), 4) for x in self.enclosed],
            "view_enclosed_background_is": "fraction of each view's mask that looks like the background "
                                           "just outside it (filled holes, swallowed background)",
            "unchanging": None if self.unchanging is None else round(self.unchanging, 4),
            "unchanging_is": "fixed camera: mean over views of the share of a mask's pixels that match the "
                             "per-pixel median of all the photos (1: the object looks the same in every "
                             "view)",
            "view_part_alone": None if self.alone is None else [round(float(x), 4) for x in self.alone],
            "view_part_alone_is": "largest part of each view's mask that the hull of the OTHER views' masks "
                                  "carves away, as a fraction of the mask (a part only some views keep)",
            "dark_views": None if self.dark is None else round(self.dark, 4),
            "dark_views_is": "share of the views whose object is too dark for the shadow cut's colour test "
                             "(a shadow it casts on its support is not looked for there)",
            "warnings": [*self.warnings, *([ADVICE] if self.doubts else [])],
        }

    def with_enclosed(self, fractions: np.ndarray) -> ViewConfidence:
        """This judgement plus each view's enclosed-background fraction, warning when the typical view
        swallows background: views that all fill the same hole agree with each other (the hull is filled
        too), so agreement cannot reveal it."""
        f = np.asarray(fractions, float)
        med = float(np.median(f)) if len(f) else 0.0
        extra = [] if med <= ENCLOSED else [
            f"the masks enclose background-coloured regions (median {100 * med:.0f} % of a mask, above "
            f"{100 * ENCLOSED:.0f} %): holes of the object may be filled or background swallowed in most "
            "views, which agreement between views cannot reveal; check overlays.png"]
        return self._doubted(extra, enclosed=f)

    def with_unchanging(self, share: float) -> ViewConfidence:
        """This judgement plus how much of the object looks the same in every view of a fixed camera
        (`unchanging_share`), warning when nearly all of it does: a turntable turned a shape that looks
        alike from every side, the views carry no more than one of them, and their agreement is void."""
        extra = [] if share < UNCHANGING else [
            f"the object looks the same in every view ({100 * share:.0f} % of the masks' pixels match the "
            "fixed camera's median photo): it looks alike from every side as the turntable turns (or it "
            "did not turn), so the views cannot check each other and their agreement says nothing; what "
            "turns with it (the turntable's top, what is seen through a hole) may be taken for the object; "
            "check overlays.png"]
        return self._doubted(extra, unchanging=float(share))

    def with_dark(self, share: float) -> ViewConfidence:
        """This judgement plus the share of views whose object is too dark for the shadow cut
        (`castshadow.dark_share`), warning when most are: a dark object's shadow on its support has no
        colour of its own to tell it from the object, it lies still on the support, so the views agree on
        it as on the object (a dark bucket and a dark torus on a wood floor took theirs in: true held-out
        IoU 0.891 and 0.747 while their agreement said 0.94)."""
        extra = [] if share < DARK_VIEWS else [
            f"the object is dark in {100 * share:.0f} % of the views: a shadow it casts on its support "
            "cannot be told from it by colour, so the masks may hold one beside its base, which agreement "
            "between views cannot reveal (it lies on the support in every view); check overlays.png"]
        return self._doubted(extra, dark=float(share))

    def with_support_left(self, what: str) -> ViewConfidence:
        """This judgement plus a doubt: a support (`what`: a turntable's disc, a table's top) was found in
        the masks and left there, because the object standing on it has its colour (`supportcut`); the
        views agree on it, as on the object, so only this says so."""
        return self._doubted([f"the masks may hold {what} under the object (found in their shape, but the "
                              "object has its colour, so it was not cut): the fit may stand on a slab; check "
                              "overlays.png, or give masks"])

    def with_support_cut(self, what: str) -> ViewConfidence:
        """This judgement plus a doubt: a support (`what`: a table's top) was cut off the masks by its
        colour (`supportcut`), and a part of the object in that colour goes with it in every view alike,
        where agreement cannot see it (drawn-6-9: a clay mug's handle went with a wooden top; with the
        top's plane as the support its masks sat just under the aim check, and nothing else warned)."""
        return self._doubted([f"{what} was cut off the masks by its colour: a part of the object in that "
                              "colour may have gone with it in every view, which agreement between views "
                              "cannot reveal; check overlays.png"])

    def on_frame(self, edge: np.ndarray, earlier: ViewConfidence) -> ViewConfidence:
        """This judgement of masks found in a window of the photos (`zoomin`), put back on the whole frame:
        `edge` (N,) bool, which frame masks touch the frame's border, replaces the window's border test
        (the window's edge is not the photo's); and each whole-capture doubt of the `earlier` judgement
        (the first pass's, on the whole frame) that this one does not raise again stands: a doubt either
        pass raised is not dropped."""
        edge = np.asarray(edge, bool)
        own = [x for x in self.warnings if not x.startswith(BORDER_LINE)]
        said = border_doubt(edge)
        have = {_doubt_key(x) for x in own}
        carried = [x for x in earlier.warnings
                   if _doubt_key(x) and not x.startswith(BORDER_LINE) and _doubt_key(x) not in have]
        doubts = self.doubts - (len(self.warnings) - len(own)) + len(said) + len(carried)
        return replace(self, touches_border=edge, warnings=[*said, *own, *carried], doubts=doubts)

    def _doubted(self, said: list[str], **measured) -> ViewConfidence:
        """This judgement with a new measurement (`measured` fields) and the warnings it gave, each one a
        doubt about the masks as a whole."""
        return replace(self, **measured, warnings=[*self.warnings, *said], doubts=self.doubts + len(said))


def unchanging_share(static: np.ndarray, masks: np.ndarray) -> float:
    """Mean over the views with a mask of the share of its pixels that `static` (N, H, W: matching the
    fixed camera's median photo) marks."""
    m, st = np.asarray(masks, bool), np.asarray(static, bool)
    area = m.reshape(len(m), -1).sum(1)
    hit = (m & st).reshape(len(m), -1).sum(1)
    return float(np.mean(hit[area > 0] / area[area > 0])) if (area > 0).any() else 0.0


def touches_border(mask: np.ndarray, border: float) -> bool:
    """Whether the mask reaches the frame a segmentation keeps as background (or the image edge)."""
    bw = border_width(*mask.shape, border) + 1
    return bool(mask[:bw].any() or mask[-bw:].any() or mask[:, :bw].any() or mask[:, -bw:].any())


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    u = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / u) if u else 0.0


def weights_from(agreement: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """(weights, doubtful views) from the relative agreement: trusted views weigh 1; a doubtful one weighs
    its agreement over the median view's, squared (a view the others confirm half as well counts a
    quarter)."""
    med = float(np.median(agreement))
    doubtful = [int(i) for i in np.flatnonzero((agreement < LOW_AGREEMENT) | (agreement < med - TYPICAL_GAP))]
    w = np.ones(len(agreement))
    for i in doubtful:
        w[i] = max(0.05, min(1.0, float(agreement[i]) / max(med, 1e-6)) ** 2)
    return w, doubtful


def aim_offset(masks: np.ndarray, aim: np.ndarray) -> float | None:
    """Median over the non-empty views of |mask centroid - aim (x, y) px| / sqrt(mask area) (see the
    module docstring); None when every mask is empty."""
    offs = []
    for m, a in zip(masks, aim, strict=True):
        yy, xx = np.nonzero(m)
        if len(xx):
            offs.append(np.hypot(xx.mean() + 0.5 - a[0], yy.mean() + 0.5 - a[1]) / np.sqrt(len(xx)))
    return float(np.median(offs)) if offs else None


_OTHER_PART = {"above": "lower", "below": "upper", "left of": "right-hand", "right of": "left-hand"}


def aim_side(masks: np.ndarray, aim: np.ndarray, consistent: float = 0.7) -> str | None:
    """Where the masks sit from the aim point when most views agree on it ("above", "below", "left of",
    "right of", in image terms: the mean of the views' unit offsets is at least `consistent` long), else
    None. A part every view loses alike (a bucket's lower half the colour of the floor) pulls the
    centroids the same way in every view, so the side names the part to look for."""
    units = []
    for m, a in zip(masks, aim, strict=True):
        yy, xx = np.nonzero(m)
        if len(xx):
            d = np.array([xx.mean() + 0.5 - a[0], yy.mean() + 0.5 - a[1]])
            if np.hypot(*d) > 0:
                units.append(d / np.hypot(*d))
    if not units:
        return None
    dx, dy = np.mean(units, 0)
    if np.hypot(dx, dy) < consistent:
        return None
    if abs(dy) >= abs(dx):
        return "above" if dy < 0 else "below"
    return "left of" if dx < 0 else "right of"


def warnings_for(agreement: np.ndarray, border: np.ndarray, doubtful: list[int], names: list[str],
                 offset: float | None = None, side: str | None = None) -> list[str]:
    """The warnings on a capture's masks: those that doubt them as a whole (`doubts_for`), then the
    doubtful views, when there are any."""
    return [*doubts_for(agreement, border, offset, side), *doubtful_line(doubtful, names)]


def doubtful_line(doubtful: list[int], names: list[str]) -> list[str]:
    """The doubtful views, listed (none: no line)."""
    if not doubtful:
        return []
    listed = ", ".join(names[i] for i in doubtful[:10]) + (" ..." if len(doubtful) > 10 else "")
    return [f"{len(doubtful)} doubtful view(s), down-weighted in the fit: {listed}"]


BORDER_LINE = "masks touch the image border"


def border_doubt(border: np.ndarray) -> list[str]:
    """The doubt when most masks touch the image border (`border`: (N,) bool), or none."""
    n = len(border)
    if border.sum() <= BORDER_MAJORITY * n:
        return []
    return [f"{BORDER_LINE} in {int(border.sum())} of {n} views: the object may leave the frame, or the "
            "floor/table was taken for the object"]


def _doubt_key(warning: str) -> str:
    """A whole-capture doubt's words before its first figure, which name its kind whatever the figures
    ('' for the doubtful-views line, which begins with its count and is no doubt of the whole)."""
    return re.split(r"[\d(]", warning, maxsplit=1)[0].strip()


def doubts_for(agreement: np.ndarray, border: np.ndarray, offset: float | None = None,
               side: str | None = None, alone: np.ndarray | None = None, names: list[str] | None = None
               ) -> list[str]:
    """The warnings that doubt a capture's masks as a whole: most touch the border, they agree poorly,
    they sit off the aim point, or many views keep a part the others carve away (`alone`: each view's
    `alone_share`)."""
    out = border_doubt(border)
    n = len(agreement)
    med = float(np.median(agreement))
    if med < WARN_MEDIAN:
        out.append(f"the views' masks agree poorly (median relative agreement {med:.3f} with the hull of the "
                   "other views): the segmentation is unreliable and so is any IoU measured against it")
    if offset is not None and offset > AIM_OFFSET:
        where = "" if side is None else (
            f", {side} it (the object's {_OTHER_PART[side]} part may be missing from every mask, e.g. where "
            f"it has the colour of what lies behind it, or background {side} the object taken in)")
        out.append(f"the masks sit off the point the cameras aim at (offset {offset:.2f} x the object's "
                   f"size, above {AIM_OFFSET}) in most views{where}: they may all miss the same part of the "
                   "object (or include the same piece of background), which agreement between views cannot "
                   "reveal; check overlays.png")
    if alone is not None and (alone >= ALONE).sum() >= max(2, ALONE_VIEWS * n):
        which = np.flatnonzero(alone >= ALONE)
        listed = ", ".join((names or [str(i) for i in range(n)])[i] for i in which[:8]) + (
            " ..." if len(which) > 8 else "")
        out.append(f"{len(which)} of {n} views keep a part of their own that the other views' masks carve "
                   f"away ({listed}; each at least {100 * ALONE:.0f} % of the mask): either they took in "
                   "background, or the other views all lost a part of the object (one with the colour of "
                   "what lies behind it there, or too thin for the views to agree on); agreement between "
                   "views cannot tell which, and the fit follows the majority; check overlays.png")
    return out


def judge(cameras: Cameras, masks: np.ndarray, box: tuple[np.ndarray, np.ndarray], resolution: int,
          max_misses: int, border: float, names: list[str], aim: np.ndarray | None = None) -> ViewConfidence:
    """Per-view agreement with the leave-one-out hull, weights, doubtful views and warnings; `aim`: (N, 2)
    pixel position of the point the cameras converge on, for the aim check."""
    m = np.asarray(masks, bool)
    n = len(m)
    votes = VoxelVotes(cameras, box[0], box[1], resolution)
    inside = votes.inside(m)
    misses = max_misses // 2  # a tighter hull than the segmentation prior's
    others = others_hulls(votes, inside, misses)
    agreement = np.array([_iou(x, o) for x, o in zip(m, others, strict=True)])
    alone = np.array([alone_share(x, o) for x, o in zip(m, others, strict=True)])
    # What perfectly consistent masks (the hull's own outlines) score with these cameras: the leave-one-out
    # hull is looser than the object wherever few views constrain it, and that is not the masks' fault.
    hull = votes.hull(inside, misses)
    consistent = np.stack([votes.project(hull, i) for i in range(n)])
    baseline = leave_one_out(votes, consistent, votes.inside(consistent), misses)
    relative = np.clip(agreement / np.maximum(baseline, 1e-6), 0.0, 1.0)
    edge = np.array([touches_border(x, border) for x in m])
    w, doubtful = weights_from(relative)
    offset = None if aim is None else aim_offset(m, aim)
    side = None if aim is None else aim_side(m, aim)
    doubts = doubts_for(relative, edge, offset, side, alone, list(names))
    said = [*doubts, *doubtful_line(doubtful, names)]
    return ViewConfidence(agreement, edge, w, doubtful, list(names), said, relative, offset, alone=alone,
                          doubts=len(doubts))


def others_hulls(votes: VoxelVotes, inside: np.ndarray, misses: int) -> list[np.ndarray]:
    """Per view, the hull of the other views' masks (`inside`: their votes) reprojected into it."""
    return [votes.others(inside, misses, i) for i in range(len(inside))]


def leave_one_out(votes: VoxelVotes, masks: np.ndarray, inside: np.ndarray, misses: int) -> np.ndarray:
    """(N,) IoU of each mask with the hull of the other views' masks, reprojected into its view."""
    return np.array([_iou(x, o) for x, o in zip(masks, others_hulls(votes, inside, misses), strict=True)])


def alone_share(mask: np.ndarray, others: np.ndarray) -> float:
    """The largest connected part of `mask` outside `others` (the other views' hull reprojected), opened
    by a pixel (the hull's voxel steps along the outline are not a part), as a fraction of the mask.
    One view keeping such a part took in background, and its low agreement says so; when many views do,
    the others may all have lost it (drawn-5-9: a sphere's cream half, kept only against the table)."""
    extra = cv2.morphologyEx((mask & ~others).astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(extra, connectivity=4)
    return float(stats[1:, cv2.CC_STAT_AREA].max() / max(int(mask.sum()), 1)) if n > 1 else 0.0


def enclosed_fractions(images: np.ndarray, masks: np.ndarray, surfaces: np.ndarray | None = None
                       ) -> np.ndarray:
    """(N,) fraction of each mask's pixels that look like the background around it (RGB images), less
    `surfaces` ((N, H, W) bool): pixels the other views have shown to be the object's surface
    (`seenthrough`), which are no doubt of this kind."""
    from softfit.silhouettes.colourmodel import enclosed_background

    known = np.zeros(masks.shape, bool) if surfaces is None else surfaces
    return np.array([(enclosed_background(np.ascontiguousarray(im[..., ::-1]), m) & ~k).sum()
                     / max(int(m.sum()), 1) for im, m, k in zip(images, masks, known, strict=True)])


def assess(cameras: Cameras, masks: np.ndarray, names: list[str], max_side: int = 200, resolution: int = 56,
           miss_frac: float = 0.2, border: float = 0.03, images: np.ndarray | None = None) -> ViewConfidence:
    """`judge` for masks from any method: on copies at most `max_side` px long, in a box around the hull
    of all the masks (found inside the region the cameras converge on). Cameras that do not converge
    leave every view at agreement 0 with a warning saying so, rather than failing a fit whose masks came
    from elsewhere. `images` (the photos, any size matching the masks) add the enclosed-background check."""
    from softfit.silhouettes.convergence import object_region

    m = np.asarray(masks, bool)
    n, h, w = m.shape
    s = min(1.0, max_side / max(h, w))
    ws, hs = max(8, round(w * s)), max(8, round(h * s))
    if (ws, hs) != (w, h):
        m = np.stack([cv2.resize(x.astype(np.float32), (ws, hs), interpolation=cv2.INTER_AREA) > 0.5
                      for x in m])
    cams = cameras.resized(ws, hs)
    max_misses = int(np.floor(miss_frac * n)) if n >= 5 else 0
    try:
        region = object_region(cams, names)
    except InputError as exc:
        zero = np.zeros(n)
        edge = np.array([touches_border(x, border) for x in m])
        return ViewConfidence(zero, edge, np.ones(n), [], list(names),
                              [f"per-view agreement not measured: {exc}"], zero)
    lo, hi = region.center - 2 * region.radius, region.center + 2 * region.radius
    votes = VoxelVotes(cams, lo, hi, resolution)
    b = votes.bounds(votes.hull(votes.inside(m), max_misses))
    if b is not None:
        pad = 0.15 * float((b[1] - b[0]).max())
        lo, hi = np.maximum(lo, b[0] - pad), np.minimum(hi, b[1] + pad)
    conf = judge(cams, m, (lo, hi), resolution, max_misses, border, names, region.projected(cams)[0])
    if images is None:
        return conf
    small = np.stack([cv2.resize(im, (ws, hs), interpolation=cv2.INTER_AREA) for im in images])
    return conf.with_enclosed(enclosed_fractions(small, m))

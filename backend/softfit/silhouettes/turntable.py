"""A turntable's disc taken in with the object: found by its rim, cut off by its colour.

On a fixed-camera turntable the disc turns with the object, so in the cameras' frame it is as solid as
the object: every mask that takes it in agrees with the others, the hull keeps it, and the prior it
reprojects makes it sure object in the next round. A disc and the object standing on it are not told
apart by shape from one ring of cameras (a flat disc and a cone as high as the disc's far rim look the
same from one elevation), so this step uses what makes a disc a disc.

Finding it (`find`): the disc is a thin cylinder about the turntable's axis (the axis of the circle the
camera centres lie on, along the cameras' up). Where nothing stands in front of it, the far half of its
top rim lies on each mask's outline, and so does the near half of its bottom rim, along the ellipses
those circles project to; the two are close (a disc is thin). The rim is searched over heights and
radii on the axis, scored by the share of those arc points whose pixel just inside the circle is in the
mask and just outside is not (median over the views). Only the far arc's upper part counts: near the
ellipse's ends the far arc runs along any round object's vertical side. The bottom rim of a round
object (a bucket, a tin) has its near arc on the outline too but its far arc hidden behind the object;
a torus's outer rim has both, but nothing stands on a torus. So a disc must also carry something: the
masks rise above its far rim by half the ellipse's height or more, or pixels inside its ellipse change
from view to view (a low asymmetric object turning on it).

Cutting it (`cut`): the top face's colour is read just inside the far arc where it lies on the outline
(nothing stands there), the side's just above the bottom rim's near arc; `supportcut` cuts the pixels
of the disc's image with those colours that also match the fixed camera's median background (the disc
looks the same in every view; the object turning on it does not, unless it is round too), or leaves
the disc when the object above it has its colour. Measured on the development scenes:
benchmarks/silhouettes.md, round 28.

Under masks that lost the object's lower part (`find_below`): a part in the colour of the disc or the
floor (a mug cream below and red above) is lost by every view alike, so the masks stop above the disc
and its rim is on no outline. The disc is then looked for in the fixed camera's median photo, below the
masks: the same rim pair, scored by colour edges across it (`EDGE`) instead of outlines. Only the rims
beside the masks' columns count: under the masks stands what they lost, which hides the far rim and
shows edges of its own (a round lost part's bottom rim looks like a small disc). The rim must also pass
outside the masks, as a disc carrying the object does. Its top is the height `multiview`'s standing rule
fills down to (round 38 in benchmarks/silhouettes.md)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import cv2
import numpy as np

from softfit.cameras import Cameras
from softfit.silhouettes import supportcut
from softfit.silhouettes.supportcut import Cut, robust_gaussian
from softfit.silhouettes.supportplane import in_plane_axes

ARC_POINTS = 48  # points on each circle tried
HEIGHTS, RADII = 45, 40  # the coarse search grid
FINE = 13  # the fine grid around the coarse best, per axis
UPPER_ARC = 0.3  # far-arc points count when above the ellipse's centre by this x its half-height
THIN = 0.25  # the bottom rim lies at most this x the radius under the top rim
FAR_MIN = 0.2  # share of the far arc's upper part on the outline (discs found: 0.21-0.67; round objects'
# bottom rims on the development turntables: at most 0.11)
NEAR_MIN = 0.6  # share of the bottom rim's near arc on the outline
ABOVE = 0.5  # something stands on it: the masks rise this x the ellipse's half-height above its top ...
CHANGING = 0.1  # ... or this share of the ellipse's pixels differ from the median background
BELOW = 0.3  # the masks end within this x the half-height under the ellipse's bottom (nothing hangs lower)
SEEN_MIN = 0.3  # an arc scores only when this share of its points is seen (not hidden by the object)
EDGE = 12.0  # RGB distance (of 255) across a rim in the median photo
FAR_EDGE, NEAR_EDGE = 0.6, 0.6  # shares of the far and near arcs on edges for a disc found in the photo


@dataclass(frozen=True)
class Disc:
    """The disc: top rim at height `top` along `up` from `origin` (on the axis), bottom rim at `bottom`,
    `radius`; `far`, `near`: the shares of the top rim's far arc and the bottom rim's near arc on the
    outline; `above`: how far the masks rise above its ellipse (x the half-height); `changing`: the share
    of its ellipse's pixels unlike the median background."""

    origin: np.ndarray
    up: np.ndarray
    top: float
    bottom: float
    radius: float
    far: float
    near: float
    above: float
    changing: float

    @property
    def top_height(self) -> float:
        """The top's height along `up` from the world origin: the plane up . x = top_height."""
        return float(self.origin @ self.up) + self.top

    def rim(self, height: float, radius: float, points: int = ARC_POINTS) -> np.ndarray:
        """(points, 3) on the circle about the axis at `height`, of `radius`."""
        return self.origin + height * self.up + radius * _ring(self.up, points)


def _ring(up: np.ndarray, points: int) -> np.ndarray:
    """(points, 3) unit vectors across `up`, evenly around it."""
    a, b = in_plane_axes(up)
    phi = np.linspace(0, 2 * np.pi, points, endpoint=False)
    return np.cos(phi)[:, None] * a + np.sin(phi)[:, None] * b


def axis(cams: Cameras, up: np.ndarray) -> np.ndarray:
    """A point on the turntable's axis: the centre of the circle through the camera centres, fitted in
    the plane across `up` (least squares on x² + y² = 2 cx x + 2 cy y + c)."""
    a, b = in_plane_axes(up)
    x, y = cams.centers @ a, cams.centers @ b
    design = np.stack([2 * x, 2 * y, np.ones_like(x)], 1)
    cx, cy, _ = np.linalg.lstsq(design, x * x + y * y, rcond=None)[0]
    return cx * a + cy * b


def _circles(origin: np.ndarray, up: np.ndarray, heights: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """(T, R, K, 3) points of the circles at every height and radius."""
    return (origin + heights[:, None, None, None] * up
            + radii[None, :, None, None] * _ring(up, ARC_POINTS)[None, None])


def _pixels_per_unit(cams: Cameras, point: np.ndarray) -> float | None:
    """Pixels per unit length at `point` (median over the views), None when it is behind the cameras."""
    depth = float(np.median(cams.project_points(np.asarray(point, float)[None])[:, 0, 2]))
    return float(np.median(np.abs(cams.fx))) / depth if depth > 0 else None


def _lookup(masks: np.ndarray, proj: np.ndarray) -> np.ndarray:
    """(N, P) mask value at each projected point (outside the image: False)."""
    n, h, w = masks.shape
    x, y = proj[..., 0], proj[..., 1]
    ok = (x >= 0) & (x < w) & (y >= 0) & (y < h)
    xi, yi = np.clip(x.astype(np.int64), 0, w - 1), np.clip(y.astype(np.int64), 0, h - 1)
    return ok & masks[np.arange(n)[:, None], yi, xi]


def _arc_shares(hit: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]], cams: Cameras,
                origin: np.ndarray, up: np.ndarray, heights: np.ndarray, radii: np.ndarray, delta: float
                ) -> tuple[np.ndarray, np.ndarray]:
    """((T, R) far, (T, R) near): median over the views of the share of the far arc's upper part, and of
    the near arc's lower part, whose points `delta` inside and outside the circle `hit` calls a rim
    (`hit(p_in, p_out)` -> ((N, P) rim, (N, P) seen), of the points projected into every view), out of
    those it has seen; an arc less than `SEEN_MIN` seen scores 0."""
    t, r = len(heights), len(radii)
    pts = _circles(origin, up, heights, radii)  # (T, R, K, 3)
    centre = origin + heights[:, None] * up  # (T, 3)
    outward = (pts - centre[:, None, None]) / np.maximum(radii, 1e-9)[None, :, None, None]
    p_c = cams.project_points(centre)  # (N, T, 3)
    p_in = cams.project_points((pts - delta * outward).reshape(-1, 3), np.float32)
    p_out = cams.project_points((pts + delta * outward).reshape(-1, 3), np.float32)
    p_on = p_in.reshape(len(cams), t, r, ARC_POINTS, 3)  # a pixel inside: close enough to say where it lies
    rim, seen = (a.reshape(len(cams), t, r, ARC_POINTS) for a in hit(p_in, p_out))
    y = p_on[..., 1]
    yc = 0.5 * (y.max(-1) + y.min(-1))[..., None]
    half = 0.5 * (y.max(-1) - y.min(-1))[..., None]
    behind = p_on[..., 2] > p_c[:, :, None, None, 2]
    far = behind & (y < yc - UPPER_ARC * half)
    near = ~behind & (y > yc + UPPER_ARC * half)

    def share(sel: np.ndarray) -> np.ndarray:
        looked = (sel & seen).sum(-1)
        s = (rim & seen & sel).sum(-1) / np.maximum(looked, 1)
        return np.median(np.where(looked >= SEEN_MIN * sel.sum(-1), s, 0.0), axis=0)

    return share(far), share(near)


def _outline_hits(masks: np.ndarray) -> Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """A rim on the masks' outlines: the point inside the circle in the mask, the one outside not."""
    def hit(p_in: np.ndarray, p_out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rim = _lookup(masks, p_in) & ~_lookup(masks, p_out)
        return rim, np.ones_like(rim)
    return hit


def _edge_hits(photo: np.ndarray, hidden: np.ndarray
               ) -> Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """A rim in one `photo` (H, W, 3): the colours inside and outside the circle (blurred over 5 px)
    differ by more than `EDGE`; points in `hidden` (H, W: the masks and what may stand under them) or
    off the photo are not seen."""
    h, w = hidden.shape
    smooth = cv2.GaussianBlur(photo.astype(np.float32), (5, 5), 0)

    def hit(p_in: np.ndarray, p_out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        inside, outside = (_lookup(np.ones((1, h, w), bool), p) for p in (p_in, p_out))
        seen = inside & outside & ~_lookup(hidden[None], p_in) & ~_lookup(hidden[None], p_out)
        a, b = _sample(smooth, p_in), _sample(smooth, p_out)
        return seen & (np.linalg.norm(a - b, axis=-1) > EDGE), seen
    return hit


def _sample(image: np.ndarray, proj: np.ndarray) -> np.ndarray:
    """(..., C) the pixel of `image` (H, W, C) at each projected point (clamped to the image)."""
    h, w = image.shape[:2]
    x = np.clip(proj[..., 0].astype(np.int64), 0, w - 1)
    return image[np.clip(proj[..., 1].astype(np.int64), 0, h - 1), x]


def _on_axis(masks: np.ndarray, cams: Cameras, up: np.ndarray
             ) -> tuple[np.ndarray, float, float, float] | None:
    """(a point on the turntable's axis, the lowest height along it from there inside the masks, the
    masks' extent along it (at least 4 px), pixels per unit there), or None when the axis meets no mask
    or lies behind the cameras."""
    origin = axis(cams, up)
    ts = np.linspace(-1, 1, 1601) * 4 * float(np.median(np.linalg.norm(cams.centers - origin, axis=1)))
    axis_px = cams.subset([0]).project_points(origin + ts[:, None] * up)
    on_axis = _lookup(masks.any(0, keepdims=True), axis_px)[0]
    if not on_axis.any():
        return None
    lo, hi = float(ts[on_axis].min()), float(ts[on_axis].max())
    px = _pixels_per_unit(cams, origin + lo * up)
    if px is None:
        return None
    return origin, lo, max(hi - lo, 4 / px), px


def _pair(far: np.ndarray, near: np.ndarray, heights: np.ndarray, radii: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray]:
    """((T, R) score far x best near under it, (T, R) that bottom rim's height index): the bottom rim at
    most THIN x the radius under the top rim."""
    score, bottom = np.zeros_like(far), np.zeros(far.shape, np.int64)
    for j, r in enumerate(radii):
        for i, top in enumerate(heights):
            ok = np.flatnonzero((heights <= top + 1e-12) & (heights >= top - THIN * r - 1e-12))
            k = ok[np.argmax(near[ok, j])]
            score[i, j], bottom[i, j] = far[i, j] * near[k, j], k
    return score, bottom


def _search(hit: Callable, cams: Cameras, origin: np.ndarray, up: np.ndarray, heights: np.ndarray,
            radii: np.ndarray, px: float, far_min: float, near_min: float, fine_delta: float = 0.75
            ) -> Disc | None:
    """The best-scoring rim pair (`_pair`) on a coarse grid of `heights` and `radii` (testing 2 px either
    side of each circle), refined on a fine one around it (`fine_delta` px either side); None when its
    far or near arc's share is below `far_min` or `near_min`."""
    score, bottom = _pair(*_arc_shares(hit, cams, origin, up, heights, radii, 2.0 / px), heights, radii)
    i, j = np.unravel_index(int(np.argmax(score)), score.shape)
    dt, dr = heights[1] - heights[0], radii[1] - radii[0]
    fine_heights = np.linspace(heights[max(0, bottom[i, j] - 1)], heights[i] + 1.5 * dt, FINE + 4)
    radii = np.maximum(radii[j] + np.linspace(-1.5, 1.5, FINE) * dr, radii[0])
    far, near = _arc_shares(hit, cams, origin, up, fine_heights, radii, fine_delta / px)
    score, bottom = _pair(far, near, fine_heights, radii)
    i, j = np.unravel_index(int(np.argmax(score)), score.shape)
    k = bottom[i, j]
    if far[i, j] < far_min or near[k, j] < near_min:
        return None
    return Disc(origin, up, float(fine_heights[i]), float(fine_heights[k]), float(radii[j]),
                float(far[i, j]), float(near[k, j]), 0.0, 0.0)


def find(masks: np.ndarray, cams: Cameras, up: np.ndarray, static: np.ndarray) -> Disc | None:
    """The turntable's disc the masks (N, H, W) took in, or None (module docstring). `static` (N, H, W):
    the pixels that match the fixed camera's median photo (`staticbackground`)."""
    n, h, w = masks.shape
    up = np.asarray(up, float) / np.linalg.norm(up)
    frame = _on_axis(masks, cams, up)
    if frame is None:
        return None
    origin, lo, span, px = frame
    heights = np.linspace(lo - 0.4 * span, lo + 0.7 * span, HEIGHTS)  # a disc lies low
    radii = np.linspace(4 / px, 0.5 * w / px, RADII)
    disc = _search(_outline_hits(masks), cams, origin, up, heights, radii, px, FAR_MIN, NEAR_MIN)
    if disc is None:
        return None
    top_y = cams.project_points(disc.rim(disc.top, disc.radius))[..., 1]
    bottom_y = cams.project_points(disc.rim(disc.bottom, disc.radius))[..., 1]
    half = np.maximum(0.5 * (top_y.max(1) - top_y.min(1)), 1.0)
    rows = [np.flatnonzero(m.any(1)) for m in masks]
    seen = [v for v in range(n) if len(rows[v])]
    above = float(np.median([(top_y[v].min() - rows[v].min()) / half[v] for v in seen]))
    below = float(np.median([(rows[v].max() - bottom_y[v].max()) / half[v] for v in seen]))
    if abs(below) > BELOW:
        return None
    ell = _filled(disc, cams, (disc.top,), h, w)
    changing = float(np.median([(~static[v] & ell[v]).sum() / max(1, ell[v].sum()) for v in seen]))
    if above < ABOVE and changing < CHANGING:
        return None  # nothing stands on it: a round object's own rim (a torus's, a tin's)
    return replace(disc, above=above, changing=changing)


def find_below(masks: np.ndarray, cams: Cameras, up: np.ndarray, median: np.ndarray,
               gap: float = 1.5) -> Disc | None:
    """The turntable's disc under masks that stop above it, found in the fixed camera's `median` photo
    (H, W, 3): the rim pair whose far and near arcs lie on colour edges, with its top below the lowest
    point of the axis inside the masks by at most `gap` x their extent along it; None when no such rim
    stands out (module docstring)."""
    w = masks.shape[2]
    up = np.asarray(up, float) / np.linalg.norm(up)
    frame = _on_axis(masks, cams, up)
    if frame is None:
        return None
    origin, lo, span, px = frame
    heights = np.linspace(lo - gap * span, lo - 2 / px, HEIGHTS)
    # The disc carries the object: its rim passes outside the masks (a circle narrower than them finds
    # the lost part's own edges: a cream box's bottom on a bare floor did).
    centre_x = cams.project_points((origin + lo * up)[None])[:, 0, 0]
    half = [np.abs(np.flatnonzero(m.any(0)) + 0.5 - c).max() for m, c in zip(masks, centre_x, strict=True)
            if m.any()]
    widest = float(np.median(half)) / px if half else 4 / px
    if widest >= 0.5 * w / px:
        return None
    radii = np.linspace(widest, 0.5 * w / px, RADII)
    one = cams.subset([0])  # the circles about the axis look alike from every view of a fixed camera
    # Under the masks stands what they lost, hiding the rims (and showing its own edges): only the rims
    # beside the masks' columns count. An edge is blurred over a few pixels: the fine search tests 1.5 px
    # either side.
    under = np.maximum.accumulate(masks.any(0), axis=0)
    return _search(_edge_hits(median, under), one, origin, up, heights, radii, px, FAR_EDGE,
                   NEAR_EDGE, fine_delta=1.5)


def _filled(disc: Disc, cams: Cameras, heights: tuple[float, ...], h: int, w: int) -> np.ndarray:
    """(N, H, W) the convex hull of the disc's rims at `heights` in every view: one height, the filled
    ellipse its circle projects to; the top and the bottom, the disc's image."""
    pts = np.concatenate([cams.project_points(disc.rim(z, disc.radius, 4 * ARC_POINTS)) for z in heights],
                         axis=1)
    out = np.zeros((len(cams), h, w), bool)
    for v in range(len(cams)):
        hull = cv2.convexHull(np.round(pts[v, :, :2]).astype(np.int32))
        out[v] = cv2.fillConvexPoly(np.zeros((h, w), np.uint8), hull, 1) > 0
    return out


def _colour_samples(disc: Disc, cams: Cameras, masks: np.ndarray, images: np.ndarray, height: float,
                    side: str, px: float) -> np.ndarray:
    """(S, 3) colours just inside the rim at `height` where it lies on the outline: on the far arc's
    upper part (`side` "far": the top face) or the near arc's lower part ("near": above the bottom rim,
    the side face)."""
    n = len(masks)
    on = cams.project_points(disc.rim(height, disc.radius))
    p_out = cams.project_points(disc.rim(height, disc.radius + 0.75 / px))
    p_c = cams.project_points((disc.origin + height * disc.up)[None])
    y = on[..., 1]
    yc, half = 0.5 * (y.max(1) + y.min(1))[:, None], 0.5 * (y.max(1) - y.min(1))[:, None]
    behind = on[..., 2] > p_c[:, :, 2]
    arc = behind & (y < yc - UPPER_ARC * half) if side == "far" else ~behind & (y > yc + UPPER_ARC * half)
    out = []
    for k in (1, 2, 3):
        step = k * 0.75 / px  # the side face lies above the bottom rim, the top face inside the top one
        p_in = cams.project_points(disc.rim(height + step, disc.radius) if side == "near"
                                   else disc.rim(height, disc.radius - step))
        ok = arc & _lookup(masks, p_in) & ~_lookup(masks, p_out)
        h, w = masks.shape[1:]
        xi = np.clip(p_in[..., 0].astype(np.int64), 0, w - 1)
        yi = np.clip(p_in[..., 1].astype(np.int64), 0, h - 1)
        for v in range(n):
            out.append(images[v][yi[v][ok[v]], xi[v][ok[v]]])
    return np.concatenate(out).astype(np.float64) if out else np.zeros((0, 3))


def cut(disc: Disc, cams: Cameras, masks: np.ndarray, images: np.ndarray, static: np.ndarray,
        grabcut: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Cut:
    """The masks less the disc (module docstring). `grabcut(image, labels)` -> object mask."""
    n, h, w = masks.shape
    px = _pixels_per_unit(cams, disc.origin + disc.top * disc.up)
    if px is None:
        return Cut(masks, 0)
    samples = (_colour_samples(disc, cams, masks, images, disc.top, "far", px),
               _colour_samples(disc, cams, masks, images, disc.bottom, "near", px))
    models = [g for g in map(robust_gaussian, samples) if g is not None]
    region = _filled(disc, cams, (disc.top, disc.bottom), h, w)
    return supportcut.cut([models] * n, region, masks, images, grabcut, alike=static)


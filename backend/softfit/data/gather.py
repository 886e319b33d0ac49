"""The loading steps every layout shares, numpy only (the Blender add-on ships this module and loads its
inputs with it): read each view once, bring it to one stored size, take the silhouette from alpha or masks
(or keep the photos for segmentation), check coverage, and resample to the working size.

Readers are passed in, so the backend (PIL) and Blender (its own image loader) read files their way and
everything after the read is the same code. Segmentation itself is the backend's (`data/load.py`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..cameras import Cameras, check_declared_size
from ..errors import InputError
from .distortion import undistort
from .pixels import is_translucent
from .resize import resize
from .size import same_framing, target_size
from .types import MIN_VIEW_SIDE, RawView, RawViews

SIZE_TOLERANCE_PX = 1.0  # rounding slack when a dataset's images were downscaled from the declared size
BUILTIN = ("alpha", "mask")

ReadImage = Callable[[Path, bool], np.ndarray]  # (file, apply EXIF) -> (H, W, 3|4) uint8
ReadMask = Callable[[Path], np.ndarray]  # file -> (H, W) float32 in [0, 1]


@dataclass(frozen=True)
class Readers:
    image: ReadImage
    mask: ReadMask


@dataclass(frozen=True)
class Gathered:
    """The views read and sized. silhouettes: (N, th, tw) float32 from alpha or masks, or None when the
    photos are to be segmented (`work`: (N, wh, ww, 3) uint8 at up to twice the working size, kept only
    then); images: (N, th, tw, 3) uint8; cameras: at the stored size; method: 'alpha', 'mask' or the
    segmentation method asked for ('segment' when auto found neither); info: what the loader tells."""

    names: list[str]
    labels: list[str]
    silhouettes: np.ndarray | None
    images: np.ndarray
    work: np.ndarray | None
    cameras: Cameras
    method: str
    info: dict

    @property
    def working_size(self) -> tuple[int, int]:
        return self.images.shape[2], self.images.shape[1]


class _Sizer:
    """Brings every view to one stored size, or says which file does not fit.

    Without declared sizes every image must have the cameras' size. With them (transforms.json), each
    image must have its declared size times one factor common to all views (a downscaled copy of the
    dataset); views are resampled to the first view's size, as load_transforms scaled their cameras."""

    def __init__(self, vs: RawViews, first: np.ndarray):
        self.vs = vs
        h, w = first.shape[:2]
        cams = vs.cameras
        if vs.expected_sizes is None:
            self.scale = 1.0
            if (w, h) != (cams.width, cams.height):
                raise InputError(f"{vs.views[0].label} is {w}x{h} but its cameras are "
                                 f"{cams.width}x{cams.height}")
        else:
            dw, dh = vs.expected_sizes[0] or (w, h)
            self.scale = check_declared_size((dw, dh), (w, h), vs.views[0].label, SIZE_TOLERANCE_PX)
        self.size = (w, h)
        self.resized_masks: list[str] = []  # "mask WxH for image WxH", one per mask of another size

    def _scaled_mask(self, i: int, mask: np.ndarray, w: int, h: int) -> np.ndarray:
        """A mask saved at another size than its image (a segmentation tool's smaller output, say) is
        resampled to it when it has the same framing (the working-size rule maps the larger onto the
        smaller, to the pixel); another aspect ratio is a mismatch and an error."""
        view = self.vs.views[i]
        mh, mw = mask.shape[:2]
        small, large = sorted(((mw, mh), (w, h)), key=max)
        if not same_framing(large, small):
            raise InputError(f"mask {view.mask_label} is {mw}x{mh} but its image {view.label} is {w}x{h}: "
                             "another aspect ratio (is it the mask of another image?)")
        self.resized_masks.append(f"{view.mask_label} {mw}x{mh} for {w}x{h}")
        return np.clip(resize(np.asarray(mask, np.float32), w, h), 0.0, 1.0)

    def fit(self, i: int, image: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        view = self.vs.views[i]
        h, w = image.shape[:2]
        if mask is not None and mask.shape != (h, w):
            mask = self._scaled_mask(i, mask, w, h)
        if self.vs.expected_sizes is None:
            if (w, h) != self.size:
                turned = (h, w) == self.size
                raise InputError(f"images of different sizes: {view.label} is {w}x{h}, "
                                 f"{self.vs.views[0].label} is {self.size[0]}x{self.size[1]}"
                                 + ("; it is the same size turned on its side (a phone held upright for "
                                    "some photos): one camera needs one frame, so rotate those photos to "
                                    "the others' orientation or leave them out" if turned else ""))
            return image, mask
        dw, dh = self.vs.expected_sizes[i] or (w, h)
        if abs(w - dw * self.scale) > SIZE_TOLERANCE_PX or abs(h - dh * self.scale) > SIZE_TOLERANCE_PX:
            raise InputError(f"{view.label} is {w}x{h} but the camera file declares {dw}x{dh}"
                             + (f" (x{self.scale:.3g} like the first view)" if self.scale != 1 else ""))
        if (w, h) != self.size:
            image = resize(image, *self.size)
            mask = None if mask is None else resize(mask, *self.size)
        return image, mask


def coverage(sil: np.ndarray) -> tuple[bool, bool]:
    """(empty, full): no pixel / every pixel at least half covered."""
    hard = sil >= 0.5
    return not hard.any(), bool(hard.all())


def check_coverage(stats: list[tuple[bool, bool]], labels: list[str], what: str) -> None:
    for k, problem in ((0, "no object pixels (empty silhouette)"),
                       (1, "the object covers the whole image (full silhouette)")):
        bad = [labels[i] for i, s in enumerate(stats) if s[k]]
        if bad:
            more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
            raise InputError(f"{what}: {problem} in {', '.join(bad[:5])}{more}")


def _load_view(vs: RawViews, i: int, view: RawView, read: Readers) -> tuple[np.ndarray, np.ndarray | None]:
    image = view.image if isinstance(view.image, np.ndarray) else read.image(view.image, vs.exif)
    if view.mask is None:
        mask = None
    elif isinstance(view.mask, np.ndarray):
        mask = np.asarray(view.mask, dtype=np.float32)
    else:
        mask = read.mask(view.mask)
    if view.distortion is not None:  # intrinsics scaled to the file's own size
        c = vs.cameras
        sx, sy = image.shape[1] / c.width, image.shape[0] / c.height
        image, mask = undistort(image, view.distortion, c.fx[i] * sx, c.fy[i] * sy, c.cx[i] * sx,
                                c.cy[i] * sy, mask)
    return image, mask


def resolve_auto(has_alpha: bool, has_masks: bool, source: str) -> tuple[str, str]:
    """(silhouette source, why) for silhouette='auto': 'alpha', 'mask' or 'segment'."""
    if has_alpha:
        return "alpha", "the images have real transparency (alpha channel)"
    if has_masks:
        return "mask", "every view has a mask file"
    return "segment", f"{source}: the images have no transparency and there are no masks, so the photos " \
                      "are segmented"


def gather(vs: RawViews, method: str, image_size: int | None, read: Readers, work_copies: bool = True
           ) -> Gathered:
    """Read every view once and size it; silhouettes from alpha / masks when `method` (alpha, mask, auto,
    or a segmentation method name) takes them from there. `work_copies`: keep the copies a segmentation
    reads (a caller that has its masks already, such as the texture's photos, skips them)."""
    n = len(vs.views)
    want_alpha = method in ("alpha", "auto")
    want_mask = method in ("mask", "auto")
    keep_work = work_copies and method not in BUILTIN  # a segmentation method, or auto (which may segment)
    sizer: _Sizer | None = None
    images, alpha, masks, work = [], [], [], []
    alpha_stats, mask_stats = [], []
    n_alpha, n_mask, translucent, opaque = 0, 0, False, []
    for i, view in enumerate(vs.views):
        image, mask = _load_view(vs, i, view, read)
        if sizer is None:
            sizer = _Sizer(vs, image)
            sw, sh = sizer.size
            if min(sw, sh) < MIN_VIEW_SIDE:
                raise InputError(f"{view.label} is {sw}x{sh} pixels: too small to fit a mesh to (each side "
                                 f"needs at least {MIN_VIEW_SIDE} pixels)")
            tw, th = target_size(sw, sh, image_size)
            ww, wh = target_size(sw, sh, None if image_size is None else min(2 * image_size, max(sw, sh)))
        image, mask = sizer.fit(i, image, mask)
        images.append(resize(np.ascontiguousarray(image[..., :3]), tw, th))
        if image.shape[2] != 4:
            opaque.append(view.label)
        else:
            n_alpha += 1
            a = image[..., 3].astype(np.float32) / 255.0
            translucent = translucent or is_translucent(a)
            if want_alpha:
                alpha_stats.append(coverage(a))
                alpha.append(resize(a, tw, th))
        if mask is not None:
            n_mask += 1
            if want_mask:
                m = np.clip(mask, 0.0, 1.0)
                mask_stats.append(coverage(m))
                masks.append(resize(m, tw, th))
        if keep_work:
            work.append(resize(np.ascontiguousarray(image[..., :3]), ww, wh))

    source = vs.info.get("source", "input")
    labels = [v.label for v in vs.views]
    info = dict(vs.info, views=n, stored_size=[sw, sh], image_size=[tw, th])
    if sizer is not None and sizer.resized_masks:
        info["masks_resized"] = sizer.resized_masks
    if method == "auto":
        method, why = resolve_auto(n_alpha == n and translucent, n_mask == n, source)
        info["silhouette_choice"] = {"requested": "auto", "chose": method, "because": why}
    sil = None
    if method == "alpha":
        if n_alpha < n:
            raise InputError(f"silhouette 'alpha' needs images with an alpha channel; {n - n_alpha} of {n} "
                             f"have none, e.g. {opaque[0]}")
        if not translucent:
            raise InputError(f"silhouette 'alpha': the images' alpha channel is fully opaque ({source})")
        check_coverage(alpha_stats, labels, "silhouettes from the alpha channel")
        sil = np.stack(alpha)
    elif method == "mask":
        if n_mask < n:
            raise InputError(f"silhouette 'mask': no mask files found for {source} (per-frame mask_path, "
                             "a masks/ or mask/ folder with the images' names, or <name>_mask files beside "
                             "them)")
        check_coverage(mask_stats, [v.mask_label for v in vs.views], "silhouettes from masks")
        sil = np.stack(masks)
    info["silhouette"] = method
    cams = vs.cameras
    if (cams.width, cams.height) != (sw, sh):
        cams = cams.resized(sw, sh)
    return Gathered([v.name for v in vs.views], labels,
                    None if sil is None else np.clip(sil, 0.0, 1.0).astype(np.float32),
                    np.stack(images).astype(np.uint8), np.stack(work) if work and sil is None else None, cams,
                    method, info)

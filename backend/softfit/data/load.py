"""`load_dataset`: any supported input layout -> `MultiViewData` at the working image size.

Layouts (detected from the path):
- a folder holding `transforms.json`, or the json file itself (`formats.transforms`);
- SoftRas demo files `source.npy` + `camera.npy` (the folder or either file), or a SoftRas/ShapeNet
  `.npz` archive with `object_index` choosing the object (`formats.softras`), read with SoftRas' data
  viewing angle 15 deg (`cameras="softras:viewing_angle=DEG"` for data rendered otherwise);
- an ALOI object folder `.../png2/<obj>` with masks in `.../mask2/<obj>` (`formats.aloi`);
- any other folder of images, with `cameras="turntable:views=..,distance=..,elevation=..,fov=.."` or a
  transforms.json path (`formats.folder`).

Then, the same for all: silhouettes from alpha / masks / a segmentation method (`silhouette.py`),
checked at the stored resolution (no empty or full views), area-averaged to at most `image_size` on the long
side with the aspect ratio kept, and the cameras' intrinsics scaled to match."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from softfit.cameras import SOFTRAS_DATA_VIEW_ANGLE_DEG, check_declared_size
from softfit.data.files import detect
from softfit.data.formats import aloi, folder, softras, transforms
from softfit.data.images import read_image, read_mask
from softfit.data.pixels import is_translucent
from softfit.data.resize import resize
from softfit.data.silhouette import SilhouetteChoice, parse_silhouette, resolve_auto, segment
from softfit.data.size import target_size
from softfit.data.spec import TurntableSpec, parse_softras, parse_turntable
from softfit.data.types import MIN_VIEW_SIDE, MultiViewData, RawView, RawViews
from softfit.errors import InputError

SIZE_TOLERANCE_PX = 1.0  # rounding slack when a dataset's images were downscaled from the declared size


def load_dataset(path: str | Path, cameras: str | None = None, silhouette: str = "auto",
                 image_size: int | None = 256, object_index: int | None = None,
                 allow_outside_paths: bool = False) -> MultiViewData:
    """Load multi-view silhouettes, images and cameras from `path` (see the module docstring). Paths in
    a camera file must stay inside its folder unless `allow_outside_paths`."""
    choice = parse_silhouette(silhouette)
    target_size(1, 1, image_size)  # validate before any file is read
    if cameras is not None and _is_sfm(cameras):
        return _load_with_sfm(Path(path), str(cameras), choice, image_size, object_index,
                              allow_outside_paths)
    return assemble(read_views(Path(path), cameras, object_index, allow_outside_paths), choice, image_size)


def _is_sfm(cameras: str | Path) -> bool:
    return str(cameras).strip().lower().startswith("sfm")


def _load_with_sfm(path: Path, spec: str, choice: SilhouetteChoice, image_size: int | None,
                   object_index: int | None, allow_outside_paths: bool = False) -> MultiViewData:
    """Cameras estimated by structure-from-motion on the stored-size images (more accurate than the
    working copies), masked by the silhouettes. A layout with cameras of its own keeps them as ground
    truth for the pose-error report; a plain folder reads as a turntable first (SfM falls back to it)."""
    from softfit.sfm import estimate_from_spec, parse_spec, pose_errors

    parse_spec(spec)  # bad options fail before any file is read
    path = path.expanduser()
    fmt = detect(path)[0] if path.exists() else None
    own_cameras = fmt in ("transforms", "softras", "softras_npz")
    stored = assemble(read_views(path, None if own_cameras or fmt == "aloi" else "turntable", object_index,
                                 allow_outside_paths), choice, None)
    if stored.images is None:
        raise InputError(f"structure-from-motion needs images; {path} holds silhouettes only")
    res = estimate_from_spec(stored.images, stored.silhouettes >= 0.5, spec)
    if res.cameras is None:
        raise InputError(res.message)
    info = {**stored.info, "cameras": "sfm", "sfm": res.to_dict()}
    if own_cameras:
        info["sfm_pose_errors"] = pose_errors(res.cameras, stored.cameras)
    data = MultiViewData(stored.silhouettes, res.cameras, stored.names, stored.images, info)
    tw, th = target_size(data.cameras.width, data.cameras.height, image_size)
    if (tw, th) == (data.cameras.width, data.cameras.height):
        return data
    sil = np.stack([resize(s, tw, th) for s in data.silhouettes])
    img = np.stack([resize(i, tw, th) for i in data.images])
    return MultiViewData(sil, data.cameras.resized(tw, th), data.names, img, {**info, "image_size": [tw, th]})


def read_views(path: Path, cameras: str | None = None, object_index: int | None = None,
               allow_outside_paths: bool = False) -> RawViews:
    """Detect the layout of `path` and run its reader."""
    path = path.expanduser()
    if not path.exists():
        raise InputError(f"input not found: {path}")
    view_angle = None
    if cameras is not None and str(cameras).strip().lower().startswith("softras"):
        view_angle, cameras = parse_softras(str(cameras)), None
    spec, cam_json = _camera_option(cameras)
    fmt, where = ("transforms", cam_json) if cam_json is not None else detect(path)
    if view_angle is not None and fmt not in ("softras", "softras_npz"):
        raise InputError(f"cameras 'softras:...' apply to SoftRas source.npy/.npz data, not to {path}")
    if object_index is not None and fmt != "softras_npz":
        raise InputError(f"object_index applies to SoftRas .npz archives only, not to {path}")
    if spec is not None and fmt in ("transforms", "softras", "softras_npz"):
        raise InputError(f"{path} has its own cameras ({fmt}); drop the cameras option")
    if fmt == "transforms":
        return transforms.read(where, allow_outside_paths)
    if fmt in ("softras", "softras_npz"):
        angle = SOFTRAS_DATA_VIEW_ANGLE_DEG if view_angle is None else view_angle
        if fmt == "softras":
            return softras.read_npy(where, angle)
        return softras.read_npz(where, object_index, angle)
    if fmt == "aloi":
        return aloi.read(where, spec)
    if spec is None:
        raise InputError(f"no cameras for the images in {where}: pass cameras='turntable:views=N,"
                         "distance=D,elevation=E,fov=F' (any subset) or a transforms.json path")
    return folder.read(where, spec)


def _camera_option(cameras: str | Path | None) -> tuple[TurntableSpec | None, Path | None]:
    if cameras is None:
        return None, None
    text = str(cameras).strip()
    if text.lower().startswith("turntable"):
        return parse_turntable(text), None
    p = Path(text).expanduser()
    if p.is_dir() and (p / "transforms.json").is_file():
        return None, p / "transforms.json"
    if p.suffix.lower() == ".json":
        if not p.is_file():
            raise InputError(f"camera file not found: {p}")
        return None, p
    return parse_turntable(text), None  # raises: unknown spec


# ---------------------------------------------------------------------------------------------------


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

    def fit(self, i: int, image: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        view = self.vs.views[i]
        h, w = image.shape[:2]
        if mask is not None and mask.shape != (h, w):
            raise InputError(f"mask {view.mask_label} is {mask.shape[1]}x{mask.shape[0]} but its image "
                             f"{view.label} is {w}x{h}")
        if self.vs.expected_sizes is None:
            if (w, h) != self.size:
                raise InputError(f"images of different sizes: {view.label} is {w}x{h}, "
                                 f"{self.vs.views[0].label} is {self.size[0]}x{self.size[1]}")
            return image, mask
        dw, dh = self.vs.expected_sizes[i] or (w, h)
        if abs(w - dw * self.scale) > SIZE_TOLERANCE_PX or abs(h - dh * self.scale) > SIZE_TOLERANCE_PX:
            raise InputError(f"{view.label} is {w}x{h} but the camera file declares {dw}x{dh}"
                             + (f" (x{self.scale:.3g} like the first view)" if self.scale != 1 else ""))
        if (w, h) != self.size:
            image = resize(image, *self.size)
            mask = None if mask is None else resize(mask, *self.size)
        return image, mask


def _coverage(sil: np.ndarray) -> tuple[bool, bool]:
    """(empty, full): no pixel / every pixel at least half covered."""
    hard = sil >= 0.5
    return not hard.any(), bool(hard.all())


def _check_coverage(stats: list[tuple[bool, bool]], labels: list[str], what: str) -> None:
    for k, problem in ((0, "no object pixels (empty silhouette)"),
                       (1, "the object covers the whole image (full silhouette)")):
        bad = [labels[i] for i, s in enumerate(stats) if s[k]]
        if bad:
            more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
            raise InputError(f"{what}: {problem} in {', '.join(bad[:5])}{more}")


def _load_view(vs: RawViews, view: RawView) -> tuple[np.ndarray, np.ndarray | None]:
    image = view.image if isinstance(view.image, np.ndarray) else read_image(view.image, exif=vs.exif)
    if view.mask is None:
        mask = None
    elif isinstance(view.mask, np.ndarray):
        mask = np.asarray(view.mask, dtype=np.float32)
    else:
        mask = read_mask(view.mask)
    return image, mask


def assemble(vs: RawViews, choice: SilhouetteChoice, image_size: int | None) -> MultiViewData:
    """Read every view, pick the silhouette source, check and resize; the common half of loading."""
    n = len(vs.views)
    method = choice.method
    want_alpha = method in ("alpha", "auto")
    want_mask = method in ("mask", "auto")
    segmenting = not choice.is_builtin
    sizer: _Sizer | None = None
    images, alpha, masks, work = [], [], [], []
    alpha_stats, mask_stats = [], []
    n_alpha, n_mask, translucent, opaque = 0, 0, False, []
    for i, view in enumerate(vs.views):
        image, mask = _load_view(vs, view)
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
                alpha_stats.append(_coverage(a))
                alpha.append(resize(a, tw, th))
        if mask is not None:
            n_mask += 1
            if want_mask:
                m = np.clip(mask, 0.0, 1.0)
                mask_stats.append(_coverage(m))
                masks.append(resize(m, tw, th))
        if segmenting:
            work.append(resize(np.ascontiguousarray(image[..., :3]), ww, wh))

    names = [v.name for v in vs.views]
    source = vs.info.get("source", "input")
    if method == "auto":
        method = resolve_auto(n_alpha == n and translucent, n_mask == n, source)
    if method == "alpha":
        if n_alpha < n:
            raise InputError(f"silhouette 'alpha' needs images with an alpha channel; {n - n_alpha} of {n} "
                             f"have none, e.g. {opaque[0]}")
        if not translucent:
            raise InputError(f"silhouette 'alpha': the images' alpha channel is fully opaque ({source})")
        _check_coverage(alpha_stats, [v.label for v in vs.views], "silhouettes from the alpha channel")
        sil = np.stack(alpha)
    elif method == "mask":
        if n_mask < n:
            raise InputError(f"silhouette 'mask': no mask files found for {source} (per-frame mask_path, "
                             "or a masks/ folder with the images' names)")
        _check_coverage(mask_stats, [v.mask_label for v in vs.views], "silhouettes from masks")
        sil = np.stack(masks)
    else:
        seg, seg_info = segment(np.stack(work), choice, names)
        _check_coverage([_coverage(s) for s in seg], [v.label for v in vs.views],
                        f"silhouettes from segmentation {choice.method!r}")
        sil = np.stack([resize(s, tw, th) for s in seg])

    cams = vs.cameras
    if (cams.width, cams.height) != (sw, sh):
        cams = cams.resized(sw, sh)
    info = dict(vs.info, silhouette=method, views=n, stored_size=[sw, sh], image_size=[tw, th])
    if segmenting:
        info["segmentation"] = seg_info
        info["silhouette_options"] = {k: v if isinstance(v, bool | int | float) else str(v)
                                      for k, v in choice.options.items()}
    return MultiViewData(np.clip(sil, 0.0, 1.0).astype(np.float32), cams.resized(tw, th), names,
                         np.stack(images).astype(np.uint8), info)

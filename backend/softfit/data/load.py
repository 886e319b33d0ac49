"""`load_dataset`: any supported input layout -> `MultiViewData` at the working image size.

Layouts (detected from the path):
- a folder holding `transforms.json`, or the json file itself (`formats.transforms`);
- SoftRas demo files `source.npy` + `camera.npy` (the folder or either file), or a SoftRas/ShapeNet
  `.npz` archive with `object_index` choosing the object (`formats.softras`), read with SoftRas' data
  viewing angle 15 deg (`cameras="softras:viewing_angle=DEG"` for data rendered otherwise);
- an ALOI object folder `.../png2/<obj>` with masks in `.../mask2/<obj>` (`formats.aloi`);
- any other folder of images, with `cameras="turntable:views=..,distance=..,elevation=..,fov=.."` or a
  transforms.json path (`formats.folder`), or `cameras="colmap:MODEL_DIR"`, a COLMAP sparse model
  (`formats.colmap`).

Then, the same for all: silhouettes from alpha / masks / a segmentation method (`silhouette.py`),
checked at the stored resolution (no empty or full views), area-averaged to at most `image_size` on the long
side with the aspect ratio kept, and the cameras' intrinsics scaled to match."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from softfit.data import layout
from softfit.data.files import detect
from softfit.data.gather import Readers, check_coverage, coverage, gather
from softfit.data.images import displayed_size, read_image, read_mask
from softfit.data.resize import resize
from softfit.data.silhouette import SilhouetteChoice, parse_silhouette, segment
from softfit.data.size import target_size
from softfit.data.types import MultiViewData, RawViews
from softfit.errors import InputError


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
    own_cameras = _own_cameras(path)
    views = read_views(path, layout_cameras(path, spec), object_index, allow_outside_paths)
    stored = assemble(views, choice, None)
    if stored.images is None:
        raise InputError(f"structure-from-motion needs images; {path} holds silhouettes only")
    res = estimate_from_spec(stored.images, stored.silhouettes >= 0.5, spec)
    cams, left_out = res.cameras, []
    if cams is None and res.registered_cameras is not None and len(res.registered) >= MIN_SFM_VIEWS:
        # a free (not turntable) capture: the views SfM could not place have no camera, so they are left out
        keep = list(res.registered)  # the order of res.registered_cameras
        posed = set(keep)
        left_out = [name for i, name in enumerate(stored.names) if i not in posed]
        cams, stored = res.registered_cameras, stored.subset(keep)
        views = _keep_views(views, keep)
    if cams is None:
        raise InputError(res.message)
    resegmented = stored.info.get("silhouette") == "segment" and not res.fallback
    if resegmented:  # segmented with the assumed turntable, which told SfM where to look: again with its own
        stored = assemble(dataclasses.replace(views, cameras=cams), choice, None)
    sfm = res.to_dict() | {"resegmented": resegmented, "left_out": left_out}
    info = {**stored.info, "cameras": "sfm", "sfm": sfm}
    if own_cameras:
        info["sfm_pose_errors"] = pose_errors(cams, stored.cameras)
    data = MultiViewData(stored.silhouettes, cams, stored.names, stored.images, info, stored.view_weights)
    tw, th = target_size(data.cameras.width, data.cameras.height, image_size)
    if (tw, th) == (data.cameras.width, data.cameras.height):
        return data
    sil = np.stack([resize(s, tw, th) for s in data.silhouettes])
    img = np.stack([resize(i, tw, th) for i in data.images])
    return MultiViewData(sil, data.cameras.resized(tw, th), data.names, img, {**info, "image_size": [tw, th]},
                         data.view_weights)


MIN_SFM_VIEWS = 5  # registered views a free capture is fitted from when SfM could not place the rest


def _keep_views(views: RawViews, keep: list[int]) -> RawViews:
    """The views (and their cameras, declared sizes) at the indices `keep`."""
    sizes = None if views.expected_sizes is None else [views.expected_sizes[i] for i in keep]
    return dataclasses.replace(views, views=[views.views[i] for i in keep],
                               cameras=views.cameras.subset(keep), expected_sizes=sizes)


# layouts whose cameras SfM's are checked against
OWN_CAMERAS = ("transforms", "softras", "softras_npz", "colmap")


def _own_cameras(path: Path) -> bool:
    return path.exists() and detect(path)[0] in OWN_CAMERAS


def layout_cameras(path: Path, cameras: str | None) -> str | None:
    """What `read_views` takes for a camera option: structure-from-motion's cameras are not read from the
    layout, so a plain folder reads as a turntable (in file order) and a layout with cameras of its own
    (or ALOI's) as itself; any other option unchanged."""
    if cameras is None or not _is_sfm(cameras):
        return cameras
    fmt = detect(path)[0] if path.exists() else None
    return None if fmt in (*OWN_CAMERAS, "aloi") else "turntable"


READERS = Readers(read_image, read_mask)


def read_views(path: Path, cameras: str | None = None, object_index: int | None = None,
               allow_outside_paths: bool = False) -> RawViews:
    """The views of `path` as `layout.read_views` finds them, with image sizes read by PIL (EXIF-aware)."""
    return layout.read_views(path, displayed_size, cameras, object_index, allow_outside_paths)


def assemble(vs: RawViews, choice: SilhouetteChoice, image_size: int | None) -> MultiViewData:
    """Read and size every view (`gather`, shared with the add-on), segmenting the photos when the
    silhouettes come from neither alpha nor masks."""
    g = gather(vs, choice.method, image_size, READERS)
    info, weights, sil = g.info, None, g.silhouettes
    tw, th = g.working_size
    if sil is None:
        if choice.method == "auto":
            choice = SilhouetteChoice("segment", {})
        assert g.work is not None
        wcams = g.cameras.resized(g.work.shape[2], g.work.shape[1])
        seg = segment(g.work, choice, g.names, wcams, vs.points)
        weights = seg.weights
        chose = info.get("silhouette_choice")
        if chose is not None:
            chose["because"] += f"; {seg.method} because {seg.reason}"
            chose["chose"] = seg.method
        check_coverage([coverage(s) for s in seg.masks.astype(np.float32)], g.labels,
                       f"silhouettes from segmentation {seg.method!r}")
        sil = np.stack([resize(s.astype(np.float32), tw, th) for s in seg.masks])
        info["segmentation"] = seg.info()
        info["silhouette_options"] = {k: v if isinstance(v, bool | int | float) else str(v)
                                      for k, v in choice.options.items()}
    return MultiViewData(np.clip(sil, 0.0, 1.0).astype(np.float32), g.cameras.resized(tw, th), g.names,
                         g.images, info, weights)

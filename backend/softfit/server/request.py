"""A validated `submit` message -> what `softfit.pipeline.run` takes (MultiViewData, Mesh, FitParams,
pinned), and a validated `prepare` (initial-mesh) message -> its MultiViewData.

`submit_request`/`prepare_request` run in the socket loop and do only the cheap checks that should fail
the request itself (parameters, cameras); `build`/`build_data`/`build_prepared` run in a worker
(silhouette conversion or segmentation, copies, the initial mesh)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from softfit.cameras import Cameras, check_declared_size, parse_transforms
from softfit.data.types import MIN_VIEW_SIDE, MultiViewData
from softfit.errors import InputError
from softfit.fit import FitParams
from softfit.mesh.types import Mesh, check_initial_mesh
from softfit.wire.events import Prepared
from softfit.wire.protocol import Message


@dataclass
class FitRequest:
    views: np.ndarray  # (N, H, W) silhouettes (uint8 0..255 or float [0, 1]) or (N, H, W, 3|4) uint8 images
    is_images: bool
    cameras: Cameras
    names: list[str]
    verts: np.ndarray
    faces: np.ndarray
    pinned: np.ndarray | None
    params: FitParams
    silhouette_method: str
    texture: bool = True  # repair and texture the result, as a written `softfit fit` result
    photos: np.ndarray | None = None  # (N, H', W', 3|4) uint8: the views at a larger size, for the texture
    backdrop: np.ndarray | None = None  # (H, W, 3) uint8: the empty scene, for silhouette "backdrop"
    texture_refine: bool = False  # refine the baked texture against the photos (softfit fit --texture-refine)
    segmentation: dict | None = None  # what made the sent silhouettes when a segmentation did (softfit views)


@dataclass
class InitRequest:
    """A `prepare` request: the views and cameras, and which initial mesh to build from them."""

    views: np.ndarray
    is_images: bool
    cameras: Cameras | None
    names: list[str]
    init: str | None
    polys: int | str
    silhouette_method: str
    sfm: str | None  # an SfM camera spec: `cameras` is None until the worker estimates them
    params: FitParams  # the fit's split: the initial mesh is built from its training views only
    backdrop: np.ndarray | None = None  # (H, W, 3) uint8: the empty scene, for silhouette "backdrop"
    segmentation: dict | None = None  # as FitRequest's


def cameras_from_transforms(meta: dict, width: int, height: int) -> tuple[Cameras, list[str]]:
    """Cameras for views of width x height from transforms.json content sent over the wire.

    Frame paths mean nothing on the server, so they only name the views and never touch the disk;
    a missing top-level w/h defaults to the sent image size, and cameras for another size are rescaled."""
    frames = meta.get("frames")
    if not isinstance(frames, list) or not all(isinstance(f, dict) for f in frames):
        raise InputError("transforms: 'frames' must be a list of objects")
    names = [_view_name(f.get("file_path"), i) for i, f in enumerate(frames)]
    clean = dict(meta, frames=[{**{k: v for k, v in f.items() if k != "mask_path"}, "file_path": f"view_{i}"}
                               for i, f in enumerate(frames)])
    clean.setdefault("w", width)
    clean.setdefault("h", height)
    try:
        cams, _ = parse_transforms(clean, None, "transforms")
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise InputError(f"transforms: bad camera values ({exc})") from None
    if (cams.width, cams.height) != (width, height):
        check_declared_size((cams.width, cams.height), (width, height), f"the {len(names)} sent view(s)")
        cams = cams.resized(width, height)
    return cams, names


def _view_name(path: object, i: int) -> str:
    if isinstance(path, str) and path:
        stem = path.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
        if stem:
            return stem[:128]
    return f"view_{i:03d}"


def fit_params(msg: Message) -> FitParams:
    """The request's FitParams (defaults for what it leaves out). Its `threads` is ignored: the server owns
    the CPU budget (`softfit serve --threads`), and torch's thread count is process-wide, so concurrent
    fits must not each set it. Remeshing ("remesh": "on") streams the new faces with the first frame of
    each new topology; "auto" means off here (the client gave the initial mesh)."""
    params_in = dict(msg.body.get("params") or {})
    params_in["threads"] = 0
    try:
        return FitParams.from_dict(params_in)
    except TypeError as exc:
        raise InputError(f"bad fit parameters: {exc}") from None


def submit_request(msg: Message) -> FitRequest:
    """The cheap, loop-side half of a `submit`: InputError here fails it with `bad_request`."""
    a = msg.arrays
    views, is_images = _views(msg)
    _check_view_size(views)
    params = fit_params(msg)
    cams, names = cameras_from_transforms(msg.body["transforms"], views.shape[2], views.shape[1])
    check_initial_mesh(Mesh(a["verts"], a["faces"]))  # coordinates in range, not degenerate
    method = silhouette_method(msg)
    photos = a.get("photos")
    if photos is not None:
        _check_photo_framing(views, photos)
    return FitRequest(views, is_images, cams, names, a["verts"], a["faces"], a.get("pinned"), params, method,
                      bool(msg.body.get("texture", True)), photos, a.get("backdrop"),
                      bool(msg.body.get("texture_refine", False)), msg.body.get("segmentation"))


# Options that name a file: a client must not make the server open paths of its choosing. The empty scene
# comes as the `backdrop` array; DeepLab's weights are torchvision's (fetched into the server's hub cache)
# or the file the server's own SOFTFIT_DEEPLAB_WEIGHTS names.
FILE_OPTIONS = {"backdrop": None, "weights": "torchvision"}


def silhouette_method(msg: Message) -> str:
    """The request's `silhouette` (default auto), parsed here so that a malformed method or option fails
    the request rather than the job; options naming a file on the server are refused (`FILE_OPTIONS`)."""
    from softfit.data.silhouette import parse_silhouette

    method = str(msg.body.get("silhouette", "auto"))
    choice = parse_silhouette(_segmentation_name(method))
    for key, allowed in FILE_OPTIONS.items():
        if key in choice.options and str(choice.options[key]) != allowed:
            instead = ("send the empty scene as the 'backdrop' array" if allowed is None else
                       f"use {key}={allowed} or the backend's SOFTFIT_DEEPLAB_WEIGHTS")
            raise InputError(f"silhouette option {key}= names a file on the backend's machine, which a "
                             f"client may not choose: {instead}")
    return method


def _check_photo_framing(views: np.ndarray, photos: np.ndarray) -> None:
    """The photos must be the views at a larger size (same framing, the working-size rule), or the
    texture would take its colours from the wrong pixels."""
    from softfit.data.size import same_framing

    h, w = views.shape[1:3]
    ph, pw = photos.shape[1:3]
    if not same_framing((pw, ph), (w, h)):
        raise InputError(f"the photos ({pw}x{ph}) are not the {w}x{h} views at a larger size: another "
                         f"aspect ratio")


def _check_view_size(views: np.ndarray) -> None:
    h, w = views.shape[1:3]
    if min(h, w) < MIN_VIEW_SIDE:
        raise InputError(f"the views are {w}x{h} pixels: too small to fit a mesh to (each side needs at "
                         f"least {MIN_VIEW_SIDE} pixels)")


def _views(msg: Message) -> tuple[np.ndarray, bool]:
    a = msg.arrays
    is_images = "images" in a
    return (a["images"] if is_images else a["silhouettes"]), is_images


def prepare_request(msg: Message) -> InitRequest:
    """The loop-side half of a `prepare`: cameras parsed (InputError -> `bad_request`), nothing computed."""
    views, is_images = _views(msg)
    _check_view_size(views)
    sfm = msg.body.get("cameras")
    if sfm is not None:
        from softfit.sfm.spec import parse_spec

        parse_spec(sfm)  # a malformed spec fails the request, not the worker
        cams, names = None, [f"view_{i:03d}" for i in range(len(views))]
    else:
        cams, names = cameras_from_transforms(msg.body["transforms"], views.shape[2], views.shape[1])
    polys = msg.body.get("polys")
    return InitRequest(views, is_images, cams, names, msg.body["init"], "auto" if polys is None else polys,
                       silhouette_method(msg), sfm, fit_params(msg), msg.arrays.get("backdrop"),
                       msg.body.get("segmentation"))


def build_data(req: FitRequest | InitRequest) -> MultiViewData:
    """Silhouettes (segmenting RGB images when needed) and cameras as MultiViewData (worker side).

    Segmented views carry what the segmentation found (method, why, per-view agreement, warnings) in
    `info["segmentation"]`, and their weights for the loss: the fit's metrics, and so the result message
    the add-on shows, report them."""
    images, info, weights = None, {"source": "wire"}, None
    if req.segmentation:  # the sent silhouettes are an earlier segmentation's: IoUs against them say so
        info["segmentation"] = dict(req.segmentation)
    if req.is_images:
        images = np.ascontiguousarray(req.views[..., :3])
        if req.views.shape[-1] == 4:
            sil = req.views[..., 3].astype(np.float32) / 255.0
        else:
            from softfit.data.silhouette import parse_silhouette, segment

            choice = parse_silhouette(_segmentation_name(req.silhouette_method))
            if req.backdrop is not None:
                choice = replace(choice, options={**choice.options, "backdrop": req.backdrop})
            seg = segment(images, choice, req.names, req.cameras)
            sil, weights = seg.masks.astype(np.float32), seg.weights
            info["segmentation"] = seg.info()
    elif req.views.dtype == np.uint8:
        sil = req.views.astype(np.float32) / 255.0
    else:
        sil = np.array(req.views, dtype=np.float32)
    return MultiViewData(sil, req.cameras, req.names, images, info, weights)


def _segmentation_name(method: str | None) -> str:
    """RGB photos have no alpha and no mask files: 'auto' (or nothing) means 'let segmentation choose'."""
    return "segment" if method in (None, "", "auto") else method


def build_prepared(req: InitRequest) -> Prepared:
    """The worker-side half of a `prepare`: SfM cameras (`softfit.sfm.estimate_from_spec`) when asked,
    then the initial mesh from the training views of the fit the request's params describe
    (`softfit.pipeline.initial_mesh`, as for every front end)."""
    from softfit.cameras import transforms_dict
    from softfit.pipeline import InitSpec, initial_mesh

    notes, transforms, fallback = [], None, False
    if req.sfm is not None:
        from softfit.sfm.spec import estimate_from_spec

        rgb = np.ascontiguousarray(req.views[..., :3])
        masks = req.views[..., 3] > 127 if req.views.shape[-1] == 4 else None
        result = estimate_from_spec(rgb, masks, req.sfm)
        if result.cameras is None:
            raise InputError(result.message)
        req.cameras, fallback = result.cameras, bool(result.fallback)
        transforms = transforms_dict(result.cameras, [f"{n}.png" for n in req.names])
        notes.append(result.message)
    verts = faces = None
    if req.init is not None:
        _, mesh = initial_mesh(InitSpec(req.init, req.polys), build_data(req), req.params)
        verts, faces = np.ascontiguousarray(mesh.verts, "<f4"), np.ascontiguousarray(mesh.faces, "<i4")
        notes.append(f"{req.init} initial mesh from the training views: {len(verts)} vertices, "
                     f"{len(faces)} faces")
    return Prepared(verts, faces, transforms, "; ".join(notes), fallback)


def build(req: FitRequest) -> tuple[MultiViewData, Mesh, np.ndarray | None]:
    """The worker-side half of a `submit`: the data, the mesh and the pinned vertices."""
    data = build_data(req)
    pinned = None if req.pinned is None else np.unique(req.pinned.astype(np.int64))
    return data, Mesh(req.verts, req.faces), pinned

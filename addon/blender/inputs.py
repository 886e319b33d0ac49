"""Loading the panel's input once per settings: views, silhouettes/images and cameras at the working size.

`load` runs on the main thread (scripts, and operators once the input is cached). `load_async` keeps the
main thread free for Set up Scene: the loading runs in a worker thread and only the image reads, which
need Blender's image loader, are handed to the main thread, a few per timer tick (tasks.MainThreadCalls).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.cameras import Cameras
from ..core.data.gather import Readers
from ..core.data.types import RawViews
from ..logic import session
from ..logic.errors import InputError
from ..logic.fitdata import FitInputs, assemble
from ..logic.views import InputOptions, discover
from . import images, tasks

if TYPE_CHECKING:
    from .properties import SOFTFIT_PG_settings

SfmCameras = Callable[[np.ndarray], Cameras]  # (N, H, W, 4) uint8 views -> one camera per view (W x H)
Loaded = tuple[RawViews, FitInputs]


@dataclasses.dataclass(frozen=True)
class Request:
    """The settings a load depends on, read on the main thread (a worker thread must not touch bpy)."""

    key: str
    options: InputOptions
    image_size: int
    silhouette: str
    camera_source: str
    backdrop: str = ""  # the empty scene's photo (BACKDROP)
    silhouette_options: str = ""  # the backend method's options

    @classmethod
    def of(cls, settings: SOFTFIT_PG_settings) -> Request:
        return cls(settings.input_key(), settings.input_options(), int(settings.image_size),
                   str(settings.silhouette), str(settings.camera_source), settings.backdrop_file(),
                   settings.silhouette_options())


def load(settings: SOFTFIT_PG_settings, reload: bool = False, sfm: SfmCameras | None = None) -> Loaded:
    """The views of the scene's SoftFit settings (cached by settings; `reload` re-reads the files).
    With the SfM camera source, `sfm` asks the backend for the cameras (Set up Scene passes it; the other
    operators use the cached result). InputError names the problem; nothing in the scene changes here."""
    req = Request.of(settings)
    cache = session.get().views
    if not reload and req.key in cache:
        return cache[req.key]
    return remember(req, read(req, images.READERS, images.image_size, sfm))


def read(req: Request, readers: Readers, image_size: Callable[[Any], tuple[int, int]],
         sfm: SfmCameras | None = None) -> Loaded:
    """Discover, read and assemble the views of `req` with the given image readers (no bpy here)."""
    views = discover(req.options, image_size)
    inputs = assemble(views, readers, req.image_size, req.silhouette, req.backdrop, req.silhouette_options)
    if req.camera_source == "SFM":
        if sfm is None:
            raise InputError("SfM cameras come from the backend: press Set up Scene first")
        cams = sfm(inputs.rgba())
        want = inputs.cameras
        if len(cams) != len(views) or (cams.width, cams.height) != (want.width, want.height):
            raise InputError(f"the backend's SfM gave {len(cams)} cameras of {cams.width}x{cams.height} for "
                             f"{len(views)} views of {want.width}x{want.height}")
        views = dataclasses.replace(views, cameras=cams.resized(views.cameras.width, views.cameras.height))
        inputs = dataclasses.replace(inputs, cameras=cams)
    return views, inputs


def remember(req: Request, loaded: Loaded) -> Loaded:
    """Cache a load (main thread): one input at a time, views can be large."""
    cache = session.get().views
    cache.clear()
    session.get().photos.clear()  # read again with the views (fitting.py)
    cache[req.key] = loaded
    return loaded


def load_async(settings: SOFTFIT_PG_settings, name: str, label: str, on_done: Callable[[Loaded], Any],
               on_error: Callable[[BaseException], None], sfm: SfmCameras | None = None) -> tasks.Task:
    """`load(reload=True)` without holding the main thread: a worker thread discovers and assembles, the
    main thread reads the images, a few per tick. `on_done((views, inputs))` runs on the main thread (it
    may be stepwise, see tasks.py); the result is cached first."""
    req = Request.of(settings)
    calls = tasks.MainThreadCalls()
    readers = Readers(calls.wrap(images.READERS.image), calls.wrap(images.READERS.mask))
    sizer = calls.wrap(images.image_size)

    def done(loaded: Loaded) -> Any:
        return on_done(remember(req, loaded))

    return tasks.run(name, label, lambda: read(req, readers, sizer, sfm), done, on_error, calls=calls)

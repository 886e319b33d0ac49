"""Loading the panel's input once per settings: views, silhouettes/images and cameras at the working size."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from . import images, session
from .core.cameras import Cameras
from .core.data.types import RawViews
from .errors import InputError
from .fitdata import FitInputs, assemble
from .views import discover

if TYPE_CHECKING:
    from .properties import SOFTFIT_PG_settings

SfmCameras = Callable[[np.ndarray], Cameras]  # (N, H, W, 4) uint8 views -> one camera per view (W x H)


def load(settings: SOFTFIT_PG_settings, reload: bool = False, sfm: SfmCameras | None = None
         ) -> tuple[RawViews, FitInputs]:
    """The views of the scene's SoftFit settings (cached by settings; `reload` re-reads the files).
    With the SfM camera source, `sfm` asks the backend for the cameras (Set up Scene passes it; the other
    operators use the cached result). InputError names the problem; nothing in the scene changes here."""
    key = settings.input_key()
    cache = session.get().views
    if not reload and key in cache:
        return cache[key]
    views = discover(settings.input_options(), images.image_size)
    inputs = assemble(views, images.READERS, settings.image_size, settings.silhouette)
    if settings.camera_source == "SFM":
        if sfm is None:
            raise InputError("SfM cameras come from the backend: press Set up Scene first")
        cams = sfm(inputs.rgba())
        want = inputs.cameras
        if len(cams) != len(views) or (cams.width, cams.height) != (want.width, want.height):
            raise InputError(f"the backend's SfM gave {len(cams)} cameras of {cams.width}x{cams.height} for "
                             f"{len(views)} views of {want.width}x{want.height}")
        views = dataclasses.replace(views, cameras=cams.resized(views.cameras.width, views.cameras.height))
        inputs = dataclasses.replace(inputs, cameras=cams)
    cache.clear()  # one input at a time: views can be large
    cache[key] = (views, inputs)
    return views, inputs

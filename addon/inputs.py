"""Loading the panel's input once per settings: views, silhouettes/images and cameras at the working size."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import images, session
from .fitdata import FitInputs, assemble
from .views import ViewSet, discover

if TYPE_CHECKING:
    from .properties import SOFTFIT_PG_settings


def load(settings: SOFTFIT_PG_settings, reload: bool = False) -> tuple[ViewSet, FitInputs]:
    """The views of the scene's SoftFit settings (cached by settings; `reload` re-reads the files).
    InputError names the problem; nothing in the scene changes here."""
    key = settings.input_key()
    cache = session.get().views
    if not reload and key in cache:
        return cache[key]
    views = discover(settings.input_options(), images.image_size)
    inputs = assemble(views, images.read_image, settings.image_size, settings.silhouette)
    cache.clear()  # one input at a time: views can be large
    cache[key] = (views, inputs)
    return views, inputs

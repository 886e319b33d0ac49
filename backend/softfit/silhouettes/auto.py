"""`auto`: pick the segmentation method that suits the photos, and say why.

The rule, in order:
1. an empty-scene photo was given (`backdrop=`)           -> backdrop (the strongest evidence there is);
2. the views' cameras are known (3 or more views)         -> multiview (every camera looks at the object:
   the hull of all views checks each one, which no single-image rule can);
3. the image border is one uniform colour in every view   -> threshold (plain backdrop, e.g. ALOI's black);
4. DeepLab weights are configured (`weights=` or env var) -> deeplab;
5. otherwise                                              -> grabcut (border prior on a cluttered scene).
"Uniform" means the border pixels' median distance from the border's median colour, taken over the views
(its 75th percentile), is below UNIFORM_BORDER (RGB units): sensor noise on a plain cloth stays well
below it, a textured backdrop or a floor with a horizon is far above it."""

from __future__ import annotations

import numpy as np

from softfit.silhouettes import deeplab
from softfit.silhouettes.common import check_images
from softfit.silhouettes.threshold import background_color

UNIFORM_BORDER = 10.0


def border_spread(images: np.ndarray, border: float = 0.03, max_views: int = 12) -> float:
    """How far the border is from one flat colour (RGB units), over up to `max_views` spread views."""
    imgs = check_images(images)
    idx = np.unique(np.linspace(0, len(imgs) - 1, min(max_views, len(imgs))).round().astype(int))
    spreads = [float(np.median(background_color(imgs[i], border)[1])) for i in idx]
    return float(np.percentile(spreads, 75))


def choose_method(images: np.ndarray, backdrop=None, weights=None, border: float = 0.03,
                  uniform: float = UNIFORM_BORDER, cameras=None) -> tuple[str, str]:
    """(method, reason) for these photos following the rule in the module docstring."""
    if backdrop is not None:
        return "backdrop", "an empty-scene backdrop photo was given"
    if cameras is not None and len(cameras) >= 3:
        return "multiview", (f"the {len(cameras)} views' cameras are known: camera-aware segmentation "
                             "checks every view against the others")
    spread = border_spread(images, border)
    if spread < uniform:
        return "threshold", f"the image border is a uniform colour (spread {spread:.1f} < {uniform:g})"
    if deeplab.configured_weights(weights) is not None:
        return "deeplab", f"the border is not uniform (spread {spread:.1f}); DeepLab weights are configured"
    return "grabcut", f"the border is not uniform (spread {spread:.1f}); no DeepLab weights are configured"

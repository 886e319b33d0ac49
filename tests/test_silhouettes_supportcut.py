"""`supportcut.cut`: the support's colour is cut off the masks, unless what stands above the support's
image has that colour too; a view decides that only with enough pixels above."""

from __future__ import annotations

import numpy as np

from softfit.silhouettes import supportcut
from softfit.silhouettes.cutlabels import grabcut

WOOD, DARK = (150, 105, 65), (35, 35, 45)
H, W = 90, 120


def _views(n: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(images, masks, the support's image, the object) of `n` views: a dark disc lying inside a wooden
    top's image, the masks holding both; in view 0 the mask also holds a 5x6 px sliver of the top's rim
    outside its image (as a rim pixel or two did on drawn-9-9)."""
    rng = np.random.default_rng(0)
    images = np.full((n, H, W, 3), 200, np.float64)
    region = np.zeros((n, H, W), bool)
    region[:, 20:75, 15:105] = True
    yy, xx = np.mgrid[:H, :W]
    disc = np.broadcast_to(((yy - 47) ** 2 + (xx - 60) ** 2) < 15 ** 2, (n, H, W)).copy()
    images[region] = WOOD
    images[disc] = DARK
    masks = region.copy()
    images[0, 14:20, 50:55] = WOOD  # the rim: the top's colour, above its image
    masks[0, 14:20, 50:55] = True
    images += rng.normal(0, 4, images.shape)
    return np.clip(images, 0, 255).astype(np.uint8), masks, region, disc


def _cut(images, masks, region) -> supportcut.Cut:
    pooled = supportcut.robust_gaussian(images[region].astype(np.float64))
    assert pooled is not None
    return supportcut.cut([[pooled]] * len(images), region, masks, images,
                          lambda im, lab: grabcut(im, lab, 4)[0])


def test_a_few_pixels_of_the_support_s_colour_above_it_do_not_make_the_cut_ambiguous(monkeypatch):
    images, masks, region, disc = _views()
    done = _cut(images, masks, region)
    assert not done.ambiguous and done.views == len(images), done
    inter = (done.masks & disc).sum((1, 2))
    union = (done.masks | disc).sum((1, 2))
    assert (inter / union).min() > 0.9, inter / union  # the disc is what is left in every view
    monkeypatch.setattr(supportcut, "MIN_ABOVE", 1)  # the sliver alone decides: the object is 'wood'
    done = _cut(images, masks, region)
    assert done.ambiguous and done.views == 0 and (done.masks == masks).all()

"""Whether the object stays inside the frame: silhouettes that reach the image's edge in most views.

numpy only, so a fit of given silhouettes asks it without loading the segmentation (OpenCV and the
`silhouettes` package: 0.13 s of imports a fit of alpha renders does not otherwise need)."""

from __future__ import annotations

import numpy as np

BORDER_MAJORITY = 0.5  # masks touching the image border in more than this fraction of views


def leaves_frame(silhouettes: np.ndarray) -> str | None:
    """A warning when silhouettes reach the image's edge in most views: the object leaves the frame there
    and no view shows what lies beyond, so a fit there is a guess whatever its IoU says (a ring of views
    all cutting off a cone's base fitted it at 0.993 against those silhouettes), and no box bounds it.
    Segmented masks get the same warning from `confidence.warnings_for`, on the frame they keep clear."""
    m = np.asarray(silhouettes) >= 0.5
    if m.ndim != 3 or not len(m):
        return None
    sides = np.stack([m[:, 0].any(1), m[:, -1].any(1), m[:, :, 0].any(1), m[:, :, -1].any(1)], 1)
    edge, ring = sides.any(1), sides.all(1)
    if edge.sum() <= BORDER_MAJORITY * len(m):
        return None
    # an inverted mask (object black on white, the background marked) touches all four sides: say so,
    # since the fit otherwise reports a confident mesh of the background
    inverted = (f"; in {int(ring.sum())} views they touch all four sides, as masks do that mark the "
                "background instead of the object: if the object is black in them, invert them"
                if ring.sum() > BORDER_MAJORITY * len(m) else "")
    return (f"the silhouettes reach the image border in {int(edge.sum())} of {len(m)} views: the object "
            "leaves the frame there, and no view shows what lies beyond it (the mesh there is a guess, "
            f"whatever its IoU says); frame the object whole, with a margin{inverted}")

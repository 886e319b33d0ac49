"""`polys="auto"`: how many triangles the initial mesh needs to hold what the silhouettes show.

The rule. A closed mesh whose outline crosses m triangle edges has about m² triangles (a UV sphere with m
segments around has ≈ m²). The outline needs enough segments for two things:
- resolution: one edge every EDGE_PX pixels of contour, so m_len = P / EDGE_PX, with P the silhouette's
  contour length in pixels (holes included): bigger objects in bigger images get more triangles;
- detail: every corner of the contour needs vertices around it. n_dp = the number of vertices of the
  contour simplified to DP_EPS_PX pixels (Douglas-Peucker) counts the corners; m_detail = DETAIL_K·n_dp.
m = max(m_len, m_detail) per view; the count is m² at the 75th percentile over views (a detail seen only
from some sides still counts), clamped to [MIN_AUTO, MAX_AUTO]. A simple convex object filling ~60 % of a
256² image (P ≈ 480 px) gets ≈ 1 900 triangles, the original method's choice at that size; measured
figures for simple and detailed renders are in tests/test_init_polys.py.
"""

from __future__ import annotations

import cv2
import numpy as np

from softfit.errors import InputError

EDGE_PX = 6.0  # contour pixels per mesh edge along the outline
DP_EPS_PX = 1.5  # Douglas-Peucker tolerance that decides what counts as a corner
DETAIL_K = 1.5  # outline segments per contour corner (a corner needs vertices on both sides)
MIN_AUTO = 500
MAX_AUTO = 20_000
MAX_VIEWS = 24  # views sampled for the statistics (contours are cheap, but 72 large views are not free)


def contour_stats(mask: np.ndarray) -> tuple[float, int]:
    """(contour length in px, Douglas-Peucker vertex count) of a binary mask, holes included."""
    u8 = np.ascontiguousarray(mask, dtype=np.uint8)
    contours, _ = cv2.findContours(u8, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_NONE)
    length, corners = 0.0, 0
    for c in contours:
        if len(c) < 3:
            continue
        length += cv2.arcLength(c, closed=True)
        corners += len(cv2.approxPolyDP(c, DP_EPS_PX, closed=True))
    return length, corners


def outline_segments(mask: np.ndarray) -> float:
    """m = max(P / EDGE_PX, DETAIL_K · n_dp) for one view."""
    length, corners = contour_stats(mask)
    return max(length / EDGE_PX, DETAIL_K * corners)


def auto_polys(silhouettes: np.ndarray) -> int:
    """Triangle count for the initial mesh from (N, H, W) silhouettes (see the module docstring)."""
    s = np.asarray(silhouettes)
    if s.ndim != 3 or len(s) == 0:
        raise InputError(f"silhouettes must be (N, H, W), got {s.shape}")
    idx = np.unique(np.linspace(0, len(s) - 1, min(MAX_VIEWS, len(s))).round().astype(int))
    m = [outline_segments(s[i] > 0.5) for i in idx]
    m75 = float(np.percentile(m, 75))
    return int(np.clip(round(m75 * m75), MIN_AUTO, MAX_AUTO))


def resolve_polys(polys: int | str, silhouettes: np.ndarray) -> int:
    """An explicit count (validated) or the auto rule."""
    if isinstance(polys, str):
        if polys == "auto":
            return auto_polys(silhouettes)
        try:
            polys = int(polys)
        except ValueError as exc:
            raise InputError(f"polys must be 'auto' or a number, got {polys!r}") from exc
    if isinstance(polys, bool) or not isinstance(polys, int | np.integer):
        raise InputError(f"polys must be 'auto' or an integer, got {polys!r}")
    if not 8 <= polys <= 2_000_000:
        raise InputError(f"polys must be between 8 and 2000000, got {polys}")
    return int(polys)

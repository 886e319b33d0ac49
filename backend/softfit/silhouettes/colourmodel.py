"""Per-pixel likelihoods under the colour models OpenCV's GrabCut learns, so that the next round of the
camera-aware segmentation can ask which pixels inside the hull prior look like background.

`cv2.grabCut` keeps each model as one row of 65 float64: 5 mixture weights, 5 RGB means (in the BGR
order of the image it was given), then 5 row-major 3x3 covariances."""

from __future__ import annotations

import numpy as np

COMPONENTS = 5


def log_likelihood(bgr: np.ndarray, model: np.ndarray) -> np.ndarray:
    """(H, W) log density of every pixel of the (H, W, 3) BGR `bgr` image under a GrabCut `model`
    ((1, 65) float64); -inf everywhere for an unlearnt (all-zero) model."""
    m = np.asarray(model, np.float64).reshape(-1)
    w = m[:COMPONENTS]
    means = m[COMPONENTS:4 * COMPONENTS].reshape(COMPONENTS, 3)
    covs = m[4 * COMPONENTS:].reshape(COMPONENTS, 3, 3)
    x = bgr.reshape(-1, 3).astype(np.float64)
    dens = np.zeros(len(x))
    for k in range(COMPONENTS):
        if w[k] <= 0:
            continue
        c = covs[k] + 1e-2 * np.eye(3)  # GrabCut adds the same guard against singular covariances
        det = np.linalg.det(c)
        if det <= 0:
            continue
        d = x - means[k]
        q = np.einsum("ij,jk,ik->i", d, np.linalg.inv(c), d)
        dens += w[k] * np.exp(-0.5 * q) / np.sqrt((2 * np.pi) ** 3 * det)
    with np.errstate(divide="ignore"):
        return np.log(dens).reshape(bgr.shape[:2])


def looks_like_background(bgr: np.ndarray, bgd: np.ndarray, fgd: np.ndarray, margin: float = 1.0
                          ) -> np.ndarray:
    """(H, W) bool: pixels the background model explains better than the object model by `margin`
    (natural log units); all False when either model is unlearnt."""
    lb, lf = log_likelihood(bgr, bgd), log_likelihood(bgr, fgd)
    if not (np.isfinite(lb).any() and np.isfinite(lf).any()):
        return np.zeros(bgr.shape[:2], bool)
    return lb > lf + margin

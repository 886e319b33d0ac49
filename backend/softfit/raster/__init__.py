"""Soft silhouette rasteriser: compiled binned kernels (CPU threads or CUDA) with an exact backward,
and the dense pure-torch reference they are tested against. Units and maths: csrc/raster.h."""

from softfit.raster.function import rasterize_silhouette
from softfit.raster.reference import dense_silhouette

__all__ = ["dense_silhouette", "rasterize_silhouette"]

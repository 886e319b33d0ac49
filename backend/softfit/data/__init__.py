"""Multi-view input: images, silhouettes and cameras from every supported layout."""

from softfit.data.types import MultiViewData

__all__ = ["MultiViewData"]

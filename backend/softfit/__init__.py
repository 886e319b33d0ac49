"""SoftFit: multi-view silhouette fitting with a soft rasteriser."""

__version__ = "0.1.0"

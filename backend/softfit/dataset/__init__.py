"""Ground-truth datasets rendered with Blender through `bpy` (`softfit dataset render`).

`render_dataset(source, out, **options)` renders a built-in or file mesh at turntable, ring, random or
given cameras into the transforms.json, ALOI or SoftRas layout, with exact masks and the world-frame
ground-truth mesh. Only the worker process imports `bpy`; importing this package does not."""

from softfit.dataset.render import render_dataset

__all__ = ["render_dataset"]

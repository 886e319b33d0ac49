"""A stand-in for `bpy.types.UILayout` that records what a panel's `draw()` asks for.

The bpy module draws no UI (no window, no GPU context), so to see what a panel shows outside Blender's
UI, its real `draw(self, context)` is called with `self.layout` set to a `RecordingLayout`: every call
(`row`, `column`, `box`, `label`, `prop`, `operator`, `progress`, ...) becomes a node with its arguments,
attributes set on it (`row.scale_y = 1.4`, `op.method = "HULL"`) are kept, and the tree can be printed or
drawn (scripts/panel_figure.py). It is a recording, not Blender's drawing: sizes and styling are ours.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

CONTAINERS = ("row", "column", "box", "split", "column_flow", "grid_flow")


class RecordingLayout:
    """One layout call and what was drawn into it."""

    def __init__(self, kind: str = "layout", args: tuple = (), kw: dict | None = None):
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "args", args)
        object.__setattr__(self, "kw", dict(kw or {}))
        object.__setattr__(self, "attrs", {})
        object.__setattr__(self, "children", [])

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)

        def call(*args: Any, **kw: Any) -> RecordingLayout:
            child = RecordingLayout(name, args, kw)
            self.children.append(child)
            return child

        return call

    def __setattr__(self, name: str, value: Any) -> None:
        self.attrs[name] = value

    def walk(self, depth: int = 0) -> Iterator[tuple[int, RecordingLayout]]:
        yield depth, self
        for child in self.children:
            yield from child.walk(depth + 1)

    def find(self, kind: str) -> list[RecordingLayout]:
        return [node for _d, node in self.walk() if node.kind == kind]


class Drawer:
    """What Blender passes to `draw(self, context)`: an object with `.layout`."""

    def __init__(self) -> None:
        self.layout = RecordingLayout()


def record(draw: Any, context: Any) -> RecordingLayout:
    """Call `draw(self, context)` (a Panel's or Header's draw function) with a recording layout."""
    drawer = Drawer()
    draw(drawer, context)
    return drawer.layout

"""The README's panel figure: docs/panel.png (and docs/panel_layout.txt).

    .venv/bin/python scripts/panel_figure.py [--out docs] [--iterations 150]

What it is, honestly: the bpy module draws no UI (no window, no GPU context), so this is NOT a screenshot
of Blender. The add-on is staged and registered in the bpy module, runs a real fit on the demo dataset
(Suzanne, rendered by Blender; the visual hull start, a real local backend), and its panels' real
`draw()` functions are called with a recording layout (scripts/layout_recorder.py) during the fit and
after it. The left half is a drawing of those recorded calls (our drawing: Blender's widgets look
different); the right half is the fitted mesh rendered by Blender itself (Workbench), seen from one of
the input cameras.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import bpy  # noqa: E402
import build_extension  # noqa: E402
import numpy as np  # noqa: E402
from layout_recorder import RecordingLayout, record  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

PACKAGE = "softfit_figure"
WIDTH, PAD, LINE = 420, 10, 26
BG, PANEL, BOX, BUTTON, TEXT, DIM, ACCENT = ((48, 48, 48), (61, 61, 61), (54, 54, 54), (88, 88, 88),
                                            (230, 230, 230), (160, 160, 160), (71, 114, 179))


def stage_and_register(tmp: Path) -> Any:
    """The add-on as it ships (staged with its wire/core copies), registered in this bpy."""
    folder = build_extension.stage(tmp / PACKAGE, wheels=False)
    sys.path.insert(0, str(folder.parent))
    import importlib

    pkg = importlib.import_module(PACKAGE)
    pkg.register()
    return pkg


def text_of(node: RecordingLayout) -> str:
    """The text Blender would show for a recorded call."""
    if "text" in node.kw:
        return str(node.kw["text"])
    if node.kind in ("prop", "prop_search"):
        data, name = node.args[0], node.args[1]
        label = data.bl_rna.properties[name].name
        value = getattr(data, name)
        if isinstance(value, float):
            value = f"{value:g}"
        elif hasattr(value, "__len__") and not isinstance(value, str):
            value = ", ".join(f"{v:g}" for v in value)
        return f"{label}: {value}"
    if node.kind == "operator":
        group, op = node.args[0].split(".")
        return getattr(getattr(bpy.ops, group), op).get_rna_type().name
    return ""


class Painter:
    """Draws a recording top to bottom: containers stack (rows lay their children side by side)."""

    def __init__(self, height: int = 2000):
        self.img = Image.new("RGB", (WIDTH, height), BG)
        self.draw = ImageDraw.Draw(self.img)
        self.font = ImageFont.load_default(size=14)
        self.y = PAD

    def header(self, title: str, open_: bool = True) -> None:
        self.draw.rectangle([PAD, self.y, WIDTH - PAD, self.y + LINE - 2], fill=PANEL)
        self.draw.text((PAD + 8, self.y + 5), ("v  " if open_ else ">  ") + title, fill=TEXT, font=self.font)
        self.y += LINE + 2

    def node(self, node: RecordingLayout, x0: int, x1: int) -> None:
        if node.kind in ("layout", "column", "box"):
            top = self.y
            if node.kind == "box":
                self.y += 4
            for child in node.children:
                self.node(child, x0 + (6 if node.kind == "box" else 0), x1 - (6 if node.kind == "box" else 0))
            if node.kind == "box":
                self.y += 4
                self.draw.rectangle([x0, top, x1, self.y], outline=BUTTON)
                self.y += 4
        elif node.kind == "row":
            self.row(node, x0, x1)
        elif node.kind == "separator":
            self.y += 8
        else:
            self.widget(node, x0, x1)
            self.y += LINE

    def row(self, node: RecordingLayout, x0: int, x1: int) -> None:
        items: list[tuple[RecordingLayout, str | None]] = []
        for child in node.children:
            if child.kind == "prop" and child.kw.get("expand"):
                prop = child.args[0].bl_rna.properties[child.args[1]]
                current = getattr(child.args[0], child.args[1])
                items += [(child, item.name if item.identifier != current else f"[{item.name}]")
                          for item in prop.enum_items]
            else:
                items.append((child, None))
        if not items:
            return
        h = int(LINE * float(node.attrs.get("scale_y", 1.0)))
        w = (x1 - x0) / len(items)
        for i, (child, label) in enumerate(items):
            a, b = int(x0 + i * w), int(x0 + (i + 1) * w) - 2
            self.widget(child, a, b, label, h)
        self.y += h + 2

    def widget(self, node: RecordingLayout, x0: int, x1: int, label: str | None = None,
               h: int = LINE) -> None:
        y, text = self.y, label if label is not None else text_of(node)
        if node.kind in ("operator", "prop") and label is not None or node.kind == "operator":
            selected = text.startswith("[")
            self.draw.rounded_rectangle([x0, y, x1, y + h - 4], 4, fill=ACCENT if selected else BUTTON)
            text = text.strip("[]")
            tw = self.draw.textlength(text, font=self.font)
            self.draw.text((x0 + (x1 - x0 - tw) / 2, y + (h - 18) / 2), text, fill=TEXT, font=self.font)
        elif node.kind == "progress":
            factor = float(node.kw.get("factor", 0.0))
            self.draw.rounded_rectangle([x0, y, x1, y + h - 4], 4, fill=BOX)
            filled = x0 + max(8, int((x1 - x0) * factor))
            self.draw.rounded_rectangle([x0, y, filled, y + h - 4], 4, fill=ACCENT)
            self.draw.text((x0 + 8, y + 4), text, fill=TEXT, font=self.font)
        elif node.kind in ("prop", "prop_search"):
            self.draw.rounded_rectangle([x0, y, x1, y + h - 4], 4, fill=BOX)
            self.draw.text((x0 + 8, y + 4), text[:56], fill=TEXT, font=self.font)
        else:
            self.draw.text((x0 + 2, y + 4), text[:58], fill=DIM if node.kw.get("icon") == "INFO" else TEXT,
                           font=self.font)

    def panel(self, title: str, layout: RecordingLayout | None) -> None:
        self.header(title, layout is not None)
        if layout is not None:
            self.node(layout, PAD + 6, WIDTH - PAD - 6)
            self.y += 6

    def done(self) -> Image.Image:
        return self.img.crop((0, 0, WIDTH, self.y + PAD))


def dump(layout: RecordingLayout) -> str:
    lines = []
    for depth, node in layout.walk():
        if node.kind in ("layout",):
            continue
        extra = f" {node.attrs}" if node.attrs else ""
        lines.append("  " * depth + f"{node.kind}: {text_of(node)}{extra}".rstrip())
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs"))
    parser.add_argument("--iterations", type=int, default=150)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "backend"))
    from softfit.dataset.cache import DEFAULT_DATASET, cache_root, cached_dataset

    data = cached_dataset(DEFAULT_DATASET, cache_root())
    tmp = Path(tempfile.mkdtemp(prefix="softfit-figure-"))
    try:
        pkg = stage_and_register(tmp)
        mods = {m: sys.modules[f"{PACKAGE}.{'logic' if m == 'session' else 'blender'}.{m}"]
                for m in ("session", "tasks", "fitting", "ops_mesh", "streaming", "panel", "ops_scene")}
        for obj in list(bpy.data.objects):
            bpy.data.objects.remove(obj)
        bpy.context.view_layer.update()
        config = mods["session"].BackendConfig(mode="LOCAL", python=sys.executable)
        s = bpy.context.scene.softfit
        s.input_path = str(data / "transforms.json")
        s.preset = "QUICK"
        s.iterations = args.iterations
        mods["ops_scene"].setup_async(bpy.context)
        mods["tasks"].wait()
        mods["tasks"].wait(mods["ops_mesh"].request_initial(bpy.context, "HULL", config))
        job = mods["fitting"].start_blocking(bpy.context, config=config)
        while not job.step(0.2) and job.iteration < args.iterations // 2:
            pass
        context = bpy.context
        running = record(mods["panel"].SOFTFIT_PT_main.draw, context)
        bar = record(mods["panel"].draw_status, context)
        mods["streaming"].run_blocking(job)
        bpy.context.view_layer.objects.active = bpy.data.objects[job.object_name]
        after = record(mods["panel"].SOFTFIT_PT_main.draw, context)
        result = record(mods["panel"].SOFTFIT_PT_result.draw, context)
        mods["session"].disconnect()

        painter = Painter()
        painter.panel("SoftFit (during the fit)", running)
        painter.panel("Status bar (during the fit)", bar)
        painter.panel("SoftFit (after the fit)", after)
        painter.panel("Input", None)
        painter.panel("Advanced", None)
        painter.panel("Result", result)
        left = painter.done()

        scene = bpy.context.scene
        scene.render.engine = "BLENDER_WORKBENCH"
        scene.display.shading.light = "STUDIO"
        scene.display.shading.color_type = "SINGLE"
        scene.render.film_transparent = False
        scene.render.resolution_x = scene.render.resolution_y = left.height
        scene.render.resolution_percentage = 100
        cams = sorted(bpy.data.collections["SoftFit Cameras"].objects, key=lambda o: o["softfit_view"])
        scene.camera = cams[len(cams) // 2]
        scene.camera.data.show_background_images = False
        for obj in bpy.data.objects:
            if obj.type == "MESH":
                obj.hide_render = obj.name != job.object_name
        scene.render.filepath = str(tmp / "render.png")
        bpy.ops.render.render(write_still=True)
        right = Image.open(tmp / "render.png").convert("RGB").resize((left.height, left.height))

        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        fig = Image.new("RGB", (left.width + right.width, left.height + 2 * LINE), BG)
        fig.paste(left, (0, 0))
        fig.paste(right, (left.width, 0))
        caption = ("Left: the panel's real draw() calls, recorded during a real fit and drawn by "
                   "scripts/panel_figure.py (not a Blender screenshot: bpy draws no UI).",
                   f"Right: the fitted mesh rendered by Blender (Workbench) from an input camera. Fit: "
                   f"{job.message} (held-out IoU against the held-out views' true masks).")
        draw = ImageDraw.Draw(fig)
        for i, line in enumerate(caption):
            draw.text((PAD, left.height + 4 + i * (LINE - 6)), line, fill=DIM, font=painter.font)
        fig.convert("P", palette=Image.Palette.ADAPTIVE, colors=192).save(out / "panel.png", optimize=True)
        held = job.metrics.get("heldout_iou")
        (out / "panel_layout.txt").write_text(
            "# The SoftFit panel's draw() calls, recorded (scripts/panel_figure.py); not a screenshot\n"
            f"# fit: {job.message}; held-out IoU {held} against the held-out views' masks\n\n"
            "## SoftFit, during the fit\n" + dump(running) + "\n\n## Status bar, during the fit\n" + dump(bar)
            + "\n\n## SoftFit, after the fit\n" + dump(after) + "\n\n## Result\n" + dump(result) + "\n")
        print(f"panel_figure: wrote {out / 'panel.png'} ({fig.width}x{fig.height}); fit: {job.message}")
        pkg.unregister()
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        time.sleep(0.1)


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())

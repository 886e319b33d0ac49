"""The layers of docs/architecture.md, read from the source: every import in backend/softfit (module level
or inside a function) points to the same layer or one below, and no modules import each other in a
circle. Layers, bottom up:

  core      errors, atomic, cameras, projection, raster, mesh, wire, sysinfo (numpy/torch building blocks)
  stages    data, silhouettes, sfm, init, fit, metrics, texture, report (one step of the way each)
  pipeline  pipeline (the one run from views to a reported mesh)
  services  server, and the tools: bench, experiments, batch, dataset (they call the pipeline)
  cli       cli, __main__, commands (argument parsing and printing only)

So stages never import the pipeline or a front end, tools never import the CLI, and nothing imports
upwards.

The Blender add-on has two parts (addon/logic: Blender-free; addon/blender: operators, panels, properties,
timers): the Blender-free part never imports bpy or any Blender module, nor the Blender-facing part,
anywhere in its files, so it stays importable and testable without Blender."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "backend" / "softfit"
ADDON_LOGIC = Path(__file__).resolve().parent.parent / "addon" / "logic"
BLENDER_MODULES = {"bpy", "bpy_extras", "mathutils", "bmesh", "addon_utils", "bl_ui", "bl_operators", "gpu",
                   "gpu_extras", "blf", "idprop", "imbuf", "aud", "freestyle"}
LAYERS = {
    "core": ("errors", "atomic", "cameras", "projection", "pixelbox", "raster", "mesh", "wire", "sysinfo",
             "_C"),
    "stages": ("data", "silhouettes", "sfm", "init", "fit", "metrics", "texture", "report"),
    "pipeline": ("pipeline",),
    "services": ("server", "bench", "experiments", "batch", "dataset"),
    "cli": ("cli", "__main__", "commands"),
}
RANK = {part: rank for rank, parts in enumerate(LAYERS.values()) for part in parts}


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        out[".".join(parts)] = path
    return out


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The softfit modules `name` imports anywhere in its file (the most specific module of each)."""
    is_pkg = path.name == "__init__.py"
    here = name.split(".") if is_pkg else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(here[: len(here) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in known:
                t = t.rpartition(".")[0]
            if t.startswith("softfit") and t != name:
                found.add(t)
    return found


def layer_of(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 1:
        return RANK["errors"]  # softfit/__init__.py: the version
    if parts[1] not in RANK:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS and docs/architecture.md")
    return RANK[parts[1]]


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def test_every_import_points_down(graph):
    names = list(LAYERS)
    upward = [f"{a} ({names[layer_of(a)]}) imports {b} ({names[layer_of(b)]})"
              for a, deps in graph.items() for b in deps if layer_of(b) > layer_of(a)]
    assert not upward, "\n".join(sorted(upward))


def test_no_import_circles(graph):
    circles = []
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                circles.append(" -> ".join(stack[stack.index(dep):] + [node, dep]) if dep in stack
                               else f"{node} -> {dep}")
            elif dep not in state:
                visit(dep, [*stack, node])
        state[node] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n, [])
    assert not circles, "\n".join(circles)


def test_the_check_sees_a_violation(tmp_path, monkeypatch):
    """The reader itself: a stage importing a front end, and two modules importing each other."""
    pkg = tmp_path / "softfit"
    (pkg / "fit").mkdir(parents=True)
    (pkg / "commands").mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "fit" / "__init__.py").write_text("from .engine import x\n")
    (pkg / "fit" / "engine.py").write_text("def f():\n    from softfit.commands.fit import y\n")
    (pkg / "commands" / "__init__.py").write_text("")
    (pkg / "commands" / "fit.py").write_text("from softfit.fit.engine import f\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", pkg)
    known = modules()
    g = {name: imports(name, path, known) for name, path in known.items()}
    assert g["softfit.fit.engine"] == {"softfit.commands.fit"}
    assert g["softfit.fit"] == {"softfit.fit.engine"}
    with pytest.raises(AssertionError, match="fit.engine .stages. imports softfit.commands.fit .cli."):
        test_every_import_points_down(g)
    with pytest.raises(AssertionError, match="softfit.commands.fit -> softfit.fit.engine"):
        test_no_import_circles(g)


def blender_imports(folder: Path) -> list[str]:
    """Imports of Blender modules, or of the add-on's Blender-facing part (`..blender`), anywhere in the
    files under `folder` (module level or inside functions)."""
    bad = []
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level >= 2 and (node.module or "").split(".")[0] == "blender":
                    names = ["(the add-on's) blender"]
                else:
                    names = [node.module or ""] if node.level == 0 else []
            else:
                continue
            bad += [f"{path.name}:{node.lineno} imports {n}" for n in names
                    if n.split(".")[0] in BLENDER_MODULES or n.startswith("(the add-on's)")]
    return bad


def test_addon_logic_never_imports_bpy():
    assert ADDON_LOGIC.is_dir() and list(ADDON_LOGIC.glob("*.py"))
    bad = blender_imports(ADDON_LOGIC)
    assert not bad, "\n".join(bad)


def test_the_addon_check_sees_bpy(tmp_path):
    (tmp_path / "a.py").write_text("import numpy\n\ndef f():\n    import bpy.props\n")
    (tmp_path / "b.py").write_text("from ..blender.panel import draw\nfrom ..wire import client\n")
    (tmp_path / "c.py").write_text("from mathutils import Matrix\nfrom . import geometry\n")
    assert blender_imports(tmp_path) == ["a.py:4 imports bpy.props", "b.py:1 imports (the add-on's) blender",
                                         "c.py:1 imports mathutils"]

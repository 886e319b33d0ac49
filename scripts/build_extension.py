"""Build the SoftFit Blender extension zip, validated by Blender's own extension tool.

    .venv/bin/python scripts/build_extension.py [--out build/dist] [--stage build/extension/softfit]

Staging folder = addon/ (the package root) + blender_manifest.toml + the backend code the add-on shares,
copied verbatim: backend/softfit/wire as the subpackage `wire`, and the numpy-only camera and sphere-rule
modules (`CORE`) as the subpackage `core`, at their paths under backend/softfit so their relative imports
hold + the pyzmq wheels named in the manifest (fetched once with `pip download` into build/wheels).
Blender's `blender_ext.py` (shipped in the bpy wheel, no Blender binary needed) validates the folder and
builds the zip; the zip is then checked to hold no backend, test or build files.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADDON = ROOT / "addon"
MANIFEST = ROOT / "blender_manifest.toml"
BACKEND = ROOT / "backend" / "softfit"
WIRE = BACKEND / "wire"
# Backend modules the add-on runs too (numpy and the standard library only), by path under backend/softfit.
CORE = ("errors.py", "atomic.py", "cameras.py",
        "mesh/sphere_rule.py", "mesh/sphere.py", "mesh/types.py", "mesh/io.py", "mesh/quadriflow.py",
        "mesh/quadtexture.py",
        "data/files.py", "data/size.py", "data/pixels.py", "data/types.py", "data/spec.py",
        "data/distortion.py", "data/resize.py", "data/gather.py", "data/layout.py",
        "data/formats/softras.py", "data/formats/folder.py", "data/formats/aloi.py",
        "data/formats/transforms.py", "data/formats/frames.py")
CORE_INIT = '"""Backend modules shipped verbatim from backend/softfit by scripts/build_extension.py."""\n'
WHEEL_CACHE = ROOT / "build" / "wheels"
BACKEND_WHEEL_DIR = "backend_wheel"  # installer.bundled_wheel looks here
DEFAULT_STAGE = ROOT / "build" / "extension" / "softfit"
DEFAULT_OUT = ROOT / "build" / "dist"
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".*")
# Paths a built zip must never contain (top-level folders of the repository that are not the add-on).
FORBIDDEN = re.compile(r"(^|/)(backend|tests?|build|scripts|csrc|\.venv|__pycache__)/|\.pyc$|\.so$")
_ABSOLUTE_SOFTFIT = re.compile(r"^\s*(from|import)\s+(softfit|addon)\b", re.MULTILINE)
_TORCH = re.compile(r"^\s*(from|import)\s+torch\b", re.MULTILINE)


class BuildError(RuntimeError):
    pass


def manifest() -> dict:
    return tomllib.loads(MANIFEST.read_text())


def blender_ext_tool() -> Path:
    """blender_ext.py from the installed bpy wheel (found without importing bpy)."""
    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.submodule_search_locations:
        raise BuildError("the bpy module is not installed: pip install bpy==5.0.1")
    root = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(root.glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))
    if not found:
        raise BuildError(f"blender_ext.py not found under {root}")
    return found[-1]


def _platform_of(wheel: str) -> tuple[str, str, str]:
    """(project, version, a pip --platform tag) from a wheel file name."""
    m = re.fullmatch(r"(?P<name>[^-]+)-(?P<ver>[^-]+)-[^-]+-[^-]+-(?P<plat>[^-]+)\.whl", wheel)
    if not m:
        raise BuildError(f"not a wheel file name: {wheel}")
    return m["name"], m["ver"], m["plat"].split(".")[-1]


def fetch_wheels(names: list[str], cache: Path = WHEEL_CACHE) -> list[Path]:
    """The manifest's wheels, downloaded into `cache` by pip the first time (PyPI only)."""
    cache.mkdir(parents=True, exist_ok=True)
    out = []
    for name in names:
        path = cache / name
        if not path.is_file():
            project, version, platform = _platform_of(name)
            cmd = [sys.executable, "-m", "pip", "download", f"{project}=={version}", "--only-binary=:all:",
                   "--platform", platform, "--python-version", "3.11", "--no-deps", "-d", str(cache), "-q"]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0 or not path.is_file():
                raise BuildError(f"could not download {name}: {proc.stderr.strip()[-500:]}")
        out.append(path)
    return out


def shipped_backend() -> dict[Path, Path]:
    """{path in the add-on: backend source} for every backend file the add-on ships verbatim."""
    files = {Path("wire") / py.relative_to(WIRE): py for py in sorted(WIRE.rglob("*.py"))
             if "__pycache__" not in py.parts}
    files.update({Path("core") / rel: BACKEND / rel for rel in CORE})
    return files


def _packages(files: dict[Path, Path]) -> set[Path]:
    """The package folders the shipped files sit in (a generated `__init__.py` makes `core/` ones)."""
    return {parent for rel in files for parent in rel.parents if parent != Path(".")}


def _unresolved_imports(rel: Path, text: str, files: dict[Path, Path]) -> list[str]:
    """Relative imports of shipped file `rel` that leave its subpackage or name a module not shipped."""
    modules = {f.with_suffix("") for f in files} | _packages(files)
    top = rel.parts[0]
    bad = []
    for node in ast.walk(ast.parse(text)):
        if not isinstance(node, ast.ImportFrom) or node.level == 0:
            continue
        base = rel.parent
        for _ in range(node.level - 1):
            base = base.parent
        if not base.parts or base.parts[0] != top:
            bad.append(f"{'.' * node.level}{node.module or ''} (outside {top}/)")
            continue
        if node.module:
            target = base.joinpath(*node.module.split("."))
            if target not in modules:
                bad.append(f"{'.' * node.level}{node.module}")
        elif base / "__init__.py" not in files:  # `from . import x` of a generated package: x is a module
            bad += [f"{'.' * node.level}{a.name}" for a in node.names if base / a.name not in modules]
    return bad


def _third_party_imports(text: str) -> list[str]:
    """Module-level absolute imports of anything but the standard library and numpy (Blender's Python has
    no PIL, OpenCV or SciPy; an import inside a function is a backend-only path and is allowed)."""
    body = ast.parse(text).body
    names = [a.name for n in body if isinstance(n, ast.Import) for a in n.names]
    names += [n.module for n in body if isinstance(n, ast.ImportFrom) and n.level == 0 and n.module]
    allowed = (*sys.stdlib_module_names, "numpy", "zmq", "__future__")  # pyzmq: a wheel in the zip
    return [m for m in names if m.split(".")[0] not in allowed]


def check_sources() -> None:
    """The add-on must not import torch or the backend package; what it ships from the backend must be
    there, import no torch and no `softfit` absolutely, and resolve its relative imports among itself."""
    problems = []
    for py in sorted(ADDON.rglob("*.py")):
        text = py.read_text()
        if _TORCH.search(text):
            problems.append(f"{py.relative_to(ROOT)} imports torch")
        if _ABSOLUTE_SOFTFIT.search(text):
            problems.append(f"{py.relative_to(ROOT)} imports softfit/addon absolutely (use relative imports)")
    files = shipped_backend()
    for rel, src in files.items():
        if not src.is_file():
            problems.append(f"{src.relative_to(ROOT)} is missing")
            continue
        text = src.read_text()
        if _ABSOLUTE_SOFTFIT.search(text) or _TORCH.search(text):
            problems.append(f"{src.relative_to(ROOT)} imports torch or softfit (it ships as {rel})")
        for imp in _third_party_imports(text):
            problems.append(f"{src.relative_to(ROOT)} imports {imp} at module level (it ships as {rel})")
        for imp in _unresolved_imports(rel, text, files):
            problems.append(f"{src.relative_to(ROOT)} imports {imp}, which the add-on does not ship")
    if not (WIRE / "__init__.py").is_file():
        problems.append(f"{WIRE.relative_to(ROOT)}/__init__.py is missing")
    for name in ("wire", "core"):
        if (ADDON / name).exists():
            problems.append(f"addon/{name} exists: it is copied in from the backend at build time, "
                            "not kept in addon/")
    if problems:
        raise BuildError("; ".join(problems))


def stage(dest: Path = DEFAULT_STAGE, wheel_cache: Path = WHEEL_CACHE, wheels: bool = True,
          backend_wheel: Path | None = None) -> Path:
    """Assemble the extension folder at `dest` (replaced) and return it; `wheels=False` leaves the
    wheels out (a development copy for an interpreter that has pyzmq already: not valid to build).
    `backend_wheel`: the SoftFit backend wheel (`make dist`) goes in `backend_wheel/`, where the
    preferences' Install Local Backend finds it; Blender itself never installs it."""
    check_sources()
    names = [Path(w).name for w in manifest().get("wheels", [])]
    wheel_files = fetch_wheels(names, wheel_cache) if wheels else []
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(ADDON, dest, ignore=IGNORE)
    shutil.copy2(MANIFEST, dest / "blender_manifest.toml")
    shipped = shipped_backend()
    for rel, src in shipped.items():
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest / rel)
    for pkg in sorted(_packages(shipped)):  # core/ and core/mesh/ have no __init__.py of their own
        if not (dest / pkg / "__init__.py").exists():
            (dest / pkg / "__init__.py").write_text(CORE_INIT)
    (dest / "wheels").mkdir()
    for w in wheel_files:
        shutil.copy2(w, dest / "wheels" / w.name)
    if backend_wheel is not None:
        (dest / BACKEND_WHEEL_DIR).mkdir()
        shutil.copy2(backend_wheel, dest / BACKEND_WHEEL_DIR / backend_wheel.name)
    return dest


def _run_tool(*args: str) -> str:
    proc = subprocess.run([sys.executable, str(blender_ext_tool()), *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(f"blender_ext {args[0]} failed: {(proc.stdout + proc.stderr).strip()[-2000:]}")
    return proc.stdout


def validate(folder: Path) -> None:
    _run_tool("validate", str(folder))


def check_zip(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
    bad = [n for n in names if FORBIDDEN.search(n)]
    if bad:
        raise BuildError(f"{path.name} contains files that must stay out of it: {bad[:5]}")
    shipped = [rel.as_posix() for rel in shipped_backend()] + ["core/__init__.py"]
    for need in ("__init__.py", "blender_manifest.toml", *shipped):
        if need not in names:
            raise BuildError(f"{path.name} lacks {need}")
    return names


def build(out: Path = DEFAULT_OUT, stage_dir: Path = DEFAULT_STAGE, wheel_cache: Path = WHEEL_CACHE,
          backend_wheel: Path | None = None) -> Path:
    """Stage, validate, build and check the zip; returns its path."""
    folder = stage(stage_dir, wheel_cache, backend_wheel=backend_wheel)
    validate(folder)
    out.mkdir(parents=True, exist_ok=True)
    m = manifest()
    zip_path = out / f"{m['id']}-{m['version']}.zip"
    if zip_path.exists():
        zip_path.unlink()
    _run_tool("build", "--source-dir", str(folder), "--output-filepath", str(zip_path))
    check_zip(zip_path)
    return zip_path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the zip (default build/dist)")
    ap.add_argument("--stage", type=Path, default=DEFAULT_STAGE, help="staging folder (replaced)")
    ap.add_argument("--wheel-cache", type=Path, default=WHEEL_CACHE, help="where pip downloads wheels")
    ap.add_argument("--stage-only", action="store_true", help="assemble and validate the folder, no zip")
    ap.add_argument("--backend-wheel", type=Path, default=None,
                    help="bundle this SoftFit backend wheel (make dist) for Install Local Backend")
    args = ap.parse_args(argv)
    wheel = args.backend_wheel.resolve() if args.backend_wheel else None
    try:
        if args.stage_only:
            folder = stage(args.stage.resolve(), args.wheel_cache.resolve())
            validate(folder)
            print(folder)
        else:
            print(build(args.out.resolve(), args.stage.resolve(), args.wheel_cache.resolve(), wheel))
    except BuildError as exc:
        print(f"build_extension: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Type-check the Blender add-on with mypy against fake-bpy-module (Blender 5.0's API as stubs).

The stubs conflict with the real `bpy` module in .venv, so they live in their own environment,
.cache/lint-venv (created on first use, pinned versions, reused while the pins are unchanged). The
add-on is checked as it ships: staged with the backend's wire and core packages beside it (its relative
imports resolve); those belong to the backend and are checked there, so their errors are not ours.
Skips only when PyPI cannot be reached to build the environment.
"""

from __future__ import annotations

import fcntl
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_extension  # noqa: E402
import pytest  # noqa: E402
from addon_helpers import index_unreachable, pypi_reachable  # noqa: E402

pytestmark = pytest.mark.slow  # minutes, not seconds: `make test-fast` leaves it out, CI runs it

LINT_VENV = ROOT / ".cache" / "lint-venv"
REQUIREMENTS = ("fake-bpy-module-5.0==20260730", "mypy==2.4.1", "numpy==1.26.4", "pyzmq==27.3.0")
# valid-type: bpy properties are declared as annotations (`name: StringProperty(...)`), which a type
# checker reads as invalid types; Blender requires that form, so that one error code is off.
MYPY_INI = """\
[mypy]
python_version = 3.11
disable_error_code = valid-type
check_untyped_defs = True
disallow_untyped_defs = True
disallow_incomplete_defs = True
no_implicit_optional = True
warn_unused_ignores = True
warn_redundant_casts = True

[mypy-softfit.wire.*,softfit.core.*]
ignore_errors = True
"""


def lint_python() -> Path:
    """The lint environment's interpreter, built (once per set of pins) with the pinned tools."""
    python = LINT_VENV / "bin" / "python"
    stamp = LINT_VENV / "softfit-requirements.txt"
    wanted = "\n".join(REQUIREMENTS)
    LINT_VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(LINT_VENV.parent / "lint-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test sessions must not build it at once
        if python.is_file() and stamp.is_file() and stamp.read_text() == wanted:
            return python
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(LINT_VENV)], check=True)
        proc = subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                               *REQUIREMENTS], capture_output=True, text=True)
        if proc.returncode != 0:
            if not pypi_reachable():
                index_unreachable("build the lint environment")
            raise AssertionError(f"pip install failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
        stamp.write_text(wanted)
    return python


def test_addon_type_checks_against_blender_stubs(tmp_path: Path) -> None:
    python = lint_python()
    stage = build_extension.stage(tmp_path / "softfit", wheels=False)
    config = tmp_path / "mypy.ini"
    config.write_text(MYPY_INI)
    proc = subprocess.run([str(python), "-m", "mypy", stage.name, "--config-file", str(config),
                           "--cache-dir", str(LINT_VENV.parent / "mypy-cache")],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert "Success" in proc.stdout


def test_stubs_stay_out_of_the_project_venv() -> None:
    """fake-bpy-module would shadow the real bpy: it must only exist in the lint environment."""
    site = Path(sys.prefix) / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    assert not list(site.glob("fake_bpy_module*")) and not (site / "bpy-stubs").exists()

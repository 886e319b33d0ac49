"""Render a SoftFit ground-truth dataset inside Blender, or with the `bpy` module, in this process.

    blender --background --python scripts/render_dataset.py -- SOURCE --out DIR [options]
    python scripts/render_dataset.py SOURCE --out DIR [options]

Options are those of `softfit dataset render` (see `--help`); arguments after `--` are ours, the ones
before it Blender's. The repository's backend/ is put on sys.path, so nothing needs installing into
Blender's Python (it needs only numpy, which Blender ships)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "backend"))

from softfit.commands.dataset import add_render_arguments, run  # noqa: E402
from softfit.errors import InputError  # noqa: E402


def main(argv: list[str]) -> int:
    args_in = argv[argv.index("--") + 1:] if "--" in argv else argv[1:]
    parser = argparse.ArgumentParser(prog="render_dataset.py", description=__doc__.splitlines()[0])
    add_render_arguments(parser)
    args = parser.parse_args(args_in)
    try:
        return run(args, in_process=True)
    except InputError as exc:
        print(f"render_dataset.py: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

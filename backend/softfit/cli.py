"""The `softfit` command: one sub-command per job, each living in the module that does the work.

Sub-command modules are imported lazily so that `softfit --help` and light commands stay fast and a
missing optional dependency only breaks the command that needs it."""

from __future__ import annotations

import argparse
import importlib
import sys

from softfit.errors import InputError

# name -> (module, help). Each module defines `add_arguments(parser)` and `run(args) -> int`.
COMMANDS: dict[str, tuple[str, str]] = {
    "fit": ("softfit.commands.fit", "fit a mesh to multi-view silhouettes"),
    "demo": ("softfit.commands.demo", "render the bundled default dataset and fit it"),
    "dataset": ("softfit.commands.dataset", "render ground-truth datasets with Blender (bpy)"),
    "bench": ("softfit.commands.bench", "run a benchmark and write its table under benchmarks/"),
    "serve": ("softfit.commands.serve", "run the ZeroMQ fitting server"),
    "keys": ("softfit.commands.keys", "make and list CURVE keys and the client allow-list"),
    "batch": ("softfit.commands.batch", "fit every object under a folder as Ray tasks"),
    "views": ("softfit.commands.views", "write what SoftFit reads of an input: RGBA views + transforms.json"),
    "experiments": ("softfit.commands.experiments", "regenerate the initialisation experiments report"),
}


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="softfit", description=__doc__.splitlines()[0])
    from softfit import __version__

    parser.add_argument("--version", action="version", version=f"softfit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    # Only the chosen sub-command's module is imported; the others are listed by name and help only.
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        if name == chosen:
            mod = importlib.import_module(module)
            mod.add_arguments(p)
            p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except InputError as exc:
        print(f"softfit {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"softfit {args.command}: interrupted", file=sys.stderr)
        return 130

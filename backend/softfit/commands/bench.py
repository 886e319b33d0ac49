"""`softfit bench NAME`: runs one benchmark (softfit.bench.<name>) and writes its tables under
benchmarks/. New benchmarks register in softfit.bench.BENCHES; this command only dispatches."""

from __future__ import annotations

import argparse
import importlib

from softfit.bench import BENCHES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One sub-parser per registered benchmark, with that benchmark's own options."""
    sub = parser.add_subparsers(dest="bench", metavar="BENCH", required=True)
    for name, (module, help_text) in BENCHES.items():
        p = sub.add_parser(name, help=help_text)
        mod = importlib.import_module(module)
        mod.add_arguments(p)
        p.set_defaults(_bench_run=mod.run)


def run(args: argparse.Namespace) -> int:
    """Runs the chosen benchmark."""
    return int(args._bench_run(args) or 0)

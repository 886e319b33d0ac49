"""Regenerate the committed experiments report (reports/experiments.md, .json and the PNG figures) with
the full settings: `python scripts/run_experiments.py [--work DIR] [--seed 0]` (≈ 20 min on 2 CPU cores).

A thin wrapper around `softfit experiments --out reports/`; extra arguments are passed on."""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "backend"))

from softfit.cli import main  # noqa: E402

if __name__ == "__main__":
    os.chdir(Path(__file__).resolve().parents[1])  # the report then quotes `--out reports`, not a local path
    sys.exit(main(["experiments", "--out", "reports", *sys.argv[1:]]))

"""Thin wrapper: `python scripts/bench_raster.py [--quick ...]` = `softfit bench raster [--quick ...]`."""

import sys

from softfit.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "raster", *sys.argv[1:]]))

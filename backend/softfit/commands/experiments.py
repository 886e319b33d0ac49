"""`softfit experiments --out reports/`: regenerate the initialisation experiments report
(experiments.md, experiments.json, PNG figures) from Blender-rendered scenes."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="report folder (e.g. reports/)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny images, few steps, one object per case (what the tests run; minutes)")
    parser.add_argument("--sections", default="1,2,3,4",
                        help="comma-separated sections: 1 datasets, 2 silhouettes, 3 initial meshes, "
                             "4 cameras (default all); others already in the report are kept")
    parser.add_argument("--seed", type=int, default=0, help="seed of the view split and the fits")
    parser.add_argument("--work", type=Path,
                        help="keep the rendered scenes here and reuse them (default: a temporary folder)")
    parser.add_argument("--aloi", type=Path, metavar="ROOT",
                        help="your ALOI library (ROOT/png2/<obj>, ROOT/mask2/<obj>): section 1 also fits "
                             "each of its objects (no ground-truth mesh, so held-out IoU only)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def run(args: argparse.Namespace) -> int:
    from softfit.experiments import parse_sections, run_experiments

    sections = parse_sections(args.sections)
    logging.basicConfig(level=logging.WARNING)
    t0 = time.perf_counter()
    run_experiments(args.out, quick=args.quick, sections=sections, seed=args.seed, work=args.work,
                    verbose=not args.quiet, aloi_root=args.aloi)
    print(f"wrote {args.out / 'experiments.md'} in {(time.perf_counter() - t0) / 60:.1f} min")
    return 0

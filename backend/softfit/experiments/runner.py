"""`run_experiments`: run the chosen sections and write reports/experiments.md, experiments.json and the
PNG figures. Files are written into a staging folder beside the output and moved in at the end, so an
interrupted run leaves the previous report intact. Sections not run this time are kept from the existing
experiments.json when it was made with the same settings and seed, so the report stays whole."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import torch

import softfit
from softfit.errors import InputError
from softfit.experiments import report
from softfit.experiments.context import Context, Section
from softfit.experiments.settings import Settings

SECTIONS = {
    1: "softfit.experiments.datasets",
    2: "softfit.experiments.silhouettes",
    3: "softfit.experiments.initial",
    4: "softfit.experiments.cameras",
}
JSON_NAME, MD_NAME = "experiments.json", "experiments.md"


def command_line(out: Path | str, quick: bool, sections: Sequence[int], seed: int) -> str:
    parts = ["softfit experiments", f"--out {out}"]
    if quick:
        parts.append("--quick")
    if sorted(sections) != sorted(SECTIONS):
        parts.append("--sections " + ",".join(str(s) for s in sections))
    parts.append(f"--seed {seed}")
    return " ".join(parts)


def parse_sections(text: str | Sequence[int]) -> list[int]:
    """'1,3' -> [1, 3]; InputError for anything else than section numbers."""
    items = text.split(",") if isinstance(text, str) else list(text)
    try:
        out = sorted({int(str(x).strip()) for x in items if str(x).strip()})
    except ValueError:
        raise InputError(f"sections must be comma-separated numbers from {sorted(SECTIONS)}, got {text!r}"
                         ) from None
    bad = [s for s in out if s not in SECTIONS]
    if bad or not out:
        raise InputError(f"unknown section(s) {bad or text!r}; choose from {sorted(SECTIONS)}")
    return out


def run_experiments(out: Path | str, quick: bool = False, sections: Sequence[int] = (1, 2, 3, 4),
                    seed: int = 0, work: Path | str | None = None, verbose: bool = True,
                    settings: Settings | None = None, aloi_root: Path | str | None = None) -> dict:
    """Run `sections` and (re)write the report in `out`; returns the experiments.json content.

    work: a folder to keep the rendered scenes in between runs (default: a temporary one, removed)."""
    sections = parse_sections(sections)
    settings = settings or (Settings.quick() if quick else Settings.full())
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"output {out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.experiments-", dir=out.parent))
    own_work = work is None
    work_dir = Path(tempfile.mkdtemp(prefix="softfit-experiments-")) if own_work else Path(work)
    work_dir.mkdir(parents=True, exist_ok=True)
    ctx = Context(stage, work_dir, settings, seed, verbose, None if aloi_root is None else Path(aloi_root))
    t0 = time.perf_counter()
    try:
        done: dict[int, Section] = _previous(out, settings, seed)
        for n in sections:
            ctx.say(f"section {n} starts")
            ts = time.perf_counter()
            sec = importlib.import_module(SECTIONS[n]).run(ctx)
            sec.seconds = time.perf_counter() - ts
            done[n] = sec
            ctx.say(f"section {n} done in {sec.seconds / 60:.1f} min")
        ordered = [done[k] for k in sorted(done)]
        meta = _meta(out, quick, sorted(done), seed, settings, ordered, time.perf_counter() - t0)
        doc = {"meta": meta, "sections": [s.to_dict() for s in ordered]}
        (stage / JSON_NAME).write_text(json.dumps(doc, indent=1))
        (stage / MD_NAME).write_text(report.markdown(ordered, meta))
        _move_into(stage, out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        if own_work:
            shutil.rmtree(work_dir, ignore_errors=True)
    return doc


def _previous(out: Path, settings: Settings, seed: int) -> dict[int, Section]:
    """Sections of an existing report made with the same settings and seed."""
    path = out / JSON_NAME
    if not path.is_file():
        return {}
    try:
        doc = json.loads(path.read_text())
        if doc["meta"]["settings"] != settings.to_dict() or doc["meta"]["seed"] != seed:
            return {}
        return {s["number"]: Section.from_dict(s) for s in doc["sections"]}
    except (KeyError, TypeError, ValueError):
        return {}


def _meta(out: Path, quick: bool, sections: list[int], seed: int, settings: Settings,
          done: list[Section], seconds: float) -> dict:
    from softfit.fit.engine import resolve_device

    summary = [line for s in done for line in s.headline.get("summary", [])]
    return {
        "command": command_line(out, quick, sections, seed), "seed": seed, "settings": settings.to_dict(),
        "sections": sections, "seconds": sum(s.seconds for s in done) if len(done) > 1 else seconds,
        "version": softfit.__version__, "torch": torch.__version__, "threads": torch.get_num_threads(),
        "device": str(resolve_device("auto")), "cpus": os.cpu_count(), "summary": summary,
        "generated": time.strftime("%Y-%m-%d %H:%M"),
    }


def _move_into(stage: Path, out: Path) -> None:
    """Move the staged files into `out`, replacing same-named ones."""
    for f in sorted(stage.iterdir()):
        os.replace(f, out / f.name)

"""All the drawn-scene benchmarks in one table: how the default does on captures nobody tuned it on.

Each `softfit bench silhouettes --drawn 12 --drawn-seed S` run scores twelve scenes drawn at random and
writes its own silhouettes.json; read one at a time, a reader sees twelve scenes and the code of the day
they ran. This reads every such file under benchmarks/drawn and counts the issue's verdicts per seed and
over all of them with the benchmark's own rule (`targets.verdict`), naming the code each run used, so
that a figure never mixes runs silently. Nothing is fitted here: it only reads what the runs wrote."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field, fields
from pathlib import Path

from softfit.bench import repo_root
from softfit.bench.maskerrors import EDGE_PX, MaskErrors
from softfit.bench.targets import FLATTER, TARGET, verdict


@dataclass
class Tally:
    """The targets' verdicts counted over some scenes (a run, all runs, or one kind of scene)."""

    scenes: int = 0
    refused: list[str] = field(default_factory=list)  # no result: `auto` or its fit gave an error
    meets: int = 0
    within: int = 0
    flatters: int = 0
    unwarned: list[str] = field(default_factory=list)
    held: list[float] = field(default_factory=list)
    ceiling: list[float] = field(default_factory=list)


def tally(scenes: list[tuple[str, dict | None]]) -> Tally:
    """Count (name, verdict) pairs; a verdict of None is a refused scene."""
    t = Tally(scenes=len(scenes))
    for name, v in scenes:
        if not v:
            t.refused.append(name)
            continue
        t.meets += v["meets_target"]
        t.within += bool(v["within_gap"])
        t.flatters += v["flatters"]
        if v["flatters_unwarned"]:
            t.unwarned.append(name)
        t.held.append(v["held_out"])
        if v["ceiling"] is not None:
            t.ceiling.append(v["ceiling"])
    return t


@dataclass
class SeedRow:
    """One benchmark file: where it is, its seed, the code it ran, the processor it ran on, and each
    scene's (name, drawn spec, verdict or None)."""

    source: str
    seed: str
    git: str
    cpu: str = "?"
    scenes: list[tuple[str, dict, dict | None]] = field(default_factory=list)
    errors: dict[str, dict] = field(default_factory=dict)  # scene -> auto's `maskerrors` shares

    @property
    def counts(self) -> Tally:
        return tally([(name, v) for name, _, v in self.scenes])


def read_run(path: Path, root: Path) -> SeedRow:
    """One silhouettes.json's verdicts for `auto` (the default users get)."""
    doc = json.loads(path.read_text())
    argv = doc.get("argv") or []
    seed = argv[argv.index("--drawn-seed") + 1] if "--drawn-seed" in argv else "?"
    machine = doc.get("machine", {})
    row = SeedRow(str(path.relative_to(root)), seed, str(machine.get("git", "?")),
                  str(machine.get("cpu", "?")))
    for name, scene in doc["scenes"].items():
        auto = scene["methods"].get("auto", {})
        v = verdict(auto, scene.get("true_masks", {}))
        row.scenes.append((name, scene.get("scene", {}), v or None))
        if auto.get("mask_errors"):
            row.errors[name] = auto["mask_errors"]
    return row


def read_runs(folder: Path) -> list[SeedRow]:
    """Every drawn run's silhouettes.json under `folder`, counted, in seed order (paths relative to the
    repository when `folder` is in it)."""
    root = repo_root()
    base = (root if folder.resolve().is_relative_to(root) else folder).resolve()
    rows = [read_run(p.resolve(), base) for p in folder.rglob("silhouettes.json")]
    return sorted(rows, key=lambda r: int(r.seed) if r.seed.isdigit() else -1)


def _mean(xs: list[float]) -> str:
    return f"{sum(xs) / len(xs):.3f}" if xs else "—"


def _link(source: str) -> str:
    """The run's silhouettes.md, linked relative to benchmarks/drawn where the summary is written."""
    md = str(Path(source).with_suffix(".md"))
    prefix = "benchmarks/drawn/"
    return f"[{md}]({md[len(prefix):]})" if md.startswith(prefix) else md


def _cells(t: Tally, named: bool = True) -> str:
    """A run's (or the total's) cells after seed and git; `named`: list the unwarned and refused scenes."""
    def listed(names: list[str]) -> str:
        return f"{len(names)}{': ' + ', '.join(names) if named and names else ''}"

    return (f"{t.scenes} | {t.meets} | {t.within} | {t.flatters} | {listed(t.unwarned)} | "
            f"{listed(t.refused)} | {_mean(t.held)} | {_mean(t.ceiling)} |")


def markdown(rows: list[SeedRow]) -> str:
    lines = [
        "# Drawn scenes, all seeds (scored against the TRUE masks)",
        "",
        "Regenerate with `softfit bench drawn-summary` (it reads the runs' silhouettes.json files; it fits "
        "nothing). Each row is one `softfit bench silhouettes --drawn 12 --drawn-seed S` run, twelve scenes "
        "drawn at random, the code (*git*) that run used and the processor it ran on (*machine*): rows run "
        "with different code are not one experiment, and the total says so when they differ. Nor are rows "
        "run on different processors quite: Cycles renders a scene a little differently on each, and a "
        "few scenes' masks change with that.",
        "",
        f"Verdicts for `auto` (what `softfit fit` does with photos), by the benchmark's own rule: "
        f"held-out IoU against the true masks (mean over the run's three held-out splits) >= {TARGET}; "
        f"within {FLATTER} of the fit from the true masks; *flatters*: on some split the fit's agreement "
        f"with its own masks exceeds its true held-out IoU by more than {FLATTER}, *unwarned* when the "
        "segmentation gave no warning. "
        "*refused*: no result (the segmentation isolated no object, or the fit failed), named.",
        "",
        f"| seed | git | machine | scenes | ≥ {TARGET} | within {FLATTER} | flatter | flatter unwarned | "
        "refused | mean held-out (auto) | mean held-out (true masks) |",
        "|---|---|---|---:|---:|---:|---:|---|---|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r.seed} | {r.git} | {r.cpu} | {_cells(r.counts)}")
    gits = sorted({r.git for r in rows})
    cpus = sorted({r.cpu for r in rows})
    every = tally([(name, v) for r in rows for name, _, v in r.scenes])
    lines.append(f"| all | {', '.join(gits)} | {', '.join(cpus)} | {_cells(every, named=False)}")
    lines += ["", "## By what was drawn", "",
              "The same verdicts grouped by each property of the drawn scenes, worst first (a refused scene "
              "counts as 0 in the order, and is left out of the means)."] + by_kind(rows)
    lines += where_wrong(rows)
    lines += ["", "Sources (each run's own tables): " + ", ".join(_link(r.source) for r in rows) + "."]
    if len(gits) > 1:
        lines += ["", f"**The runs used {len(gits)} versions of the code** ({', '.join(gits)}): the total "
                      "mixes them; run the older seeds again to compare like with like."]
    if len(cpus) > 1:
        lines += ["", f"**The runs ran on {len(cpus)} processors** ({', '.join(cpus)}): their renders of a "
                      "scene differ a little, and a few scenes' masks with them (round 38 in "
                      "benchmarks/silhouettes.md), so a row from one machine compared with a row from "
                      "another mixes that in."]
    return "\n".join(lines) + "\n"


KINDS = (("object", "object"), ("material", "material"), ("capture", "capture"),
         ("support", "support"), ("floor_texture", "floor"))


def by_kind(rows: list[SeedRow]) -> list[str]:
    """What the scenes that fail have in common: the verdicts grouped by each drawn property (object,
    material, capture, support, floor), over every run, so that a failing class stands out; worst first,
    a refused scene counting as 0 in the order."""
    out: list[str] = []
    for key, title in KINDS:
        groups: dict[str, list[tuple[str, dict | None]]] = {}
        for r in rows:
            for name, spec, v in r.scenes:
                groups.setdefault(str(spec.get(key, "?")), []).append((name, v))
        out += ["", f"| {title} | scenes | ≥ {TARGET} | refused | flatter unwarned | mean held-out (auto) | "
                    "mean held-out (true masks) |", "|---|---:|---:|---:|---:|---:|---:|"]
        counted = [(kind, tally(scenes)) for kind, scenes in groups.items()]
        for kind, t in sorted(counted, key=lambda kt: sum(kt[1].held) / kt[1].scenes):
            out.append(f"| {kind} | {t.scenes} | {t.meets} | {len(t.refused)} | {len(t.unwarned)} | "
                       f"{_mean(t.held)} | {_mean(t.ceiling)} |")
    return out


# The kinds of error `maskerrors` counts, as it names them (the inward offset is no share of the union).
ERRORS = tuple(f.name for f in fields(MaskErrors) if f.name != "inward_px")
WORST = 4  # scenes named per kind of error
LARGE = 0.05  # a kind of error this large a share of a scene's union counts the scene in


def where_wrong(rows: list[SeedRow]) -> list[str]:
    """Which kind of error costs `auto`'s masks most over every run (`maskerrors`: wrong pixels as shares
    of the union of mask and true mask, by side and place), and in which scenes: what a change should aim
    at, read off the runs without fitting again."""
    errs = {name: e for r in rows for name, e in r.errors.items()}
    if not errs:
        return []
    out = ["", "## Where auto's masks go wrong", "",
           f"Wrong pixels against the true masks, as shares of the union of mask and true mask "
           f"(`softfit.bench.maskerrors`: *edge* within {EDGE_PX:g} px of the other outline, *hole* inside a "
           "hole the mask opened or a true hole, *far* the rest), per scene, over the "
           f"{len(errs)} scenes with masks; *scenes ≥ {LARGE}*: those where that kind alone is at least "
           f"{LARGE} of the union; the {WORST} worst named.", "",
           f"| error | mean share | scenes ≥ {LARGE} | worst scenes |", "|---|---:|---:|---|"]
    for key in ERRORS:
        share = {name: float(e.get(key, 0.0)) for name, e in errs.items()}
        worst = sorted(share, key=lambda n: -share[n])[:WORST]
        named = ", ".join(f"{n} {share[n]:.2f}" for n in worst if share[n] > 0)
        out.append(f"| {key.replace('_', ' ')} | {sum(share.values()) / len(share):.3f} | "
                   f"{sum(v >= LARGE for v in share.values())} | {named or '—'} |")
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", type=Path, default=None,
                        help="folder searched for silhouettes.json (default: <repo>/benchmarks/drawn)")
    parser.add_argument("--out", type=Path, default=None,
                        help="the table's file (default: <runs>/summary.md)")


def run(args: argparse.Namespace) -> int:
    from softfit.errors import InputError

    folder = args.runs or repo_root() / "benchmarks" / "drawn"
    rows = read_runs(folder)
    if not rows:
        raise InputError(f"no silhouettes.json under {folder}: run `softfit bench silhouettes --drawn 12 "
                         "--drawn-seed S` first")
    out = args.out or folder / "summary.md"
    text = markdown(rows)
    out.write_text(text)
    print(text)
    print(f"wrote {out}")
    return 0


def refresh_after(out: Path) -> Path | None:
    """After `softfit bench silhouettes --drawn` wrote a run to `out`: the repository's summary written
    again when the run is one of its (benchmarks/drawn or a folder in it), so it never lags the runs."""
    drawn = (repo_root() / "benchmarks" / "drawn").resolve()
    if not drawn.is_dir() or out.resolve() not in (drawn, *(p for p in drawn.iterdir() if p.is_dir())):
        return None
    (drawn / "summary.md").write_text(markdown(read_runs(drawn)))
    return drawn / "summary.md"

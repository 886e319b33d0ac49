"""`softfit bench drawn-summary`: the committed drawn runs, counted again, must say what each run wrote."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from softfit.bench.drawn_summary import markdown, read_runs

REPO = Path(__file__).resolve().parents[1]
DRAWN = REPO / "benchmarks" / "drawn"


def test_each_committed_run_counts_what_its_own_table_says():
    """The summary re-reads every run's JSON; its counts must match the line the run's silhouettes.md
    printed from the same verdicts when it ran (a reader that dropped scenes, misread a seed or a changed
    verdict rule would disagree)."""
    rows = read_runs(DRAWN)
    assert len(rows) >= 7, [r.source for r in rows]  # seeds 2, 4-9
    seeds = []
    for row in rows:
        seeds.append(row.seed)
        path = REPO / row.source
        line = next(ln for ln in (path.parent / "silhouettes.md").read_text().splitlines()
                    if ln.startswith("Of "))
        ran, meets, within, flatters, unwarned = map(int, re.match(
            r"Of (\d+) scenes, (\d+) reach [\d.]+, (\d+) are within [\d.]+ of the true-mask fit, (\d+) "
            r"flatter by more than [\d.]+ on some split, (\d+) of them unwarned", line).groups())
        c = row.counts
        assert (c.scenes - len(c.refused), c.meets, c.within, c.flatters, len(c.unwarned)) == (
            ran, meets, within, flatters, unwarned), path
        assert row.git != "?" and c.scenes == 12
    assert seeds == sorted(seeds, key=int) and len(set(seeds)) == len(seeds)


def test_the_table_names_refused_scenes_and_mixed_code(tmp_path):
    """Two runs with different code on different processors: the total says they are mixed; a scene
    without a result is named as refused and left out of the means, not counted as a failure of 0."""
    src = json.loads((DRAWN / "seed7" / "silhouettes.json").read_text())
    first = next(iter(src["scenes"]))
    src["scenes"][first]["methods"]["auto"] = {"error": "no object could be isolated"}
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "silhouettes.json").write_text(json.dumps(src))
    other = json.loads((DRAWN / "seed5" / "silhouettes.json").read_text())
    other["machine"]["git"] = "0000000"
    other["machine"]["cpu"] = "Another CPU"
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "silhouettes.json").write_text(json.dumps(other))
    rows = read_runs(tmp_path)
    assert [r.seed for r in rows] == ["5", "7"]
    assert rows[1].counts.refused == [first] and len(rows[1].counts.held) == 11
    text = markdown(rows)
    assert f"1: {first}" in text
    assert "**The runs used 2 versions of the code**" in text
    assert "**The runs ran on 2 processors**" in text and "| Another CPU |" in text
    assert "| all |" in text and "| 24 |" in text


def test_cli_writes_the_table(tmp_path):
    """The command a reader runs: it writes the file and prints where."""
    for p in sorted(DRAWN.rglob("silhouettes.json"))[:2]:
        dst = tmp_path / p.parent.name
        dst.mkdir(exist_ok=True)
        shutil.copy(p, dst / "silhouettes.json")
    out = tmp_path / "summary.md"
    r = subprocess.run([sys.executable, "-m", "softfit", "bench", "drawn-summary", "--runs", str(tmp_path),
                        "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert out.exists() and "| all |" in out.read_text() and f"wrote {out}" in r.stdout


def test_cli_without_runs_fails_with_one_clear_line(tmp_path):
    r = subprocess.run([sys.executable, "-m", "softfit", "bench", "drawn-summary", "--runs", str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert "no silhouettes.json under" in r.stderr + r.stdout


def test_a_drawn_run_refreshes_the_repository_summary_only(tmp_path, monkeypatch):
    """`bench silhouettes --drawn` calls `refresh_after(out)`: a run written into the repository's
    benchmarks/drawn (or a seed folder in it) rewrites summary.md there; a run written elsewhere leaves
    the repository alone."""
    import softfit.bench.drawn_summary as ds

    drawn = tmp_path / "benchmarks" / "drawn"
    (drawn / "seed7").mkdir(parents=True)
    shutil.copy(DRAWN / "seed7" / "silhouettes.json", drawn / "seed7" / "silhouettes.json")
    monkeypatch.setattr(ds, "repo_root", lambda: tmp_path)
    assert ds.refresh_after(tmp_path / "elsewhere") is None
    assert not (drawn / "summary.md").exists()
    assert ds.refresh_after(drawn / "seed7") == (drawn / "summary.md").resolve()
    text = (drawn / "summary.md").read_text()
    assert "| 7 |" in text and "[benchmarks/drawn/seed7/silhouettes.md](seed7/silhouettes.md)" in text


def test_the_committed_summary_is_the_runs_counted_now():
    """benchmarks/drawn/summary.md must be what the committed runs say today (the README quotes it): a
    run committed without its summary, or a verdict rule changed since, fails here."""
    assert (DRAWN / "summary.md").read_text() == markdown(read_runs(DRAWN))


def test_where_the_masks_go_wrong_counts_each_kind_over_the_scenes_with_masks(tmp_path):
    """The error table reads each scene's `mask_errors`: the mean over the scenes that have masks (a
    refused scene has none and is left out), how many reach LARGE, and the worst named, largest first."""
    from softfit.bench.drawn_summary import LARGE, where_wrong

    src = json.loads((DRAWN / "seed7" / "silhouettes.json").read_text())
    names = list(src["scenes"])
    zero = {"missed_edge": 0.0, "missed_hole": 0.0, "missed_far": 0.0, "extra_edge": 0.0, "extra_hole": 0.0,
            "extra_far": 0.0, "inward_px": 0.0}
    for name in names:
        src["scenes"][name]["methods"]["auto"]["mask_errors"] = dict(zero)
    src["scenes"][names[1]]["methods"]["auto"]["mask_errors"]["extra_far"] = 0.5
    src["scenes"][names[2]]["methods"]["auto"]["mask_errors"]["extra_far"] = LARGE + 0.01
    src["scenes"][names[0]]["methods"]["auto"] = {"error": "no object could be isolated"}
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "silhouettes.json").write_text(json.dumps(src))
    lines = where_wrong(read_runs(tmp_path))
    assert f"over the {len(names) - 1} scenes with masks" in "\n".join(lines)
    row = next(ln for ln in lines if ln.startswith("| extra far |"))
    mean = (0.5 + LARGE + 0.01) / (len(names) - 1)
    assert row == f"| extra far | {mean:.3f} | 2 | {names[1]} 0.50, {names[2]} {LARGE + 0.01:.2f} |"
    assert next(ln for ln in lines if ln.startswith("| missed edge |")) == "| missed edge | 0.000 | 0 | — |"
    assert where_wrong([]) == []

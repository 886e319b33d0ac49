"""`softfit bench solve` measures the solver the fit really uses against SciPy's LU on the same matrix."""

from __future__ import annotations

import argparse

from softfit.bench import solve


def test_solve_bench_compares_equal_solutions_and_writes_its_tables(tmp_path):
    row = solve.measure(2_000, repeat=2)
    assert row["max_abs_difference"] < 1e-9  # both solve M x = b: a broken Cholesky path shows here
    assert row["verts"] > 900 and row["polys"] >= 1_900
    solve.run(argparse.Namespace(repeat=1, out=tmp_path))
    md = (tmp_path / "solve.md").read_text()
    assert md.count("\n| ") == 1 + len(solve.POLYS)  # header + one row per mesh size
    assert "load average" in md

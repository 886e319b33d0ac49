"""`softfit bench raster` runs end to end (tiny settings) and writes its JSON and markdown tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from softfit import _C
from softfit.bench.raster import sphere_mesh
from softfit.cli import main


def test_bench_meshes_have_requested_face_counts() -> None:
    for nfaces in (1280, 3264, 5120):
        verts, faces = sphere_mesh(nfaces)
        assert faces.shape == (nfaces, 3) and int(faces.max()) == verts.shape[0] - 1
        assert torch.allclose(verts.norm(dim=1), torch.ones(verts.shape[0], dtype=torch.float64))


def test_bench_cases_option_selects_rows_and_refuses_nonsense(tmp_path: Path, capsys) -> None:
    for bad in ("20480x512", "axbxc", "1000x128x1"):
        with pytest.raises(SystemExit) as exc:
            main(["bench", "raster", "--cases", bad, "--out", str(tmp_path)])
        assert exc.value.code == 2
    assert "not FACESxSIZExVIEWS" in capsys.readouterr().err
    assert not (tmp_path / "raster.json").exists()


def test_bench_writes_tables(tmp_path: Path, render_dataset_cached) -> None:
    views = render_dataset_cached("suzanne", views=12, size=64, cameras="rings", scale=1.6)
    argv = ["bench", "raster", "--quick", "--repeats", "1", "--warmup", "0", "--dense-max-pairs", "1e5"]
    assert main([*argv, "--no-cuda", "--fit-data", str(views), "--out", str(tmp_path)]) == 0
    # --cases picks rows (here: one besides --quick's own) and the page names it
    assert main([*argv, "--no-cuda", "--fit-data", str(views), "--cases", "1280x64x2",
                 "--out", str(tmp_path / "cases")]) == 0
    picked = json.loads((tmp_path / "cases" / "raster.json").read_text())
    assert [(r["faces"], r["size"], r["views"]) for r in picked["rows"]] == [(1280, 64, 2)]
    assert "--cases 1280x64x2" in picked["command"]
    data = json.loads((tmp_path / "raster.json").read_text())
    assert {row["size"] for row in data["rows"]} == {128, 256}
    assert all(row["compiled"]["forward_backward_s"] > 0 for row in data["rows"])
    for row in data["rows"]:
        c = row["compiled"]
        assert c["forward_backward_cpu_s"] > 0 and row["load_1min"] >= 0
        if torch.get_num_threads() > 1:  # scaling 1 thread -> all threads, timed in the same run
            assert c["threads_1"]["forward_backward_s"] > 0
            assert row["scaling_forward_backward"] == c["threads_1"]["forward_backward_s"] / c[
                "forward_backward_s"]
    table = (tmp_path / "raster.md").read_text()
    # the page names the command that made it, non-default options included
    assert "softfit bench raster --quick --repeats 1 --warmup 0 --dense-max-pairs 100000" in table
    assert "softfit bench raster --quick" in table and "skipped (B·F·H·W" in table
    # the fit step on real rendered views, part by part: every part measured, the parts add up to the
    # whole step, and the best kernels are compared with the generic ones side by side
    isa = data["machine"]["cpu_kernel_isa"]
    assert data["fit_step"] and isa in _C.cpu_kernel_isas()
    for st in data["fit_step"]:
        assert st["data"] == str(views) and 1500 <= st["faces"] <= 2500 and st["size"] == 64
        parts = st["cpu_s"]
        assert parts["raster forward"] > 0 and parts["backward"] > 0
        assert abs(sum(v for k, v in parts.items() if k != "step") - parts["step"]) < 0.5 * parts["step"]
        assert st[f"{isa}_wall_s"] > 0 and st[f"{isa}_cpu_s"] > 0
        if isa != "generic":
            assert st["speedup_vs_generic"] == st["generic_wall_s"] / st[f"{isa}_wall_s"]
    assert "One fit step on real data" in table
    for row in data["rows"]:  # the raster rows' generic baseline, side by side
        assert row["isa"] == isa
        if isa != "generic":
            assert row["speedup_vs_generic"] == (row["generic"]["forward_backward_s"]
                                                 / row["compiled"]["forward_backward_s"])
    assert "fwd+bwd CPU ms" in table and "scaling fwd+bwd" in table and data["machine"]["duration_s"] >= 0
    assert "softfit bench raster --quick" in table  # the command that regenerates it
    for row in data["rows"]:
        # every case is either compared with the dense reference side by side or says why not
        pairs = row["views"] * row["faces"] * row["size"] ** 2
        if pairs <= 1e5:
            assert row["speedup_forward_backward"] == pytest.approx(
                row["dense"]["forward_backward_s"] / row["compiled"]["forward_backward_s"])
        else:
            assert "dense" not in row and f"{pairs:.2g} pairs > budget 1e+05" in row["dense_skipped"]
        # and the table shows the JSON's numbers
        assert f"{row['compiled']['forward_backward_s'] * 1e3:.1f}" in table

"""`softfit bench raster` runs end to end (tiny settings) and writes its JSON and markdown tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from softfit.bench.raster import sphere_mesh
from softfit.cli import main


def test_bench_meshes_have_requested_face_counts() -> None:
    for nfaces in (1280, 3264, 5120):
        verts, faces = sphere_mesh(nfaces)
        assert faces.shape == (nfaces, 3) and int(faces.max()) == verts.shape[0] - 1
        assert torch.allclose(verts.norm(dim=1), torch.ones(verts.shape[0], dtype=torch.float64))


def test_bench_writes_tables(tmp_path: Path) -> None:
    argv = ["bench", "raster", "--quick", "--repeats", "1", "--warmup", "0", "--dense-max-pairs", "1e5"]
    assert main([*argv, "--no-cuda", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "raster.json").read_text())
    assert {row["size"] for row in data["rows"]} == {128, 256}
    table = (tmp_path / "raster.md").read_text()
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

"""`softfit batch` end to end on a local Ray (2 CPUs): three small objects rendered with Blender, one of
them broken. The broken one fails alone; a rerun skips what is done and retries what failed."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pytest

from softfit.batch import BatchSettings, run_batch
from softfit.commands import batch as batch_cmd

pytestmark = pytest.mark.slow  # minutes, not seconds: `make test-fast` leaves it out, CI runs it

TINY_FIT = ["--iterations", "8", "--resolutions", "0:full", "--views-per-step", "2", "--holdout", "0.25",
            "--threads", "1", "--image-size", "32", "--polys", "200"]


@pytest.fixture
def root(tmp_path, render_dataset_cached) -> Path:
    """cube/ (transforms.json, 12 views), shapes/objects.npz (one SoftRas object), broken/ (bad JSON)."""
    root = tmp_path / "root"
    shutil.copytree(render_dataset_cached("cube", views=12, size="32"), root / "cube")
    shutil.copytree(render_dataset_cached("torus", layout="softras", npz=True, size="32"), root / "shapes")
    (root / "broken").mkdir()
    (root / "broken" / "transforms.json").write_text('{"frames": [')
    return root


def cli(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    batch_cmd.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_batch_isolates_failures_and_resumes(root, tmp_path, capsys):
    out = tmp_path / "out"
    # First run through the CLI: local Ray with 2 CPUs, the broken object fails, exit code 1.
    code = batch_cmd.run(cli(str(root), "--out", str(out), "--num-cpus", "2", "--no-texture", *TINY_FIT))
    printed = capsys.readouterr().out
    assert code == 1
    doc = json.loads((out / "summary.json").read_text())
    rows = {r["name"]: r for r in doc["objects"]}
    assert sorted(rows) == ["broken", "cube", "shapes__objects__000"]
    assert rows["broken"]["status"] == "failed" and rows["broken"]["error_type"] == "InputError"
    assert "not valid JSON" in rows["broken"]["error"]
    for name in ("cube", "shapes__objects__000"):
        assert rows[name]["status"] == "done", rows[name]
        assert 0.0 < rows[name]["heldout_iou"] <= 1.0 and rows[name]["chamfer"] > 0  # gt meshes found
        metrics = json.loads((out / name / "metrics.json").read_text())
        assert metrics["iterations"] == 8 and metrics["input"]["job"]["name"] == name
        assert (out / name / "mesh.obj").is_file() and (out / name / "overlays.png").is_file()
        assert not (out / name / "texture.png").exists() and not (out / name / "mesh.glb").exists()
    assert not (out / "broken").exists()  # nothing half-written for the failure
    assert doc["summary"]["done"] == 2 and doc["summary"]["failed"] == 1
    assert doc["summary"]["heldout_iou"]["n"] == 2
    md = (out / "summary.md").read_text()
    assert "| broken | failed |" in md and "| cube | done |" in md and "**median**" in md
    assert "[3/3]" in printed and "summary:" in printed

    # Fix the broken object, rerun through the API: finished objects are skipped, not refitted.
    stamp = (out / "cube" / "metrics.json").stat().st_mtime_ns
    shutil.rmtree(root / "broken")
    shutil.copytree(root / "cube", root / "broken")
    settings = BatchSettings(params=json.loads((out / "cube" / "metrics.json").read_text())["params"],
                             image_size=32, polys=200)
    outcome = run_batch(root, out, settings, num_cpus=2)
    status = {r["name"]: r["status"] for r in outcome.records}
    assert status == {"broken": "done", "cube": "skipped", "shapes__objects__000": "skipped"}
    assert (out / "cube" / "metrics.json").stat().st_mtime_ns == stamp
    assert (out / "broken" / "mesh.glb").is_file() and (out / "broken" / "texture.png").is_file()  # default
    assert outcome.stats["heldout_iou"]["n"] == 3

    # Everything done: the CLI starts no Ray at all and reports success.
    assert batch_cmd.run(cli(str(root), "--out", str(out), "--quiet", *TINY_FIT)) == 0

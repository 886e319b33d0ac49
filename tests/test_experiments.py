"""`softfit experiments --quick`: sections 2 (silhouettes) and 3 (initial meshes) end to end through the
CLI, on real Blender renders and real fits, into a temporary report folder.

Besides the report's structure this checks what the sections exist to show, with thresholds far from
the measured values: on a small off-centre object the visual hull and the 3-D box (built from the
training views only) start much closer to the truth than the fixed sphere (measured held-out IoU at the
start: sphere 0.01, bbox2d 0.15, bbox 0.47, hull 0.73) and lead after the fit (hull 0.77, bbox 0.78 vs
sphere 0.08; Chamfer 2 % vs 48 %); in a textured room the background-difference method finds the object
where a border-colour threshold cannot (mask IoU 0.93 vs 0.01), on black the threshold works (0.97) and
fits from its masks match fits from the exact ones (held-out IoU 0.94 and 0.94)."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from softfit.cli import main
from softfit.errors import InputError
from softfit.experiments import parse_sections

pytestmark = pytest.mark.slow  # minutes, not seconds: `make test-fast` leaves it out, CI runs it


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    assert main(["experiments", "--out", str(out), "--quick", "--sections", "2,3", "--quiet"]) == 0
    return out


def _sections(out) -> dict[int, dict]:
    doc = json.loads((out / "experiments.json").read_text())
    return {s["number"]: s for s in doc["sections"]}


def test_report_structure(report):
    """The markdown shows what experiments.json holds: each section asked for (and no other) with its
    tables, figures that exist, the command that made it, and section 3 with every initial mesh."""
    md = (report / "experiments.md").read_text()
    secs = _sections(report)
    assert sorted(secs) == [2, 3]
    assert f"softfit experiments --out {report} --quick --sections 2,3 --seed 0" in md  # how to regenerate
    positions = []
    for s in secs.values():
        positions.append(md.index(f"## {s['number']}. {s['title']}"))
        for _caption, table in s["tables"]:
            assert table in md
        for _caption, name in s["figures"]:
            assert f"]({name})" in md
            with Image.open(report / name) as im:
                assert im.format == "PNG" and im.size[0] > 200
    assert positions == sorted(positions)
    rows3 = secs[3]["data"]["rows"]
    for case in {r["case"] for r in rows3}:
        assert sorted(r["init"] for r in rows3 if r["case"] == case) == ["bbox", "bbox2d", "hull", "sphere"]
    deeplab = [r for r in secs[2]["data"]["mask_rows"] if r["method"] == "deeplab"]
    assert deeplab and all(r["mask_iou"] is None and "no DeepLab weights" in r["note"] for r in deeplab)
    doc = json.loads((report / "experiments.json").read_text())
    assert doc["meta"]["settings"]["name"] == "quick" and doc["meta"]["seed"] == 0
    assert not [p for p in report.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_hull_and_box_start_closer_than_the_fixed_sphere_off_centre(report):
    rows = {r["init"]: r for r in _sections(report)[3]["data"]["rows"] if r["case"] == "small_offcentre"}
    sphere, bbox2d, bbox, hull = (rows[n] for n in ("sphere", "bbox2d", "bbox", "hull"))
    assert hull["initial_iou"] > sphere["initial_iou"] + 0.4
    assert bbox["initial_iou"] > sphere["initial_iou"] + 0.2
    assert bbox2d["initial_iou"] > sphere["initial_iou"]
    assert hull["heldout_iou"] > sphere["heldout_iou"] + 0.3  # the sphere does not recover in the budget
    assert hull["chamfer_rel"] < 0.5 * sphere["chamfer_rel"]
    assert hull["reach"] == 0  # the hull starts above the sphere's final IoU
    curve = hull["curve"]
    assert curve[0][0] == 0 and curve[-1][0] == hull["iterations"] and len(curve) >= 3


def test_backdrop_difference_beats_threshold_in_a_textured_room(report):
    rows = _sections(report)[2]["data"]["mask_rows"]
    room = {r["method"]: r for r in rows if r["scene"].startswith("textured")}
    black = {r["method"]: r for r in rows if r["scene"].startswith("black")}
    assert room["backdrop"]["mask_iou"] > 0.85 and room["threshold"]["mask_iou"] < 0.5
    assert black["threshold"]["mask_iou"] > 0.9  # a plain background is what thresholding is for
    assert room["auto"]["note"] == "chose grabcut" and room["auto+backdrop"]["note"] == "chose backdrop"
    assert black["auto"]["note"] == "chose threshold"
    fits = {r["masks"]: r for r in _sections(report)[2]["data"]["fit_rows"] if r["scene"].startswith("black")}
    assert fits["truth"]["heldout_iou"] > 0.7 and fits["threshold"]["heldout_iou"] > 0.7


def test_rerunning_one_section_keeps_the_others(report):
    before = _sections(report)[2]
    assert main(["experiments", "--out", str(report), "--quick", "--sections", "3", "--quiet"]) == 0
    after = _sections(report)
    assert sorted(after) == [2, 3] and after[2]["data"] == before["data"]
    assert "## 2. Silhouettes" in (report / "experiments.md").read_text()


def test_bad_sections_are_input_errors(tmp_path, capsys):
    with pytest.raises(InputError, match="unknown section"):
        parse_sections("1,7")
    assert main(["experiments", "--out", str(tmp_path / "r"), "--sections", "x"]) == 2
    assert "sections must be" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_section_one_fits_the_users_aloi_library(render_dataset_cached, tmp_path):
    """`--aloi ROOT`: real ALOI folders (here a Blender-rendered look-alike) are fitted and tabled."""
    from softfit.experiments.context import Context, Section
    from softfit.experiments.datasets import _user_aloi
    from softfit.experiments.settings import Settings

    root = render_dataset_cached("suzanne", layout="aloi", views=12)
    ctx = Context(tmp_path, tmp_path, Settings.quick(), seed=0, verbose=False, aloi_root=root)
    sec = Section(1, "Datasets", "")
    _user_aloi(ctx, sec)
    (row,) = sec.data["user_aloi"]
    assert row["views"] == 12 and row["heldout_iou"] > 0.8  # a real fit of the library's object
    caption, table = sec.tables[0]
    assert "Your ALOI library" in caption and row["object"] in table

"""Scenes drawn at random (`drawn-SEED-INDEX`): the same name gives the same scene, different names
different ones, every draw keeps the whole object in every view (checked with the real built-in meshes
and SoftFit's projection), and the CLI and the benchmark take the names."""

from __future__ import annotations

import json

import numpy as np
import pytest
from dataset_support import read_masks

from softfit.bench.silhouettes import scene_names
from softfit.cli import main as cli_main
from softfit.dataset import drawn
from softfit.dataset.photoreal import _check_framing, object_mesh
from softfit.dataset.suite import SCENES, capture, scene_spec
from softfit.errors import InputError


def test_a_drawn_scene_is_seeded_and_draws_vary():
    assert drawn.drawn_scene(5, 3) == drawn.drawn_scene(5, 3) == scene_spec("drawn-5-3")
    specs = [drawn.drawn_scene(5, i) for i in range(24)]
    assert len({s.name for s in specs}) == 24 and all(s.name == f"drawn-5-{i}" for i, s in enumerate(specs))
    # The draws cover the space: several objects, materials, worlds and floors, both camera paths.
    assert len({s.object for s in specs}) >= 6 and len({s.material for s in specs}) >= 3
    assert len({s.hdri for s in specs}) >= 4 and len({s.floor_texture for s in specs}) >= 2
    assert {s.capture for s in specs} == {"turntable", "handheld"}
    assert {(s.capture, s.support) for s in specs} <= {("turntable", "turntable"), ("handheld", "floor"),
                                                       ("handheld", "table")}
    assert specs[0] != drawn.drawn_scene(6, 0)
    # Nothing drawn is one of the benchmark's scenes.
    looks = {(s.object, s.material, s.hdri, s.support) for s in SCENES.values()}
    assert sum((s.object, s.material, s.hdri, s.support) in looks for s in specs) <= 1


def test_every_draw_keeps_the_whole_object_in_every_view():
    """The distance bound holds for the real meshes, from the nearest hand-held camera with its aim
    jittered: the renderer's own framing check (3 % margin) passes on 40 draws."""
    fills = []
    for i in range(40):
        spec = drawn.drawn_scene(11, i)
        mesh = object_mesh(spec)
        cap = capture(spec, float(mesh.verts[:, 2].max()))
        _check_framing(mesh, cap.cameras, spec.name)
        px = cap.cameras.project_points(mesh.verts)[..., 1]
        fills.append(float(np.ptp(px, axis=1).max()) / spec.size[1])
    # ... and the objects are not all specks: the drawn fill spans small to large.
    assert min(fills) < 0.35 and max(fills) > 0.5


def test_names_are_checked_by_the_cli_and_the_benchmark(capsys):
    with pytest.raises(InputError, match="drawn-SEED-INDEX"):
        scene_spec("drawn-x-1")
    with pytest.raises(SystemExit) as exited:
        cli_main(["dataset", "render", "--scene", "drawn-1", "--out", "/nonexistent"])
    assert exited.value.code == 2
    assert "unknown scene 'drawn-1'" in capsys.readouterr().err
    assert scene_names(None, 3, 9) == ["drawn-9-0", "drawn-9-1", "drawn-9-2"]
    assert scene_names("dark-cloth,drawn-2-5", None, 1) == ["dark-cloth", "drawn-2-5"]
    assert scene_names(None, None, 1) == list(SCENES)
    with pytest.raises(InputError, match="not both"):
        scene_names("dark-cloth", 2, 1)
    with pytest.raises(InputError, match="unknown scene"):
        scene_names("dark-cloth,moon", None, 1)
    # the seed a name carries, read the one way the names are parsed (bench masks --holdout counts by it)
    assert [drawn.seed_of(n) for n in ("drawn-12-3", "drawn-7-0", "dark-cloth", "drawn-1", "xdrawn-2-2")] == [
        12, 7, None, None, None]


def test_cli_renders_a_drawn_scene_with_its_truth(tmp_path):
    out = tmp_path / "s"
    assert cli_main(["dataset", "render", "--scene", "drawn-3-1", "--views", "3", "--size", "64x48",
                     "--samples", "2", "--out", str(out)]) == 0
    info = json.loads((out / "dataset.json").read_text())
    assert info["scene"]["name"] == "drawn-3-1"
    assert info["scene"]["object"] == drawn.drawn_scene(3, 1).object
    truth = read_masks(sorted((out / "truth" / "masks").glob("*.png")))
    assert len(truth) == 3 and truth.any(axis=(1, 2)).all()
    assert not truth[:, [0, -1]].any() and not truth[:, :, [0, -1]].any()  # in the frame

"""No held-out view reaches the initial mesh or the loss, through every front end.

Each front end fits the same small dataset twice: once as rendered, once with its held-out silhouettes
*poisoned* (shifted a third of the image sideways). A hull carved from, or a loss fed with, a poisoned
view would change the mesh; so the two fitted meshes must be identical (CPU, one thread, fixed seed:
the fit is deterministic), while the held-out IoU must drop (the poisoned views are the scored ones).
Front ends: `softfit fit` (CLI), `softfit demo` (its dataset cache pre-filled), a batch task (the function
each Ray task runs), `softfit bench fit`'s run, the experiments' scoring, and the server over a real
ZeroMQ socket (`prepare` hull, then `submit`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from softfit.cameras import Cameras, transforms_dict, turntable
from softfit.fit import FitParams
from softfit.fit.views import split_views
from softfit.mesh.io import load_mesh, save_obj
from softfit.mesh.sphere import uv_sphere
from softfit.mesh.types import Mesh

pytestmark = pytest.mark.slow  # minutes, not seconds: `make test-fast` leaves it out, CI runs it

SIZE, VIEWS, ITERS, POLYS = 48, 12, 12, 300
FIT = {"iterations": ITERS, "threads": 1, "resolutions": [[0.0, 0]], "views_per_step": 3}


def _scene() -> tuple[Mesh, Cameras, np.ndarray]:
    from softfit.metrics import render_silhouettes

    s = uv_sphere(400, 0.5)
    target = Mesh(s.verts * np.array([1.3, 0.8, 1.0]), s.faces)
    az = np.arange(VIEWS) * 360.0 / VIEWS
    cams = turntable(az, elevation_deg=25.0, distance=3.0, fov_deg=50.0, width=SIZE, height=SIZE)
    return target, cams, render_silhouettes(target, cams)


def _poison(sil: np.ndarray, held: np.ndarray) -> np.ndarray:
    out = sil.copy()
    out[held] = np.roll(sil[held], SIZE // 3, axis=2)
    return out


def _write(folder: Path, sil: np.ndarray, cams: Cameras, gt: Mesh) -> Path:
    """A transforms.json dataset with RGBA PNGs (alpha = silhouette) and gt_mesh.obj."""
    folder.mkdir(parents=True)
    names = [f"view_{i:02d}.png" for i in range(len(sil))]
    for name, s in zip(names, sil, strict=True):
        rgba = np.zeros((*s.shape, 4), np.uint8)
        rgba[..., :3] = 200
        rgba[..., 3] = (s > 0.5) * 255
        Image.fromarray(rgba).save(folder / name)
    (folder / "transforms.json").write_text(json.dumps(transforms_dict(cams, names)))
    save_obj(folder / "gt_mesh.obj", gt)
    return folder


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """(clean folder, poisoned folder, held-out indices under FitParams(**FIT), target, cams, sil)."""
    root = tmp_path_factory.mktemp("holdout")
    target, cams, sil = _scene()
    held = split_views(cams, FitParams(**FIT).holdout, FitParams(**FIT).seed)[1]
    assert len(held) >= 1
    clean = _write(root / "clean", sil, cams, target)
    bad = _write(root / "poisoned", _poison(sil, held), cams, target)
    return clean, bad, held, target, cams, sil


def _same_fit(a: dict, b: dict) -> None:
    """a, b: {"verts", "heldout_iou"} of the clean and the poisoned run."""
    assert np.array_equal(a["verts"], b["verts"]), "a held-out view changed the initial mesh or the fit"
    assert b["heldout_iou"] < a["heldout_iou"] - 0.1, "the poisoned views were not the scored ones"


def test_cli(world, tmp_path):
    from softfit.cli import main

    def fit(folder: Path, out: Path) -> dict:
        argv = ["fit", str(folder), "--out", str(out), "--quiet", "--image-size", "0", "--polys", str(POLYS),
                "--iterations", str(ITERS), "--threads", "1", "--resolutions", "0:full",
                "--views-per-step", "3"]
        assert main(argv) == 0
        m = json.loads((out / "metrics.json").read_text())
        return {"verts": load_mesh(out / "mesh.obj").verts, "heldout_iou": m["heldout_iou"]}

    _same_fit(fit(world[0], tmp_path / "a"), fit(world[1], tmp_path / "b"))


def test_demo(world, tmp_path):
    """The demo renders into its cache; a pre-filled cache entry is what it fits."""
    from softfit.cli import main
    from softfit.dataset.cache import DEFAULT_DATASET, cache_folder

    spec = {"source": "suzanne", "views": VIEWS, "cameras": DEFAULT_DATASET["cameras"], "size": SIZE,
            "scale": 1.0}
    runs = []
    for k, folder in enumerate(world[:2]):
        cache = tmp_path / f"cache{k}"
        _write(cache_folder(spec, cache), *_read(folder), world[3])
        out = tmp_path / f"out{k}"
        assert main(["demo", "--out", str(out), "--cache", str(cache), "--quiet", "--views", str(VIEWS),
                     "--size", str(SIZE), "--scale", "1", "--iterations", str(ITERS), "--threads", "1",
                     "--polys", str(POLYS), "--no-turntable"]) == 0
        m = json.loads((out / "metrics.json").read_text())
        runs.append({"verts": load_mesh(out / "mesh.obj").verts, "heldout_iou": m["heldout_iou"]})
    # the demo keeps its own FitParams (defaults + threads/iterations): the split is the same one
    _same_fit(*runs)


def _read(folder: Path) -> tuple[np.ndarray, Cameras]:
    from softfit.data.load import load_dataset

    d = load_dataset(folder, image_size=None)
    return d.silhouettes, d.cameras


def test_batch_task(world, tmp_path):
    from softfit.batch.discover import ObjectJob
    from softfit.batch.task import BatchSettings, fit_object

    settings = BatchSettings(params=dict(FIT), image_size=None, polys=POLYS)
    runs = []
    for folder in world[:2]:
        job = ObjectJob(folder.name, str(folder), "transforms", gt_mesh=str(folder / "gt_mesh.obj"))
        rec = fit_object(job, tmp_path, settings)
        assert rec["status"] == "done", rec
        runs.append({"verts": load_mesh(tmp_path / folder.name / "mesh.obj").verts,
                     "heldout_iou": rec["heldout_iou"]})
    _same_fit(*runs)


def test_bench_fit(world, tmp_path):
    from softfit.bench.fit import run_one
    from softfit.dataset.cache import cache_folder

    spec = {"source": "suzanne", "views": VIEWS, "cameras": "rings", "size": SIZE, "scale": 1.0}
    runs = []
    for k, folder in enumerate(world[:2]):
        cache = tmp_path / f"cache{k}"
        _write(cache_folder(spec, cache), *_read(folder), world[3])
        r = run_one(spec, dict(FIT), None, POLYS, cache, snapshot_every=ITERS)
        # the bench keeps no mesh: its held-out curve's last point and Chamfer stand for it
        runs.append(r)
    a, b = runs
    assert a["chamfer"] == b["chamfer"] and a["train_iou"] == b["train_iou"]
    assert [c["heldout_iou"] for c in b["curve"]] != [c["heldout_iou"] for c in a["curve"]]
    assert b["heldout_iou"] < a["heldout_iou"] - 0.1
    # it scores the mesh `softfit fit` writes: the writer's topology repair ran and counted its crossings
    assert all(isinstance(r["crossings_left"], int) for r in runs)


def test_experiments_scoring(world):
    from softfit.data.load import load_dataset
    from softfit.experiments.scoring import score_fit

    params = FitParams(**FIT)
    runs = []
    for folder in world[:2]:
        data = load_dataset(folder, image_size=None)
        f = score_fit(data, "hull", params, world[3], polys=POLYS)
        runs.append({"verts": f.mesh.verts, "heldout_iou": f.row["heldout_iou"]})
    _same_fit(*runs)


def test_server_over_zeromq(world):
    from wire_support import shared_backend

    _, _, held, _, cams, sil = world
    tr = transforms_dict(cams, [f"view_{i:02d}.png" for i in range(VIEWS)])
    params = dict(FIT, threads=0)
    runs = []
    with shared_backend().client() as c:
        for views in (sil, _poison(sil, held)):
            hull = c.prepare(views, None, tr, init="hull", polys=POLYS, params=params)
            job = c.submit(views, None, tr, hull.verts, hull.faces, params)
            res = c.wait(job, timeout=300)
            runs.append({"hull": hull.verts, "verts": res.verts, "heldout_iou": res.metrics["heldout_iou"]})
    assert np.array_equal(runs[0]["hull"], runs[1]["hull"]), "a held-out view shaped the server's hull"
    _same_fit(*runs)
    # and the hull really is the training views' hull, not all views'
    with shared_backend().client() as c:
        no_holdout = c.prepare(sil, None, tr, init="hull", polys=POLYS, params=dict(params, holdout=0.0))
    hull = runs[0]["hull"]
    assert no_holdout.verts.shape != hull.shape or not np.allclose(no_holdout.verts, hull)

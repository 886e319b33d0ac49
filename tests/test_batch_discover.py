"""Batch bookkeeping without Ray: which objects a root holds, what counts as done, the summary table."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import numpy as np
import pytest

from softfit.batch import ObjectJob, aggregate, completed_metrics, discover, write_summary
from softfit.batch.discover import npz_object_count
from softfit.batch.run import check_reachable
from softfit.errors import InputError


def touch(path: Path, text: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def make_tree(root: Path) -> None:
    # An ALOI dataset as the renderer writes it: png2/<obj>, mask2/<obj>, its own transforms.json.
    for obj in ("12", "7"):
        for a in (0, 5):
            touch(root / "aloi" / "png2" / obj / f"{obj}_r{a}.png")
            touch(root / "aloi" / "mask2" / obj / f"{obj}_r{a}.png")
    touch(root / "aloi" / "transforms.json", "{}")
    touch(root / "aloi" / "gt_meshes" / "12.obj")
    # transforms.json datasets, one nested deeper, one with a ground-truth mesh.
    touch(root / "renders" / "cube" / "transforms.json", "{}")
    touch(root / "renders" / "cube" / "gt_mesh.obj")
    touch(root / "renders" / "deeper" / "a b" / "transforms.json", "{}")
    touch(root / "softras_demo" / "source.npy")
    touch(root / "softras_demo" / "camera.npy")
    # A COLMAP project: its images/ sub-folder is not a folder of plain photos of its own.
    touch(root / "mug_scan" / "images" / "IMG_0001.png")
    touch(root / "mug_scan" / "sparse" / "0" / "cameras.bin")
    touch(root / "mug_scan" / "sparse" / "0" / "images.bin")
    # A ShapeNet-style archive of 3 objects (only the header is read) and a foreign .npz that is skipped.
    (root / "shapenet").mkdir()
    np.savez(root / "shapenet" / "chairs.npz", arr_0=np.zeros((3, 24, 4, 2, 2), np.uint8))
    np.savez(root / "shapenet" / "other.npz", arr_0=np.zeros(5))
    touch(root / "shapenet" / "gt_meshes" / "01_chair.obj")
    touch(root / ".hidden" / "transforms.json", "{}")
    touch(root / "out" / "cube" / "transforms.json", "{}")  # the batch's own output is never input


def test_discover_finds_every_kind_once(tmp_path):
    make_tree(tmp_path)
    jobs = discover(tmp_path, exclude=tmp_path / "out")
    by_name = {j.name: j for j in jobs}
    assert sorted(by_name) == sorted([
        "aloi__12", "aloi__7", "renders__cube", "renders__deeper__a_b", "softras_demo", "mug_scan",
        "shapenet__chairs__000", "shapenet__chairs__001", "shapenet__chairs__002"])
    assert by_name["aloi__12"].kind == "aloi" and by_name["aloi__12"].path.endswith("png2/12")
    assert by_name["aloi__12"].gt_mesh.endswith("gt_meshes/12.obj") and by_name["aloi__7"].gt_mesh is None
    assert by_name["renders__cube"].gt_mesh.endswith("cube/gt_mesh.obj")
    assert by_name["shapenet__chairs__001"].object_index == 1
    assert by_name["shapenet__chairs__001"].gt_mesh.endswith("01_chair.obj")
    assert by_name["softras_demo"].kind == "softras" and by_name["mug_scan"].kind == "colmap"
    assert discover(tmp_path, exclude=tmp_path / "out") == jobs  # stable order
    assert ObjectJob.from_dict(json.loads(json.dumps(jobs[0].to_dict()))) == jobs[0]


def test_discover_single_object_roots_and_errors(tmp_path):
    make_tree(tmp_path)
    assert [j.name for j in discover(tmp_path / "renders" / "cube")] == ["cube"]
    assert len(discover(tmp_path / "shapenet" / "chairs.npz")) == 3
    assert npz_object_count(tmp_path / "shapenet" / "chairs.npz") == 3
    with pytest.raises(InputError, match="expected images shaped"):
        npz_object_count(tmp_path / "shapenet" / "other.npz")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no objects found"):
        discover(tmp_path / "empty")
    with pytest.raises(InputError, match="not found"):
        discover(tmp_path / "missing")


def test_names_are_unique_and_folder_safe(tmp_path):
    touch(tmp_path / "a:b" / "transforms.json", "{}")
    touch(tmp_path / "a_b" / "transforms.json", "{}")
    names = [j.name for j in discover(tmp_path)]
    assert sorted(names) == ["a_b", "a_b-2"]


def test_completed_metrics_needs_a_whole_file(tmp_path):
    assert completed_metrics(tmp_path) is None
    (tmp_path / "metrics.json").write_text('{"heldout_iou": 0.9, "train_iou"')  # torn write
    assert completed_metrics(tmp_path) is None
    (tmp_path / "metrics.json").write_text('{"heldout_iou": 0.9}')  # not a fit's metrics
    assert completed_metrics(tmp_path) is None
    (tmp_path / "metrics.json").write_text('{"heldout_iou": 0.9, "train_iou": 0.95, "iterations": 5, '
                                           '"cancelled": true}')
    assert completed_metrics(tmp_path) is None
    (tmp_path / "metrics.json").write_text('{"heldout_iou": 0.9, "train_iou": 0.95, "iterations": 5}')
    assert completed_metrics(tmp_path)["heldout_iou"] == 0.9


def test_summary_table_and_statistics(tmp_path):
    rows = [
        {"name": "a", "status": "done", "heldout_iou": 0.9, "chamfer": 0.02, "seconds": 10.0},
        {"name": "b", "status": "skipped", "heldout_iou": 0.7, "chamfer": None, "seconds": 30.0},
        {"name": "c", "status": "failed", "heldout_iou": None, "chamfer": None, "seconds": 0.1,
         "error": "bad | json\nhere"},
    ]
    stats = aggregate(rows)
    assert (stats["objects"], stats["done"], stats["skipped"], stats["failed"]) == (3, 1, 1, 1)
    assert stats["heldout_iou"] == {"n": 2, "mean": pytest.approx(0.8), "median": pytest.approx(0.8)}
    assert stats["chamfer"]["n"] == 1 and stats["seconds"]["mean"] == pytest.approx(20.0)
    write_summary(tmp_path, rows, {"root": "x"})
    doc = json.loads((tmp_path / "summary.json").read_text())
    assert doc["summary"]["failed"] == 1 and len(doc["objects"]) == 3 and doc["batch"]["root"] == "x"
    md = (tmp_path / "summary.md").read_text()
    assert "| a | done | 0.9000 | 0.0200 | 10.0 |" in md
    assert "bad \\| json here" in md and "| **mean** |  | 0.8000 |" in md


def test_unreachable_ray_address_is_an_input_error():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        check_reachable(f"127.0.0.1:{port}")
        check_reachable(f"ray://127.0.0.1:{port}")
    with pytest.raises(InputError, match="no Ray cluster answers"):
        check_reachable(f"127.0.0.1:{port}")  # closed now: fails at once instead of Ray's minutes of retries
    with pytest.raises(InputError, match="HOST:PORT"):
        check_reachable("127.0.0.1:http")
    check_reachable("auto")


def test_folders_of_plain_photos_are_objects_once_the_batch_places_them(tmp_path, caplog):
    """Phone captures, one folder per object: fitted with --cameras sfm (or a turntable spec); without
    one they were passed over in silence, and now a warning (or the error) names them."""
    import logging

    from softfit.batch.discover import places_photos

    for obj in ("mug", "shoe"):
        for i in range(3):
            touch(tmp_path / "captures" / obj / f"IMG_{i}.jpg")
            touch(tmp_path / "captures" / obj / "masks" / f"IMG_{i}.png")
    touch(tmp_path / "captures" / "stray.jpg")  # photos beside sub-folders: not an object of its own
    touch(tmp_path / "films" / "vase.MP4")  # filmed orbits: each video an object
    touch(tmp_path / "films" / "lamp.mov")
    touch(tmp_path / "renders" / "cube" / "transforms.json", "{}")
    touch(tmp_path / "renders" / "cube" / "images" / "view_0.png")
    assert places_photos("sfm") and places_photos("turntable:views=3") and not places_photos(None)
    assert not places_photos("softras:viewing_angle=15")
    jobs = discover(tmp_path, photos=True)
    assert [(j.name, j.kind) for j in jobs] == [("captures__mug", "folder"), ("captures__shoe", "folder"),
                                                ("films__lamp", "video"), ("films__vase", "video"),
                                                ("renders__cube", "transforms")]
    assert jobs[3].path.endswith("films/vase.MP4")
    with caplog.at_level(logging.WARNING):
        assert [j.name for j in discover(tmp_path)] == ["renders__cube"]
    assert ("4 folder(s) of plain photos or video(s) (captures/mug, captures/shoe, films/lamp.mov and 1 "
            "more) have no cameras") in caplog.text
    assert "hold photos beside sub-folders (captures)" in caplog.text
    with pytest.raises(InputError, match=r"no objects found.*have no cameras: give the batch --cameras sfm"):
        discover(tmp_path / "captures" / "mug")

"""`softfit dataset render` with the real Blender: file layout, image modes, exact masks, imported mesh
axes, the photo-like backdrop, errors and the Blender-side script. Camera conventions are tested in
test_camera_roundtrip.py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from dataset_support import MIN_IOU, hard_masks, ious, read_masks
from PIL import Image

from softfit.cameras import Cameras, load_transforms, save_transforms, turntable
from softfit.cli import main as cli_main
from softfit.dataset import render_dataset
from softfit.errors import InputError
from softfit.mesh.io import load_mesh, save_ply
from softfit.mesh.types import Mesh

pytestmark = pytest.mark.slow  # minutes, not seconds: `make test-fast` leaves it out, CI runs it

REPO = Path(__file__).resolve().parents[1]


def test_transforms_layout_files(render_dataset_cached):
    folder = render_dataset_cached(source="suzanne", views=6, size="128")  # shared with the round trip
    names = [f"view_{i:03d}" for i in range(6)]
    assert sorted(p.stem for p in (folder / "images").iterdir()) == names
    meta = json.loads((folder / "transforms.json").read_text())
    assert [f["file_path"] for f in meta["frames"]] == [f"images/{n}.png" for n in names]
    assert [f["mask_path"] for f in meta["frames"]] == [f"masks/{n}.png" for n in names]
    cams, frames = load_transforms(folder)
    ref = turntable(np.arange(6) * 60.0, 2.732, 30.0, 60.0, 128, 128)
    np.testing.assert_allclose(cams.c2w, ref.c2w, atol=1e-12)
    np.testing.assert_allclose(cams.intrinsics, ref.intrinsics)
    images = [Image.open(f.image) for f in frames]
    assert all(im.mode == "RGBA" and im.size == (128, 128) for im in images)
    raw = np.stack([np.asarray(Image.open(f.mask)) for f in frames])
    assert raw.dtype == np.uint8 and set(np.unique(raw).tolist()) == {0, 255}
    # The transparent image's alpha is the anti-aliased version of the exact mask.
    alpha = np.stack([np.asarray(im)[..., 3] for im in images]) > 127
    assert ious(alpha, raw > 127).min() > 0.95
    info = json.loads((folder / "dataset.json").read_text())
    assert info["options"]["sources"] == ["suzanne"] and info["views"] == 6
    assert info["seconds_per_view"]["mask"] > 0
    mesh = load_mesh(folder / "gt_mesh.obj")
    assert np.isclose((mesh.verts.max(0) - mesh.verts.min(0)).max(), 1.0, atol=1e-6)  # normalised built-in


def _asymmetric_mesh() -> Mesh:
    """An off-centre, lopsided wedge: any swap or flip of axes moves it."""
    v = np.array([[0.1, -0.2, 0.05], [0.7, -0.1, 0.0], [0.2, 0.5, 0.1], [0.3, 0.0, 0.6], [0.15, 0.1, -0.3]])
    f = np.array([[0, 2, 1], [0, 1, 3], [1, 2, 3], [2, 0, 3], [0, 1, 4], [1, 2, 4], [2, 0, 4]])
    return Mesh(v, f)


def _obj_with_polygons(path: Path) -> None:
    """A Z-up OBJ with a quad and a pentagon (Blender triangulates them; gt_mesh.obj must agree)."""
    path.write_text(
        "# Z up\n"
        "v -0.4 -0.3 -0.2\nv 0.5 -0.3 -0.2\nv 0.5 0.4 -0.2\nv -0.4 0.4 -0.2\n"
        "v -0.3 -0.2 0.5\nv 0.4 -0.25 0.4\nv 0.45 0.3 0.5\nv 0.0 0.5 0.55\nv -0.35 0.3 0.45\n"
        "f 1 4 3 2\nf 5 6 7 8 9\nf 1 2 6 5\nf 2 3 7 6\nf 3 4 8 7\nf 4 1 5 9 8\n"
    )


@pytest.mark.parametrize("kind", ["ply", "obj"])
def test_mesh_files_keep_their_coordinates(render_dataset_cached, tmp_path_factory, kind):
    src = tmp_path_factory.mktemp(f"src_{kind}") / f"shape.{kind}"
    if kind == "ply":
        save_ply(src, _asymmetric_mesh())
    else:
        _obj_with_polygons(src)
    folder = render_dataset_cached(str(src), views=4, size="96x64", elevation=20)
    gt = load_mesh(folder / "gt_mesh.obj")
    if kind == "ply":
        np.testing.assert_allclose(gt.verts, _asymmetric_mesh().verts, atol=1e-6)
    else:
        src_verts = np.array([ln.split()[1:] for ln in src.read_text().splitlines() if ln.startswith("v ")],
                             dtype=float)
        np.testing.assert_allclose(np.sort(gt.verts, axis=0), np.sort(src_verts, axis=0), atol=1e-6)
        assert gt.n_faces == 4 * 2 + 2 * 3  # four quads, two pentagons
    cams, frames = load_transforms(folder)
    iou = ious(read_masks([f.mask for f in frames]), hard_masks(gt, cams))
    assert iou.min() >= MIN_IOU


def test_backdrop_is_photo_like_and_masks_stay_exact(render_dataset_cached):
    folder = render_dataset_cached("cube", views=2, size="64x48", background="backdrop", samples=2,
                                   scale=0.6, elevation=25)
    cams, frames = load_transforms(folder)
    images = np.stack([np.asarray(Image.open(f.image)) for f in frames])
    masks = read_masks([f.mask for f in frames])
    assert images.shape == (2, 48, 64, 3)  # RGB: nothing is transparent in a photo
    # The textured wall and floor fill the background: bright and varied, unlike a plain backdrop.
    background = images[~masks]
    assert background.mean() > 40 and background.std() > 15
    assert ious(masks, hard_masks(load_mesh(folder / "gt_mesh.obj"), cams)).min() >= MIN_IOU
    assert json.loads((folder / "dataset.json").read_text())["engine"] == "cycles"


def test_plates_show_the_scene_without_the_object(render_dataset_cached):
    folder = render_dataset_cached("cube", views=2, size="64x48", background="backdrop", samples=2,
                                   scale=0.6, elevation=25, plates=True)
    _, frames = load_transforms(folder)
    masks = read_masks([f.mask for f in frames])
    for frame, mask in zip(frames, masks, strict=True):
        image = np.asarray(Image.open(frame.image)).astype(float)
        plate = np.asarray(Image.open(folder / "plates" / frame.image.name)).astype(float)
        assert plate.shape == image.shape
        # Where the object stood the plate shows the backdrop; the wall above it is the same scene (the
        # object's shadow and bounce light change only what lies near it).
        assert np.abs(plate - image)[mask].mean() > 20
        assert np.abs(plate - image)[:6].mean() < 3


def test_matte_finish_drops_the_specular_layer(render_dataset_cached):
    """Satin's specular layer reflects the room on top of the diffuse colour; matte has none, so the same
    sphere under the same light (same Cycles seed) is darker matte, and the backdrop is unchanged."""
    images, masks = {}, None
    for finish in ("satin", "matte"):
        folder = render_dataset_cached("uv_sphere", views=2, size="96x72", background="backdrop",
                                       samples=16, scale=0.8, elevation=20, finish=finish)
        _, frames = load_transforms(folder)
        masks = read_masks([f.mask for f in frames])
        images[finish] = np.stack([np.asarray(Image.open(f.image)) for f in frames]).astype(float)
    sheen = (images["satin"] - images["matte"]).mean(axis=3)
    for view, mask in zip(sheen, masks, strict=True):
        assert view[mask].mean() > 1.5
        assert abs(view[:6].mean()) < 1.0  # the wall above the sphere


def test_worker_input_errors_reach_the_caller_and_leave_nothing(tmp_path):
    src = tmp_path / "points.obj"
    src.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\n")
    out = tmp_path / "out"
    with pytest.raises(InputError, match="no triangles"):
        render_dataset(str(src), out, views=2, size=16)
    # A camera under the backdrop's floor is only known once the object is placed: also the worker's.
    with pytest.raises(InputError, match="below the backdrop's floor"):
        render_dataset("cube", out, views=2, size=16, background="backdrop", elevation=3, offset="0,0,1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["points.obj"]


def test_cli_refuses_non_empty_output_and_force_replaces(tmp_path, capsys):
    out = tmp_path / "set"
    args = ["dataset", "render", "cube", "--out", str(out), "--size", "24", "--layout", "softras"]
    assert cli_main([*args, "--views", "2"]) == 0
    assert np.load(out / "source.npy").shape == (2, 4, 24, 24)
    assert cli_main([*args, "--views", "3"]) == 2
    assert "not empty" in capsys.readouterr().err
    assert cli_main([*args, "--views", "3", "--force"]) == 0
    assert np.load(out / "source.npy").shape == (3, 4, 24, 24)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["set"]  # no temporary folders left


def test_script_renders_in_process_with_blender_style_arguments(tmp_path):
    """scripts/render_dataset.py as Blender would run it: our arguments after `--`, bpy in-process."""
    out = tmp_path / "aloi"
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "render_dataset.py"), "--background", "--",
         "torus", "--out", str(out), "--layout", "aloi", "--views", "4", "--size", "48x36", "--name", "7"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = sorted(p.name for p in (out / "png2" / "7").iterdir())
    assert names == [f"7_r{a}.png" for a in (0, 180, 270, 90)]
    assert Image.open(out / "mask2" / "7" / "7_r90.png").size == (48, 36)


def test_cycles_images_follow_the_same_cameras_as_the_masks(render_dataset_cached, tmp_path_factory):
    """Cycles has its own camera code: with fx != fy and a shifted principal point its (anti-aliased)
    alpha must still cover the exact Workbench mask. Also: --normalize fits a file into a unit box."""
    base = turntable([20.0, 140.0, 250.0], 2.732, [10.0, -30.0, 55.0], 60.0, 192, 128)
    cams = Cameras(base.c2w, base.fx, base.fy * 0.8, base.cx + 20.0, base.cy - 10.0, 192, 128)
    src_dir = tmp_path_factory.mktemp("cycles_src")
    save_transforms(src_dir / "transforms.json", cams, ["a", "b", "c"])
    big = Mesh(_asymmetric_mesh().verts * 3.0 + [5.0, -2.0, 1.0], _asymmetric_mesh().faces)
    save_ply(src_dir / "big.ply", big)
    folder = render_dataset_cached(str(src_dir / "big.ply"), cameras=str(src_dir / "transforms.json"),
                                   engine="cycles", samples=4, normalize=True, scale=0.9)
    gt = load_mesh(folder / "gt_mesh.obj")
    np.testing.assert_allclose(gt.verts.min(0) + gt.verts.max(0), 0.0, atol=1e-6)
    assert np.isclose((gt.verts.max(0) - gt.verts.min(0)).max(), 0.9, atol=1e-6)
    _, frames = load_transforms(folder)
    masks = read_masks([f.mask for f in frames])
    alpha = np.stack([np.asarray(Image.open(f.image))[..., 3] for f in frames]) > 127
    assert ious(alpha, masks).min() > 0.98

"""`texture="noise"`: colour noise fixed to the object, drawn by Workbench and Cycles, masks unchanged.

The atlas is checked without Blender (nearest-texel sampling at random surface points reads the noise of
that point); the renders with the real `bpy` in subprocesses (`render_dataset`)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from softfit.cameras import Cameras, load_transforms, transforms_dict
from softfit.dataset.render import render_dataset
from softfit.dataset.texture import noise_atlas, noise_color, sample_atlas
from softfit.errors import InputError
from softfit.mesh.sphere import uv_sphere

pytestmark = pytest.mark.slow  # minutes, not seconds: `make test-fast` leaves it out, CI runs it

SIZE, VIEWS = 96, 3


def test_atlas_reads_the_noise_of_each_surface_point():
    mesh = uv_sphere(2000, 0.5)
    uvs, pixels = noise_atlas(mesh.verts, mesh.faces)
    rng = np.random.default_rng(0)
    face = rng.integers(mesh.n_faces, size=5000)
    for on_edge in (False, True):  # inside triangles, and on edges shared with a neighbour's chart
        w = rng.dirichlet((1.0, 1.0, 1.0), size=len(face))
        if on_edge:
            w[:, 2] = 0.0
            w /= w.sum(1, keepdims=True)
        points = np.einsum("ij,ijk->ik", w, mesh.verts[mesh.faces[face]])
        uv = np.einsum("ij,ijk->ik", w, uvs[face])
        want = noise_color(points)
        err = np.abs(sample_atlas(pixels, uv) - want).mean()
        assert err < 0.1 * want.std(), (on_edge, err)  # measured 0.014-0.020 of a std of 0.35 (wrong: ≈ 0.4)
    assert want.std() > 0.25  # high contrast


def _images(folder) -> tuple[np.ndarray, np.ndarray]:
    _, frames = load_transforms(folder / "transforms.json")
    rgb = np.stack([np.asarray(Image.open(f.image).convert("RGB")) for f in frames]).astype(np.float64)
    masks = np.stack([np.asarray(Image.open(f.mask)) > 127 for f in frames])
    return rgb, masks


def _object_color_spread(rgb: np.ndarray, masks: np.ndarray) -> float:
    """Std of the chromaticity (colour without brightness, so shading does not count), in percent, inside
    the object eroded so anti-aliased edges do not count either."""
    from scipy import ndimage

    inner = np.stack([ndimage.binary_erosion(m, iterations=2) for m in masks])
    px = rgb[inner]
    chroma = px / np.maximum(px.sum(axis=1, keepdims=True), 1.0)
    return float(100 * chroma.std(axis=0).mean())


@pytest.fixture(scope="module")
def renders(tmp_path_factory):
    root = tmp_path_factory.mktemp("texture")
    common = {"views": VIEWS, "size": SIZE}
    out = {
        "plain": render_dataset("suzanne", root / "plain", **common),
        "noise": render_dataset("suzanne", root / "noise", texture="noise", **common),
        "cycles": render_dataset("suzanne", root / "cycles", texture="noise", engine="cycles", samples=2,
                                 views=2, size=64),
    }
    # The same object moved, seen by cameras moved with it: the pattern must move with the object.
    offset = np.array([0.3, -0.2, 0.1])
    cams, frames = load_transforms(out["noise"] / "transforms.json")
    c2w = cams.c2w.copy()
    c2w[:, :3, 3] += offset
    moved = Cameras(c2w, cams.fx, cams.fy, cams.cx, cams.cy, cams.width, cams.height)
    cam_file = root / "moved.json"
    cam_file.write_text(json.dumps(transforms_dict(moved, [f.image.name for f in frames])))
    out["moved"] = render_dataset("suzanne", root / "moved", texture="noise", cameras=str(cam_file),
                                  offset=tuple(offset))
    return out


def test_noise_texture_is_drawn_and_keeps_the_masks_exact(renders):
    plain_rgb, plain_masks = _images(renders["plain"])
    rgb, masks = _images(renders["noise"])
    np.testing.assert_array_equal(masks, plain_masks)
    flat, noisy = _object_color_spread(plain_rgb, plain_masks), _object_color_spread(rgb, masks)
    print(f"colour std inside the object: plain {flat:.1f}, noise {noisy:.1f}")
    assert noisy > 8 * flat and noisy > 6  # measured: plain 0.7, noise 12.8 (percent)
    meta = json.loads((renders["noise"] / "dataset.json").read_text())
    assert meta["options"]["texture"] == "noise"


def test_noise_texture_in_cycles(renders):
    rgb, masks = _images(renders["cycles"])
    assert masks.any(axis=(1, 2)).all()
    spread = _object_color_spread(rgb, masks)
    print(f"Cycles colour std inside the object: {spread:.1f}")
    assert spread > 6  # measured 13.0


def test_noise_moves_with_the_object(renders):
    a, ma = _images(renders["noise"])
    b, mb = _images(renders["moved"])
    np.testing.assert_array_equal(ma, mb)
    diff = np.abs(a - b)[ma]
    assert diff.mean() < 1.0 and np.percentile(diff, 99) < 8  # only float rounding differs


def test_unknown_texture_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="unknown texture"):
        render_dataset("suzanne", tmp_path / "x", texture="marble")
    assert not (tmp_path / "x").exists()

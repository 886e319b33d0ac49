"""Differentiable texture refinement (`softfit.texture.refine`) on a real Blender render: the per-pixel UV
z-buffer covers what the depth buffer covers, refinement lowers the photometric error on held-out views
(rendered by Blender from the exported mesh.glb), and seams stay invisible."""


import numpy as np
import pytest
import torch

from softfit.bench.texture import blender_render, masked_psnr, over_black
from softfit.data.load import load_dataset
from softfit.fit.views import split_views
from softfit.mesh.io import load_mesh
from softfit.texture import bake_texture
from softfit.texture.export import save_textured
from softfit.texture.refine import bilinear_taps, refine_texture, render, sample
from softfit.texture.uvraster import rasterize_uv
from softfit.texture.zbuffer import depth_maps

# The painted Suzanne of test_texture_bake (same options: rendered once per session).
DATASET = {"views": 24, "size": 96, "cameras": "rings", "scale": 1.6, "texture": "paint",
           "background": "backdrop", "engine": "workbench"}


@pytest.fixture(scope="module")
def painted(render_dataset_cached):
    folder = render_dataset_cached("suzanne", **DATASET)
    data = load_dataset(folder, image_size=96)
    train, held = split_views(data.cameras, 0.25, 0)
    gt = load_mesh(folder / "gt_mesh.obj")
    return folder, data, train, held, bake_texture(gt, data.subset(train))


@pytest.fixture(scope="module")
def refined(painted):
    _, data, train, _, tex = painted
    return refine_texture(tex, data.subset(train))


def test_uv_raster_covers_what_the_depth_buffer_covers(painted):
    _, data, _, _, tex = painted
    raster = rasterize_uv(tex.uv, data.cameras)
    depth = depth_maps(tex.uv.mesh, data.cameras).reshape(-1)
    covered = torch.isfinite(depth)
    drawn = torch.zeros_like(covered)
    drawn[raster.pixel] = True
    # One entry per pixel, the same pixels (float32 vs float64 corners may flip a pixel on an edge).
    assert len(torch.unique(raster.pixel)) == len(raster.pixel)
    assert (drawn ^ covered).sum() <= 0.001 * covered.sum()
    assert bool((raster.uv >= 0).all() and (raster.uv <= 1).all())


def test_bilinear_taps_match_grid_sample():
    gen = torch.Generator().manual_seed(0)
    tex = torch.rand(5, 7, 3, generator=gen)
    uv = torch.rand(200, 2, generator=gen)
    grid = torch.stack([uv[:, 0] * 2 - 1, 1 - uv[:, 1] * 2], dim=1)[None, None]
    ref = torch.nn.functional.grid_sample(tex.permute(2, 0, 1)[None], grid, mode="bilinear",
                                          padding_mode="border", align_corners=False)[0, :, 0].T
    assert torch.allclose(sample(tex.reshape(-1, 3), bilinear_taps(uv, 7, 5)), ref, atol=1e-6)


def test_refinement_lowers_the_held_out_error(painted, refined, tmp_path):
    folder, data, train, held, tex = painted
    stats = refined.stats["refine"]
    assert stats["loss_after"] < 0.9 * stats["loss_before"]  # training views: measured 0.0210 -> 0.0176
    save_textured(tmp_path / "bake", tex)
    save_textured(tmp_path / "refined", refined)
    glbs = {k: tmp_path / k / "mesh.glb" for k in ("bake", "refined")}
    renders = blender_render(folder, held, glbs, tmp_path)
    masks = data.silhouettes[held] >= 0.5
    psnr = {k: np.mean([masked_psnr(r, p, m) for r, p, m in
                        zip(over_black(renders[k]), data.images[held], masks, strict=True)]) for k in renders}
    # Held-out views, Blender's render of mesh.glb against the true photos. Measured: bake 30.35 dB,
    # refined 30.90 dB; a refinement that did nothing scores the bake's figure, a broken one far less.
    assert psnr["refined"] > psnr["bake"] + 0.2, psnr


def _seam_steps(image: np.ndarray, tex, cameras) -> tuple[float, float]:
    """Median colour step between neighbouring pixels of held-out renders whose faces meet at a UV seam,
    and the same for faces meeting at an ordinary edge."""
    raster = rasterize_uv(tex.uv, cameras)
    shape = (len(cameras), cameras.height, cameras.width)
    img = render(image, raster, shape).astype(float)
    face = torch.full((int(np.prod(shape)),), -1, dtype=torch.int64)
    face[raster.pixel] = raster.face
    face = face.reshape(shape).numpy()
    seams = _seam_face_pairs(tex.uv)
    steps: dict[bool, list[float]] = {True: [], False: []}
    for a, b, da, db in ((face[:, :, :-1], face[:, :, 1:], img[:, :, :-1], img[:, :, 1:]),
                         (face[:, :-1], face[:, 1:], img[:, :-1], img[:, 1:])):
        ok = (a >= 0) & (b >= 0) & (a != b)
        pairs = np.stack([np.minimum(a[ok], b[ok]), np.maximum(a[ok], b[ok])], 1)
        on_seam = np.array([(int(p), int(q)) in seams for p, q in pairs])
        diff = np.abs(da[ok] - db[ok]).max(axis=1)
        steps[True] += list(diff[on_seam])
        steps[False] += list(diff[~on_seam])
    assert len(steps[True]) > 50  # there are seams in view
    return float(np.median(steps[True])), float(np.median(steps[False]))


def test_refinement_keeps_seams_invisible(painted, refined):
    _, data, _, held, tex = painted
    cams = data.subset(held).cameras
    seam_bake, edge_bake = _seam_steps(tex.image, tex, cams)
    seam, edge = _seam_steps(refined.image, tex, cams)
    # Measured (levels of 255): bake 5 across seams, 5 across other edges; refined 6 and 5; refined
    # without the seam term 8 and 5 (a seam line).
    assert seam <= seam_bake + 2 and edge <= edge_bake + 1, (seam_bake, edge_bake, seam, edge)


def _seam_face_pairs(uv) -> set[tuple[int, int]]:
    """Pairs of faces (f, g), f < g, sharing a mesh edge whose UVs differ on the two sides."""
    faces, uvf = uv.mesh.faces, uv.uv_faces
    edges: dict[tuple[int, int], list[tuple[int, tuple[int, int]]]] = {}
    for f in range(len(faces)):
        for k in range(3):
            a, b = int(faces[f, k]), int(faces[f, (k + 1) % 3])
            ua, ub = int(uvf[f, k]), int(uvf[f, (k + 1) % 3])
            key = (a, b) if a < b else (b, a)
            edges.setdefault(key, []).append((f, (ua, ub) if a < b else (ub, ua)))
    out = set()
    for sides in edges.values():
        if len(sides) == 2 and sides[0][1] != sides[1][1]:
            f, g = sides[0][0], sides[1][0]
            out.add((min(f, g), max(f, g)))
    return out

"""Compiled soft silhouette forward against the dense reference, hard coverage against a direct
point-in-triangle test (thread counts: test_raster_threads.py)."""

from __future__ import annotations

import pytest
import torch
from raster_isa import cpu_kernel_isa  # noqa: F401 - autouse: every test runs on each CPU instruction set

from softfit.bench.raster import icosphere, sphere_views
from softfit.raster import dense_silhouette, rasterize_silhouette


def random_mesh(batch: int, nverts: int, nfaces: int, height: int, width: int, seed: int) -> tuple:
    """Random overlapping triangles of all sizes, partly off-image, as (verts (B, V, 3), faces (F, 3))."""
    gen = torch.Generator().manual_seed(seed)
    verts = torch.rand(batch, nverts, 3, generator=gen, dtype=torch.float64)
    verts[..., 0] = verts[..., 0] * (width + 8) - 4
    verts[..., 1] = verts[..., 1] * (height + 8) - 4
    verts[..., 2] += 0.5
    faces = torch.randint(0, nverts, (nfaces, 3), generator=gen)
    return verts, faces


@pytest.mark.parametrize(("height", "width", "sigma"), [(32, 32, 1e-3), (24, 40, 3e-3), (45, 17, 1e-4)])
def test_random_meshes_match_reference(height: int, width: int, sigma: float) -> None:
    verts, faces = random_mesh(3, 40, 60, height, width, seed=height)
    verts = verts.float()
    got = rasterize_silhouette(verts, faces, (height, width), sigma=sigma)
    ref = dense_silhouette(verts, faces, (height, width), sigma=sigma)
    assert got.shape == (3, height, width) and got.dtype == torch.float32
    assert (got - ref).abs().max().item() <= 1e-5
    assert 0.05 < got.mean().item() < 0.99  # the test is not vacuous


def test_sphere_views_match_reference() -> None:
    unit, faces = icosphere(2)
    verts = sphere_views(unit, 3, 48, 64).float()
    got = rasterize_silhouette(verts, faces, (48, 64))
    ref = dense_silhouette(verts, faces, (48, 64))
    assert (got - ref).abs().max().item() <= 1e-5
    hard = rasterize_silhouette(verts, faces, (48, 64), hard=True)
    assert ((got > 0.5) == (hard > 0.5)).float().mean() > 0.97  # soft edges blur a pixel


def test_padded_per_mesh_faces_match_reference() -> None:
    verts, faces = random_mesh(2, 30, 40, 36, 28, seed=7)
    per_mesh = torch.full((2, 40, 3), -1, dtype=torch.int32)
    per_mesh[0, :25] = faces[:25].int()
    per_mesh[1, :40] = faces.int()
    got = rasterize_silhouette(verts.float(), per_mesh, (36, 28), sigma=2e-3)
    ref = dense_silhouette(verts.float(), per_mesh, (36, 28), sigma=2e-3)
    assert (got - ref).abs().max().item() <= 1e-5
    only_first = rasterize_silhouette(verts[:1].float(), faces[:25], (36, 28), sigma=2e-3)
    assert torch.equal(got[:1], only_first)


def test_float64_matches_reference_tightly() -> None:
    verts, faces = random_mesh(1, 30, 30, 20, 26, seed=3)
    got = rasterize_silhouette(verts, faces, (20, 26), sigma=5e-3)
    ref = dense_silhouette(verts, faces, (20, 26), sigma=5e-3)
    assert got.dtype == torch.float64
    assert (got - ref).abs().max().item() <= 1e-12


def test_eps_cutoff_radius_in_pixels() -> None:
    """σ is NDC² over the longer side: at 256² σ = 1e-4 is 1.6384 px², r ≈ 3.4 px."""
    v = torch.tensor([[[100.0, 100.0, 1.0], [160.0, 100.0, 1.0], [100.0, 160.0, 1.0]]])
    f = torch.tensor([[0, 1, 2]])
    alpha = rasterize_silhouette(v, f, (256, 256), sigma=1e-4, eps=1e-3)
    row = alpha[0, 130, :100]  # pixels left of the edge x = 100: distance 100 - (col + 0.5)
    assert row[97].item() > 1e-3 and row[96].item() == 0.0  # d = 2.5 px kept, d = 3.5 px beyond r
    assert abs(alpha[0, 130, 99].item() - torch.sigmoid(torch.tensor(-0.25 / 1.6384)).item()) < 1e-6


def test_hard_matches_point_in_triangle() -> None:
    verts, faces = random_mesh(2, 20, 15, 30, 22, seed=11)
    got = rasterize_silhouette(verts.float(), faces, (30, 22), hard=True)
    ys, xs = torch.meshgrid(torch.arange(30) + 0.5, torch.arange(22) + 0.5, indexing="ij")
    expected = torch.zeros(2, 30, 22)
    for b in range(2):
        for tri in verts.float()[b][faces]:
            (x0, y0), (x1, y1), (x2, y2) = tri[:, 0:2].tolist()
            e0 = (x1 - x0) * (ys - y0) - (y1 - y0) * (xs - x0)
            e1 = (x2 - x1) * (ys - y1) - (y2 - y1) * (xs - x1)
            e2 = (x0 - x2) * (ys - y2) - (y0 - y2) * (xs - x2)
            inside = ((e0 > 0) & (e1 > 0) & (e2 > 0)) | ((e0 < 0) & (e1 < 0) & (e2 < 0))
            expected[b][inside] = 1.0
    assert torch.equal(got, expected)
    assert not got.requires_grad
    assert torch.equal(got, dense_silhouette(verts.float(), faces, (30, 22), hard=True))


def test_every_pair_within_the_cutoff_is_visited() -> None:
    """The kernels visit only the pixels in each face's cut-off box, in chunks of a tile's row: faces
    with exactly vertical and horizontal edges, slivers, needles, zero-length edges and point faces, at
    pixel-centre-aligned and fractional positions, must still match the dense reference (which visits
    every pair)."""
    gen = torch.Generator().manual_seed(11)
    tris = [
        [(4.5, 4.5), (4.5, 14.5), (14.5, 4.5)],  # axis-aligned right triangle on pixel centres
        [(20.0, 3.0), (20.0, 3.0), (20.0, 3.0)],  # a point
        [(3.0, 20.0), (12.0, 20.0), (12.0, 20.0)],  # a horizontal segment (zero-length edge)
        [(25.3, 10.0), (25.3, 28.0), (25.31, 19.0)],  # a vertical needle
        [(2.0, 27.0), (16.0, 27.3), (30.0, 27.6)],  # a sliver along a row
    ]
    for _ in range(6):
        a = torch.rand(2, generator=gen) * 32
        tris.append([tuple(a.tolist()), tuple((a + torch.randn(2, generator=gen) * 3).tolist()),
                     tuple((a + torch.randn(2, generator=gen) * 0.5).tolist())])
    xy = torch.tensor(tris, dtype=torch.float64).reshape(-1, 2)
    verts = torch.cat([xy, torch.ones(len(xy), 1, dtype=torch.float64)], dim=1)[None]
    faces = torch.arange(len(xy)).reshape(-1, 3)
    for sigma in (1e-4, 2e-3, 2e-2):
        got = rasterize_silhouette(verts, faces, (32, 32), sigma=sigma)
        ref = dense_silhouette(verts, faces, (32, 32), sigma=sigma)
        assert (got - ref).abs().max().item() <= 1e-12
        assert (got > 1e-3).sum() > 50  # not vacuous
        hard = rasterize_silhouette(verts, faces, (32, 32), hard=True)
        assert torch.equal(hard, dense_silhouette(verts, faces, (32, 32), hard=True))

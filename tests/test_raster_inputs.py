"""Malformed and awkward inputs: clear ValueErrors, or finite output and gradients (never NaN)."""

from __future__ import annotations

import pytest
import torch

from softfit.raster import dense_silhouette, rasterize_silhouette

OPS = [rasterize_silhouette, dense_silhouette]


def tri(*xyz: tuple[float, float, float], dtype: torch.dtype = torch.float64) -> torch.Tensor:
    return torch.tensor([list(xyz)], dtype=dtype)


def finite_with_grad(op, verts: torch.Tensor, faces: torch.Tensor, size=(16, 16), **kw) -> torch.Tensor:
    v = verts.detach().clone().requires_grad_(True)
    alpha = op(v, faces, size, **kw)
    alpha.sum().backward()
    assert torch.isfinite(alpha).all() and torch.isfinite(v.grad).all()
    return alpha.detach()


@pytest.mark.parametrize("op", OPS)
def test_degenerate_triangles_are_finite_and_agree(op) -> None:
    faces = torch.tensor([[0, 1, 2], [3, 4, 5], [6, 7, 8]])
    # fmt: off
    verts = tri(
        (4, 4, 1), (12, 12, 1), (8, 8, 1),  # collinear: a segment
        (8, 3, 1), (8, 3, 1), (8, 3, 1),  # all at one point
        (2, 12, 1), (2, 12, 1), (9, 14, 1),  # two equal vertices
    )
    # fmt: on
    alpha = finite_with_grad(op, verts, faces, sigma=2e-2)
    assert alpha.max() <= 0.5 + 1e-12  # nothing is inside a zero-area face
    assert finite_with_grad(op, verts, faces, sigma=2e-2, hard=False).sum() > 0
    hard = op(verts, faces, (16, 16), hard=True)
    assert hard.sum() == 0
    other = OPS[1] if op is OPS[0] else OPS[0]
    assert torch.allclose(alpha, other(verts, faces, (16, 16), sigma=2e-2), atol=1e-12)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("depth", [0.0, -1.0, 1e-4])
def test_faces_at_or_behind_near_plane_are_skipped(op, depth: float) -> None:
    verts = tri((2, 2, 1), (14, 3, 1), (5, 14, depth), (2, 2, 1), (14, 3, 1), (8, 14, 2))
    faces = torch.tensor([[0, 1, 2]])
    alpha = finite_with_grad(op, verts, faces)
    assert alpha.abs().max() == 0
    kept = finite_with_grad(op, verts, torch.tensor([[0, 1, 2], [3, 4, 5]]))
    assert kept.max() > 0.99


@pytest.mark.parametrize("op", OPS)
def test_huge_and_offscreen_coordinates_are_finite(op) -> None:
    verts = tri((-1e7, -1e7, 1), (1e7, -5e6, 1), (0, 1e7, 1), (-50, -50, 1), (-40, -50, 1), (-45, -40, 1))
    faces = torch.tensor([[0, 1, 2], [3, 4, 5]])
    alpha = finite_with_grad(op, verts, faces)
    assert alpha.min() > 0.99  # the huge face covers the image, the other is far off-screen


@pytest.mark.parametrize("op", OPS)
def test_empty_meshes_give_zeros(op) -> None:
    verts = torch.rand(2, 4, 3, requires_grad=True)
    alpha = op(verts, torch.zeros(0, 3, dtype=torch.int64), (5, 7))
    assert alpha.shape == (2, 5, 7) and alpha.abs().sum() == 0
    alpha.sum().backward()
    assert verts.grad is not None and verts.grad.abs().sum() == 0
    assert op(torch.zeros(1, 0, 3), torch.full((3, 3), -1), (4, 4)).abs().sum() == 0
    assert op(torch.zeros(0, 3, 3), torch.zeros(1, 3, dtype=torch.int64), (4, 4)).shape == (0, 4, 4)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"verts": torch.rand(4, 3)}, "verts must be"),
        ({"verts": torch.rand(1, 4, 2)}, "verts must be"),
        ({"verts": torch.rand(1, 4, 3).half()}, "float32 or float64"),
        ({"verts": torch.randint(0, 5, (1, 4, 3))}, "float32 or float64"),
        ({"faces": torch.tensor([[0.0, 1.0, 2.0]])}, "integer"),
        ({"faces": torch.tensor([0, 1, 2])}, "faces must be"),
        ({"faces": torch.tensor([[0, 1, 4]])}, "out of range"),
        ({"faces": torch.tensor([[0, -2, 1]])}, "< -1"),
        ({"faces": torch.tensor([[0, -1, 1]])}, "mixed row"),
        ({"faces": torch.zeros(3, 2, 3, dtype=torch.int64)}, "faces batch"),
        ({"image_size": (0, 4)}, "positive"),
        ({"image_size": (4, -2)}, "positive"),
        ({"image_size": (4.0, 4)}, "two ints"),
        ({"sigma": 0.0}, "sigma must be positive"),
        ({"sigma": -1e-4}, "sigma must be positive"),
        ({"sigma": float("nan")}, "sigma must be finite"),
        ({"eps": 0.0}, "eps"),
        ({"eps": 0.5}, "eps"),
        ({"near": float("inf")}, "near"),
    ],
)
def test_bad_inputs_raise_value_error(op, kwargs: dict, message: str) -> None:
    args = {
        "verts": torch.rand(1, 4, 3),
        "faces": torch.tensor([[0, 1, 2]]),
        "image_size": (4, 4),
        "sigma": 1e-4,
        "eps": 1e-3,
        "near": 1e-4,
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        op(**args)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_vertices_raise(op, bad: float) -> None:
    verts = torch.rand(1, 4, 3)
    verts[0, 2, 1] = bad
    with pytest.raises(ValueError, match="NaN or Inf"):
        op(verts, torch.tensor([[0, 1, 2]]), (4, 4))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.gpu
def test_mixed_devices_raise() -> None:
    with pytest.raises(ValueError, match="same device"):
        rasterize_silhouette(torch.rand(1, 4, 3), torch.tensor([[0, 1, 2]]).cuda(), (4, 4))


def test_meta_device_mismatch_raises_without_gpu() -> None:
    with pytest.raises(ValueError, match="same device"):
        rasterize_silhouette(torch.rand(1, 4, 3), torch.tensor([[0, 1, 2]], device="meta"), (4, 4))

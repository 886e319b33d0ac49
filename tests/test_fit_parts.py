"""The fit's building blocks without the rasteriser: parameters, Large Steps, uniform Adam, view split."""

import json

import numpy as np
import pytest
import torch
from cholespy import CholeskySolverD

from softfit.cameras import turntable
from softfit.errors import InputError
from softfit.fit import FitParams
from softfit.fit.optim import Adam
from softfit.fit.parameterization import LargeSteps, RawVertices, combinatorial_laplacian
from softfit.fit.views import (
    azimuth_gap,
    coverage_warnings,
    holdout_count,
    look_center,
    render_size,
    split_views,
)
from softfit.mesh.sphere import uv_sphere

# -- parameters -------------------------------------------------------------------------------------


def test_params_round_trip_through_json():
    p = FitParams(iterations=7, betas=(0.5, 0.9), resolutions=[[0, 32], [0.5, 0]], sigma=[1e-3, 1e-4])
    d = json.loads(json.dumps(p.to_dict()))
    assert FitParams.from_dict(d) == p
    assert FitParams.from_dict(FitParams().to_dict()) == FitParams()


@pytest.mark.parametrize("bad, word", [
    ({"nope": 1}, "unknown"),
    ({"lr": -1}, "lr"),
    ({"lr": float("nan")}, "lr"),
    ({"iterations": 1.5}, "iterations"),
    ({"iterations": "10"}, "iterations"),
    ({"betas": [1.0, 0.9]}, "betas"),
    ({"betas": [0.9]}, "betas"),
    ({"holdout": 1.0}, "holdout"),
    ({"views_per_step": 0}, "views_per_step"),
    ({"optimizer": "sgd"}, "optimizer"),
    ({"device": "tpu"}, "device"),
    ({"sigma": [0, 1e-4]}, "sigma"),
    ({"resolutions": [[0.2, 64]]}, "resolutions"),
    ({"resolutions": [[0, 64], [0.5, 4]]}, "resolutions"),
    ({"resolutions": [[0, 64], [0.5, 32], [0.4, 0]]}, "resolutions"),
    ({"w_edge": -0.1}, "weights"),
])
def test_bad_params_are_input_errors_naming_the_field(bad, word):
    with pytest.raises(InputError, match=word):
        FitParams.from_dict(bad)


def test_schedules():
    p = FitParams(iterations=100, resolutions=[[0, 64], [0.3, 128], [0.8, 0]], sigma=[1e-3, 1e-5],
                  sigma_anneal=0.7, lr=0.1, lr_decay=0.01)
    assert [p.resolution_at(i) for i in (0, 29, 30, 79, 80, 99)] == [64, 64, 128, 128, 0, 0]
    assert p.final_stage_start() == 80 and p.plateau_start() == 80
    assert p.sigma_at(0) == pytest.approx(1e-3)
    assert p.sigma_at(35) == pytest.approx(1e-4)  # geometric: half-way in log space
    assert p.sigma_at(70) == pytest.approx(1e-5) and p.sigma_at(99) == pytest.approx(1e-5)
    assert p.lr_at(0) == pytest.approx(0.1) and p.lr_at(99) == pytest.approx(1e-3)
    one = FitParams(iterations=100, resolutions=[[0, 0]], sigma_anneal=0.5)
    assert one.plateau_start() == 50


# -- Large Steps ------------------------------------------------------------------------------------


def _sphere_tensor(polys=200):
    s = uv_sphere(polys, 1.0)
    return s, torch.tensor(s.verts, dtype=torch.float64)


def test_large_steps_starts_at_the_mesh_and_filters_gradients():
    s, v = _sphere_tensor()
    lam = 5.0
    ls = LargeSteps(v, s.faces, lam)
    assert torch.allclose(ls.verts(), v, atol=1e-10)
    # d loss / d u = M⁻¹ d loss / d x with M = I + λL.
    g = torch.randn_like(v, generator=torch.Generator().manual_seed(0))
    (ls.verts() * g).sum().backward()
    m = (np.eye(len(v)) + lam * combinatorial_laplacian(len(v), s.faces).toarray())
    assert np.allclose(ls.u.grad.numpy(), np.linalg.solve(m, g.numpy()), atol=1e-10)
    # The filtered gradient is smoother: its Laplacian energy is far lower than the raw gradient's.
    lap = combinatorial_laplacian(len(v), s.faces)
    rough = lambda a: float((a * (lap @ a)).sum() / (a * a).sum())  # noqa: E731
    assert rough(ls.u.grad.numpy()) < 0.2 * rough(g.numpy())


@pytest.mark.parametrize("kind", ["largesteps", "vertices"])
def test_pinned_vertices_never_move(kind):
    s, v = _sphere_tensor()
    pinned = np.array([0, 5, 17, len(v) - 1])
    p = LargeSteps(v, s.faces, 10.0, pinned) if kind == "largesteps" else RawVertices(v, pinned)
    opt = torch.optim.Adam(p.parameters(), lr=0.05)
    gen = torch.Generator().manual_seed(1)
    for _ in range(5):
        x = p.verts()
        (x * torch.randn(x.shape, generator=gen, dtype=x.dtype)).sum().backward()
        opt.step()
        opt.zero_grad()
        p.after_step()
    x = p.verts().detach()
    assert torch.equal(x[pinned], v[pinned])
    free = np.setdiff1d(np.arange(len(v)), pinned)
    assert (x[free] - v[free]).norm(dim=1).min() > 0  # everything else moved


def test_large_steps_solves_with_a_sparse_cholesky_on_the_vertices_device():
    # A guard that the factorisation stays sparse and on the device (a dense or host solve would not scale
    # to 100k vertices, nor keep a GPU fit on the GPU).
    s, v = _sphere_tensor()
    ls = LargeSteps(v, s.faces, 1.0)
    assert isinstance(ls._chol, CholeskySolverD)
    b = torch.randn(len(v), 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    m = np.eye(len(v)) + combinatorial_laplacian(len(v), s.faces).toarray()
    assert ls.solve(b).device == v.device
    assert np.allclose(m @ ls.solve(b).numpy(), b.numpy(), atol=1e-10)


def test_adam_uniform_first_step_is_lr_along_the_largest_entry():
    x = torch.nn.Parameter(torch.zeros(4, 3))
    opt = Adam([x], lr=0.1, betas=(0.9, 0.99), uniform=True)
    g = torch.tensor([[1.0, -2.0, 0.5]] * 4)
    x.grad = g.clone()
    opt.step()
    # bias-corrected m = g, v = g², uniform denominator = max |g| = 2: step = lr * g / 2
    assert torch.allclose(x.detach(), -0.1 * g / 2, atol=1e-6)


def test_adam_matches_torch_adam():
    gen = torch.Generator().manual_seed(0)
    x0 = torch.randn(10, 3, generator=gen)
    a, b = torch.nn.Parameter(x0.clone()), torch.nn.Parameter(x0.clone())
    ours, ref = Adam([a], lr=0.05, betas=(0.8, 0.95)), torch.optim.Adam([b], lr=0.05, betas=(0.8, 0.95))
    for _ in range(6):
        g = torch.randn(10, 3, generator=gen)
        a.grad, b.grad = g.clone(), g.clone()
        ours.step()
        ref.step()
    assert torch.allclose(a, b, atol=1e-6)


# -- views ------------------------------------------------------------------------------------------


def test_holdout_count_rules():
    assert holdout_count(72, 0.1) == 7
    assert holdout_count(5, 0.1) == 1  # at least one held-out view from 5 views on
    assert holdout_count(4, 0.1) == 0
    assert holdout_count(10, 0.0) == 0
    assert holdout_count(2, 0.9) == 1  # always leaves a training view


def test_coverage_warnings_name_few_views_and_an_unseen_side():
    """A fit to 2 views (or to a half orbit) matched them at IoU 0.98 and said nothing: their silhouettes
    fit many shapes. Full orbits of 8 training views or more say nothing."""
    ring = turntable(np.arange(8) * 45.0, elevation_deg=20.0)
    assert azimuth_gap(ring) == pytest.approx(45.0)
    assert coverage_warnings(ring, np.arange(8), np.zeros(0, int)) == []
    half = turntable(np.arange(12) * 15.0, elevation_deg=30.0)  # 0..165 degrees
    assert azimuth_gap(half) == pytest.approx(195.0, abs=1.0)
    (w,) = coverage_warnings(half, np.arange(12), np.zeros(0, int))
    assert "195 degrees" in w and "add photos" in w
    two = coverage_warnings(ring, np.array([0, 2]), np.zeros(0, int))
    assert "only 2 view(s)" in two[0] and "no view could be held out" in two[0] and "270 degrees" in two[1]
    seven = coverage_warnings(ring, np.arange(7), np.array([7]))  # 7 training views, one held out
    assert seven == ["only 7 view(s) constrain the shape (1 more held out to check it): between them it is "
                     "loosely held (the silhouettes of so few views fit many shapes, so their IoU flatters); "
                     "photograph the object from 12 or more directions around it"]
    top = turntable([0.0, 90.0, 180.0, 270.0, 45.0, 135.0], elevation_deg=89.9)  # nearly straight above
    assert azimuth_gap(top) is None


def test_split_is_seeded_spread_and_disjoint():
    cams = turntable(np.arange(72) * 5.0, elevation_deg=20.0)
    assert np.allclose(look_center(cams), 0, atol=1e-9)
    train, held = split_views(cams, 0.1, seed=3)
    assert len(held) == 7 and len(train) == 65 and not set(train) & set(held)
    assert np.array_equal(held, split_views(cams, 0.1, seed=3)[1])
    assert not np.array_equal(held, split_views(cams, 0.1, seed=4)[1])
    az = np.sort(held * 5.0)
    gaps = np.diff(np.concatenate([az, [az[0] + 360]]))
    assert gaps.min() >= 40  # 7 views on a circle: evenly spread would be 51° apart


def test_render_size_keeps_aspect():
    assert render_size(384, 288, 128) == (128, 96)
    assert render_size(384, 288, 0) == (384, 288)
    assert render_size(256, 256, 512) == (256, 256)


def test_view_weights_scale_each_views_pull():
    """A weighted mean over views: a zero-weight view adds nothing, equal weights are the plain mean."""
    from softfit.fit.losses import silhouette_loss

    alpha = torch.rand(3, 8, 8, requires_grad=True)
    target = (torch.rand(3, 8, 8) > 0.5).float()
    plain, ious = silhouette_loss(alpha, target)
    same, _ = silhouette_loss(alpha, target, torch.full((3,), 0.3))
    assert torch.allclose(plain, same)
    only01, _ = silhouette_loss(alpha, target, torch.tensor([1.0, 1.0, 0.0]))
    assert torch.allclose(only01, (1 - ious[:2]).mean())
    only01.backward()
    assert alpha.grad[2].abs().max() == 0 and alpha.grad[:2].abs().max() > 0


def test_view_weights_are_validated_and_follow_subsets():
    from softfit.data.types import MultiViewData

    cams = turntable([0.0, 90.0, 180.0], width=8, height=8)
    sil = np.zeros((3, 8, 8), np.float32)
    data = MultiViewData(sil, cams, ["a", "b", "c"], view_weights=[1.0, 0.25, 1.0])
    assert data.subset([1, 2]).view_weights.tolist() == [0.25, 1.0]
    for bad in ([1.0, 1.0], [1.0, -1.0, 1.0], [0.0, 0.0, 0.0], [1.0, float("nan"), 1.0]):
        with pytest.raises(InputError, match="view_weights"):
            MultiViewData(sil, cams, ["a", "b", "c"], view_weights=bad)

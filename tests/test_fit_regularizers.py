"""Regularisers: values on meshes whose answer is known by hand, and gradients against finite differences."""

import numpy as np
import pytest
import torch

from softfit.fit.regularizers import (
    Topology,
    cotangent_laplacian,
    edge_lengths,
    edge_loss,
    flatten_loss,
    laplacian_loss,
    normal_consistency_loss,
    regularizer_terms,
    uniform_laplacian,
)
from softfit.mesh.sphere import uv_sphere

OCTA_V = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], dtype=np.float64)
OCTA_F = np.array([[0, 2, 4], [2, 1, 4], [1, 3, 4], [3, 0, 4], [2, 0, 5], [1, 2, 5], [3, 1, 5], [0, 3, 5]])


def topo_of(v, f):
    return Topology.build(np.asarray(v), np.asarray(f))


def test_topology_counts_on_a_closed_mesh():
    t = topo_of(OCTA_V, OCTA_F)
    assert len(t.edges) == 12 and len(t.edge_faces) == 12  # every edge of a closed mesh is interior
    assert t.ref_length == pytest.approx(np.sqrt(2))
    # The opposite vertices of an edge are not on it.
    for (a, b), (p, q) in zip(t.edge_pairs.tolist(), t.opposite.tolist(), strict=True):
        assert {p, q}.isdisjoint({a, b})


@pytest.mark.parametrize("fn", [uniform_laplacian, cotangent_laplacian])
def test_laplacian_of_an_octahedron_vertex_points_to_the_centre(fn):
    # Vertex (1,0,0) has the four neighbours (0,±1,0), (0,0,±1) whose mean is the origin, and all its
    # cotangent weights are equal by symmetry: δ = x − 0 = (1, 0, 0) for every vertex.
    v = torch.tensor(OCTA_V)
    delta = fn(v, topo_of(OCTA_V, OCTA_F))
    assert torch.allclose(delta, v, atol=1e-12)


def test_laplacian_of_a_sphere_vertex():
    s = uv_sphere(500, radius=2.0)
    delta = uniform_laplacian(torch.tensor(s.verts), topo_of(s.verts, s.faces)).numpy()
    neighbours = {i: set() for i in range(len(s.verts))}
    for a, b, c in s.faces.tolist():
        neighbours[a] |= {b, c}
        neighbours[b] |= {a, c}
        neighbours[c] |= {a, b}
    for i in (0, 7, 130, len(s.verts) - 1):
        expect = s.verts[i] - s.verts[sorted(neighbours[i])].mean(0)
        assert np.allclose(delta[i], expect, atol=1e-12)
    # On the equator (symmetric neighbours above and below) it points exactly outwards.
    eq = np.abs(s.verts[:, 2]) < 1e-9
    assert eq.any()
    d, v = delta[eq], s.verts[eq]
    cos = (d * v).sum(1) / (np.linalg.norm(d, axis=1) * np.linalg.norm(v, axis=1))
    assert cos.min() > 1 - 1e-9


def test_laplacian_loss_is_zero_for_a_flat_fan_and_scale_free():
    # A regular hexagon fan: the centre's Laplacian is zero; the rim has no full ring, so use the centre.
    ang = np.arange(6) * np.pi / 3
    v = np.concatenate([[[0, 0, 0]], np.stack([np.cos(ang), np.sin(ang), 0 * ang], 1)])
    f = np.array([[0, 1 + k, 1 + (k + 1) % 6] for k in range(6)])
    delta = uniform_laplacian(torch.tensor(v), topo_of(v, f))
    assert torch.allclose(delta[0], torch.zeros(3, dtype=torch.float64))
    # The same shape 10 times larger gives the same (scale-free) loss.
    a = laplacian_loss(torch.tensor(v), topo_of(v, f))
    b = laplacian_loss(torch.tensor(10 * v), topo_of(10 * v, f))
    assert float(a) == pytest.approx(float(b))


def test_edge_length_of_a_known_triangle():
    v = np.array([[0, 0, 0], [3, 0, 0], [0, 4, 0]], dtype=np.float64)
    t = topo_of(v, [[0, 1, 2]])
    lengths = sorted(edge_lengths(torch.tensor(v), t).tolist())
    assert lengths == pytest.approx([3, 4, 5])
    # Mean length 4: ((3/4 − 1)² + 0 + (5/4 − 1)²) / 3 = 1/24.
    assert float(edge_loss(torch.tensor(v), t)) == pytest.approx(1 / 24)
    equilateral = np.array([[0, 0, 0], [1, 0, 0], [0.5, np.sqrt(3) / 2, 0]])
    assert float(edge_loss(torch.tensor(equilateral), topo_of(equilateral, [[0, 1, 2]]))) == pytest.approx(0)


def _hinge(angle_deg):
    """Two triangles sharing the edge (0,0,0)-(1,0,0), the second folded by `angle_deg` out of the plane."""
    a = np.radians(angle_deg)
    v = np.array([[0, 0, 0], [1, 0, 0], [0.5, 1, 0], [0.5, -np.cos(a), np.sin(a)]])
    return v, np.array([[0, 1, 2], [1, 0, 3]])


@pytest.mark.parametrize("angle, normal, flat", [(0, 0.0, 0.0), (90, 1.0, 1.0)])
def test_normal_consistency_and_flatten_on_a_hinge(angle, normal, flat):
    v, f = _hinge(angle)
    t = topo_of(v, f)
    assert float(normal_consistency_loss(torch.tensor(v), t)) == pytest.approx(normal, abs=1e-9)
    assert float(flatten_loss(torch.tensor(v), t)) == pytest.approx(flat, abs=1e-9)


def _noisy_sphere():
    rng = np.random.default_rng(0)
    s = uv_sphere(60, 1.0)
    v0 = s.verts + 0.05 * rng.standard_normal(s.verts.shape)
    return v0, topo_of(v0, s.faces)


@pytest.mark.parametrize("name", ["laplacian", "edge", "normal", "flatten"])
def test_gradients_match_finite_differences(name):
    v0, t = _noisy_sphere()
    x = torch.tensor(v0, requires_grad=True)
    mean = float(edge_lengths(x, t).mean().detach())
    fns = {
        "laplacian": lambda y: laplacian_loss(y, t),
        # edge_loss treats the mean length as a target (detached): freeze it for the comparison
        "edge": lambda y: ((edge_lengths(y, t) / mean - 1.0) ** 2).mean(),
        "normal": lambda y: normal_consistency_loss(y, t),
        "flatten": lambda y: flatten_loss(y, t),
    }
    assert torch.autograd.gradcheck(fns[name], (x,), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("name", ["laplacian_cot", "edge", "normal", "flatten"])
def test_a_small_gradient_step_lowers_each_term(name):
    v0, t = _noisy_sphere()
    fns = {
        "laplacian_cot": lambda y: laplacian_loss(y, t, "cotangent"),
        "edge": lambda y: edge_loss(y, t),
        "normal": lambda y: normal_consistency_loss(y, t),
        "flatten": lambda y: flatten_loss(y, t),
    }
    x = torch.tensor(v0, requires_grad=True)
    before = fns[name](x)
    (g,) = torch.autograd.grad(before, x)
    assert torch.isfinite(g).all()
    after = fns[name]((x - 1e-3 * g / g.norm()).detach())
    assert float(after) < float(before.detach())


def test_regularizer_terms_only_weighted_ones():
    s = uv_sphere(60)
    t = topo_of(s.verts, s.faces)
    terms = regularizer_terms(torch.tensor(s.verts), t, {"laplacian": 1.0, "edge": 0.0, "flatten": 0.1})
    assert sorted(terms) == ["flatten", "laplacian"]

"""Dataset options, camera layouts, the PNG writer and the built-in meshes: everything that runs without
Blender (the render tests are in test_dataset_render.py)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from softfit.cameras import aloi_turntable, from_softras, turntable
from softfit.dataset import render_dataset
from softfit.dataset.options import RenderOptions, parse_size
from softfit.dataset.png import encode_png
from softfit.dataset.primitives import NUMPY_BUILTINS, normalized
from softfit.dataset.views import orbit, view_set
from softfit.errors import InputError


def opts(**kw) -> RenderOptions:
    return RenderOptions.from_dict({"sources": "suzanne", **kw})


def test_layout_defaults():
    t = opts()
    assert (t.views, t.size, t.elevation, t.background, t.engine) == (36, (256, 256), (30.0,), "transparent",
                                                                       "workbench")
    a = opts(layout="aloi")
    assert (a.views, a.size, a.elevation, a.background) == (72, (384, 288), (0.0,), "black")
    s = opts(layout="softras")
    assert (s.views, s.size, s.background) == (120, (64, 64), "transparent")
    assert opts(layout="softras", npz=True).views == 24
    assert opts(background="backdrop").engine == "cycles"  # Workbench draws no shadows headless
    assert opts(background="backdrop", engine="workbench").engine == "workbench"


def test_options_round_trip_through_dict():
    o = opts(size="192x128", offset="0.1,-0.2,0.3", cameras="rings", elevation="0,20,40", views=9)
    assert o.size == (192, 128) and o.offset == (0.1, -0.2, 0.3) and o.elevation == (0.0, 20.0, 40.0)
    assert RenderOptions.from_dict(o.to_dict()) == o


@pytest.mark.parametrize("kw,message", [
    (dict(layout="nerf"), "unknown layout"),
    (dict(size="12x"), "image size"),
    (dict(size="0x10"), "image size"),
    (dict(views=0), "views"),
    (dict(offset="1,2"), "offset needs 3"),
    (dict(offset="a,b,c"), "offset must be"),
    (dict(scale=-1.0), "scale"),
    (dict(fov=180.0), "fov"),
    (dict(background="green"), "unknown background"),
    (dict(engine="eevee"), "unknown engine"),
    (dict(cameras="sphere"), "transforms.json"),
    (dict(elevation="10,20"), "turntable cameras take one elevation"),
    (dict(cameras="random", elevation="50,10"), "MIN,MAX"),
    (dict(elevation=95), "[-90, 90]"),
    (dict(background="backdrop", elevation=-10), "floor"),
    (dict(layout="aloi", views=7), "divide 360"),
    (dict(layout="aloi", elevation=10), "elevation 0"),
    (dict(layout="softras", size="64x32"), "square"),
    (dict(layout="softras", fov=40.0), "field of view"),
    (dict(layout="softras", npz=True, views=12), "24 views"),
    (dict(npz=True), "only for --layout softras"),
    (dict(name="a/b"), "name"),
    (dict(finish="gloss"), "unknown finish"),
    (dict(plates=True), "plates"),
    (dict(plates=True, background="backdrop", layout="aloi", views=4, elevation=0), "plates"),
    (dict(colour="red"), "unknown dataset option"),
])
def test_bad_options_name_the_problem(kw, message):
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")):
        opts(**kw)


def test_bad_sources(tmp_path):
    with pytest.raises(InputError, match="neither a built-in"):
        RenderOptions.from_dict({"sources": "teapot"})
    with pytest.raises(InputError, match="not found"):
        RenderOptions.from_dict({"sources": str(tmp_path / "missing.obj")})
    with pytest.raises(InputError, match="several sources"):
        RenderOptions.from_dict({"sources": ["cube", "torus"]})
    npz = RenderOptions.from_dict({"sources": ["cube", "torus"], "layout": "softras", "npz": True})
    assert npz.views == 24


def test_parse_size():
    assert parse_size("256") == (256, 256)
    assert parse_size(" 384 x 288 ") == (384, 288)
    assert parse_size(64) == (64, 64)
    assert parse_size((3, 4)) == (3, 4)


def test_aloi_cameras_are_aloi_turntable():
    vs = view_set(opts(layout="aloi"))
    ref = aloi_turntable()
    np.testing.assert_allclose(vs.cameras.c2w, ref.c2w, atol=1e-12)
    np.testing.assert_allclose(vs.cameras.intrinsics, ref.intrinsics)
    assert vs.names[:3] == ["suzanne_r0", "suzanne_r5", "suzanne_r10"] and vs.names[-1] == "suzanne_r355"


def test_softras_rows_describe_the_same_poses_as_our_turntable():
    """camera.npy holds SoftRas' azimuth (180° - ours); from_softras must give back our turntable poses."""
    o = opts(layout="softras", views=12, cameras="rings", elevation="-10,35")
    vs = view_set(o)
    el, az = orbit(o)
    ours = turntable(az, o.distance, el, 30.0, 64, 64)  # SoftRas renders its data at viewing_angle 15
    np.testing.assert_allclose(vs.cameras.c2w, ours.c2w, atol=1e-9)
    np.testing.assert_allclose(vs.cameras.intrinsics, ours.intrinsics, atol=1e-9)
    np.testing.assert_allclose(from_softras(vs.softras_rows, 64).c2w, vs.cameras.c2w)


def test_rings_share_views_and_stagger():
    el, az = orbit(opts(cameras="rings", elevation="0,30,60", views=8))
    assert sorted(el.tolist()) == [0.0] * 3 + [30.0] * 3 + [60.0] * 2
    np.testing.assert_allclose(az[el == 30.0], [60.0, 180.0, 300.0])  # second ring turned half a step
    np.testing.assert_allclose(az[el == 0.0], [0.0, 120.0, 240.0])


def test_random_cameras_are_seeded_and_cover_the_sphere_uniformly():
    el1, az1 = orbit(opts(cameras="random", views=4000, seed=1))
    el2, az2 = orbit(opts(cameras="random", views=4000, seed=1))
    el3, _ = orbit(opts(cameras="random", views=4000, seed=2))
    assert np.array_equal(el1, el2) and np.array_equal(az1, az2) and not np.array_equal(el1, el3)
    # Uniform on the sphere: sin(elevation) uniform in [-1, 1], so a quarter of views above 30°.
    assert abs((el1 > 30).mean() - 0.25) < 0.03 and abs(el1.mean()) < 3
    el4, _ = orbit(opts(cameras="random", views=500, elevation="10,40"))
    assert el4.min() >= 10 and el4.max() <= 40


@pytest.mark.parametrize("shape", [(5, 7), (6, 3, 3), (9, 11, 4), (1, 1)])
def test_png_writer_round_trips_through_pillow(shape):
    a = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    back = np.asarray(Image.open(io.BytesIO(encode_png(a))))
    assert np.array_equal(back, a)


def _signed_volume(v, f):
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    return np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6


@pytest.mark.parametrize("name", sorted(NUMPY_BUILTINS))
def test_numpy_builtins_are_consistent_meshes(name):
    v, f = NUMPY_BUILTINS[name]()
    edges = np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    if name == "open_cylinder":  # open at the top: the rim edges have one face
        assert set(counts.tolist()) == {1, 2}
    else:  # closed, with outward normals
        assert set(counts.tolist()) == {2} and _signed_volume(v, f) > 0
    n = normalized(v)
    assert np.allclose(n.min(0) + n.max(0), 0) and np.isclose((n.max(0) - n.min(0)).max(), 1.0)


def test_bucket_is_open_with_a_cavity():
    v, f = NUMPY_BUILTINS["bucket"]()
    # Its volume is the walls' only: far less than the full cylinder's π r² h.
    assert _signed_volume(v, f) < 0.25 * np.pi * 0.5**2


def test_render_refuses_non_empty_output_before_rendering(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="not empty"):
        render_dataset("cube", out, views=2, size=16)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    with pytest.raises(InputError, match="not a folder"):
        render_dataset("cube", out / "keep.txt", views=2)
    with pytest.raises(InputError, match="unknown layout"):
        render_dataset("cube", tmp_path / "new", layout="bogus")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # nothing half-written


def test_cached_dataset_command_passes_every_spec_key_on():
    """The cache is keyed by the spec: a key the render command dropped would cache the wrong data."""
    from softfit.dataset.cache import render_command

    spec = {"source": "torus", "views": 4, "cameras": "rings", "size": 32, "scale": 1.0,
            "background": "backdrop", "finish": "matte", "plates": True, "samples": 4}
    cmd = render_command(spec, Path("out"))
    assert cmd[cmd.index("--finish") + 1] == "matte" and "--plates" in cmd
    assert "--plates" not in render_command(spec | {"plates": False}, Path("out"))
    with pytest.raises(ValueError, match="colour"):
        render_command(spec | {"colour": "red"}, Path("out"))

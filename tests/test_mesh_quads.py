"""Quad remeshing (`softfit fit --quads`, `softfit.mesh.quadriflow`): Blender's QuadriFlow run in a child
process with the real bpy module, checked here independently of the child's own figures (trimesh
distances, edge counts read back from the OBJ file)."""

import json
import sys

import numpy as np
import pytest
from PIL import Image
from scipy.spatial import cKDTree
from surface_support import (
    edge_face_counts,
    fan,
    p99_distance,
    painted,
    position_colour,
    read_obj,
    read_polygons,
    texel_lookup,
    textured_samples,
)

from softfit.cli import main
from softfit.fit.engine import FitResult
from softfit.mesh.io import load_mesh
from softfit.mesh.quadriflow import MAX_TRIES, TOLERANCE, QuadriflowError, default_faces, describe, remesh
from softfit.mesh.sphere import uv_sphere
from softfit.mesh.types import Mesh
from softfit.pipeline.run import _quads

pytestmark = pytest.mark.slow  # each QuadriFlow run is seconds on 2 cores

DATASET = {"source": "suzanne", "views": 24, "size": 96, "cameras": "rings", "scale": 1.6}
FIT = ["--init", "sphere", "--radius", "0.5", "--polys", "800", "--iterations", "120",
       "--resolutions", "0:48,0.4:full", "--image-size", "96"]


@pytest.fixture(scope="module")
def fitted_with_quads(render_dataset_cached, tmp_path_factory):
    spec = dict(DATASET)
    data = render_dataset_cached(spec.pop("source"), **spec)
    out = tmp_path_factory.mktemp("quads") / "result"
    code = main(["fit", str(data), "--out", str(out), "--quiet", "--quads", *FIT])
    return code, out


def test_fit_writes_a_closed_quad_mesh_near_the_fit(fitted_with_quads):
    code, out = fitted_with_quads
    assert code == 0
    verts, faces = read_polygons(out / "mesh_quads.obj")
    sizes = np.array([len(f) for f in faces])
    assert np.mean(sizes == 4) > 0.95, "QuadriFlow's result is quads"
    assert (edge_face_counts(faces) == 2).all(), "every edge has two faces: closed and manifold"
    fit = load_mesh(out / "mesh.obj")
    diag = float(np.linalg.norm(fit.verts.max(0) - fit.verts.min(0)))
    measured = p99_distance(fit.verts, fit.faces, verts, fan(faces)) / diag
    q = json.loads((out / "metrics.json").read_text())["quads"]
    assert q["faces"] == len(faces) and q["watertight"] and q["within_tolerance"]
    assert measured <= TOLERANCE * 1.25, f"independent p99 distance {measured:.4f} of the size"
    assert abs(measured - q["distance_p99"]) < 0.5 * TOLERANCE, "the reported figure is what trimesh sees"


def test_an_unreachable_tolerance_is_reported_not_hidden():
    m = uv_sphere(300)
    v = m.verts * (1 + 0.2 * np.sin(9 * m.verts[:, [0]]))  # bumps: no quad mesh is within 1e-6
    q = remesh(v, m.faces, tolerance=1e-6)
    assert q.tries == MAX_TRIES and not q.within_tolerance
    assert q.target_faces > default_faces(len(m.faces)), "a run out of tolerance asks for more faces"
    assert describe(q.summary()).startswith("WARNING:")


def test_a_failed_remesh_keeps_the_fit_and_says_why(tmp_path):
    # Three triangles on one edge: not a surface QuadriFlow accepts.
    verts = np.array([[0, 0, 0], [1, 0, 0], [0.5, 1, 0], [0.5, -1, 0], [0.5, 0, 1.0]])
    faces = np.array([[0, 1, 2], [1, 0, 3], [0, 1, 4]])
    with pytest.raises(QuadriflowError, match="QuadriFlow"):
        remesh(verts, faces)
    result = FitResult(Mesh(verts, faces), {})
    assert _quads(result, 0) is None
    assert "QuadriFlow" in result.metrics["quads"]["error"]
    assert describe(result.metrics["quads"]).startswith("WARNING: no quad mesh")


def test_without_bpy_the_error_says_what_to_install(tmp_path):
    m = uv_sphere(200)
    with pytest.raises(QuadriflowError, match=r"softfit\[blender\]"):
        remesh(m.verts, m.faces, launcher=[sys.executable, "-I", "-S"])  # -S: no site-packages, no bpy


def test_the_fits_texture_is_carried_over_to_the_quads(fitted_with_quads):
    """mesh_quads.obj has a UV per corner and its own texture; a point of the quad surface shows the
    colour the fit's texture has at the nearest point of the fit (found here from a dense sampling)."""
    code, out = fitted_with_quads
    assert code == 0
    text = (out / "mesh_quads.obj").read_text()
    assert "mtllib mesh_quads.mtl" in text
    assert "map_Kd texture_quads.png" in (out / "mesh_quads.mtl").read_text()
    qv, qf, quv, quvf = read_obj(out / "mesh_quads.obj")
    assert [len(f) for f in quvf] == [len(f) for f in qf], "every corner has its texture coordinate"
    assert ((quv >= 0) & (quv <= 1)).all()
    with Image.open(out / "texture_quads.png") as im:
        quad_image = np.asarray(im.convert("RGB"))
    points, uv = textured_samples(qv, fan(qf), quv[fan(quvf)], 4000)
    fv, ff, fuv, fuvf = read_obj(out / "mesh.obj")
    dense, dense_uv = textured_samples(fv, np.array(ff), fuv[np.array(fuvf)], 300_000, seed=1)
    fit_uv = dense_uv[cKDTree(dense).query(points)[1]]  # nearest point of the fit, to a dense sampling
    with Image.open(out / "texture.png") as im:
        fit_image = np.asarray(im.convert("RGB"))
    diff = np.abs(texel_lookup(quad_image, uv) - texel_lookup(fit_image, fit_uv)).mean(axis=1)
    spread = np.abs(texel_lookup(fit_image, fit_uv) - texel_lookup(fit_image, fit_uv).mean(0)).mean()
    assert spread > 5, "the fit's texture is not flat: the comparison means something"
    assert np.median(diff) < 4 and diff.mean() < 8, f"median {np.median(diff):.2f}, mean {diff.mean():.2f}"
    q = json.loads((out / "metrics.json").read_text())["quads"]
    assert q["texture"]["size"] == [quad_image.shape[1], quad_image.shape[0]]
    assert "textured" in describe(q)


def test_a_painted_surface_keeps_its_colours_on_the_quads():
    """A bumpy sphere whose texture is its position as colour (baked with the backend's own texel
    rasteriser): the quads' texture, looked up at random points of the quad surface, gives their positions
    back within a few levels."""
    m = uv_sphere(1200, 0.6)
    verts = m.verts * (1 + 0.15 * np.sin(4 * m.verts[:, [2]]))
    uv, image = painted(verts, m.faces, texel=0.01)
    q = remesh(verts, m.faces, texture=(uv, image))
    assert q.texture is not None and q.uv is not None, q.texture_info
    assert q.uv.shape == (len(q.corners), 2)
    loops = [list(x) for x in np.split(np.arange(len(q.corners)), np.cumsum(q.sizes)[:-1])]
    tri_loops = fan(loops)
    points, uv = textured_samples(q.verts, q.corners[tri_loops], q.uv[tri_loops], 5000)
    err = np.abs(texel_lookup(q.texture, uv) - position_colour(points))
    assert err.mean() < 2.0 and np.percentile(err, 99) < 8.0, (err.mean(), np.percentile(err, 99))
    texel = q.summary()["texture"]["texel"]
    assert abs(texel - 0.01) < 0.002, "the quads keep the source's texel density"


def test_a_texture_that_cannot_be_carried_leaves_the_quads_untextured():
    m = uv_sphere(300)
    q = remesh(m.verts, m.faces, texture=(np.zeros((len(m.faces), 3, 2)), np.zeros((0, 0, 3), np.uint8)))
    assert q.n_faces > 0 and q.texture is None and q.uv is None
    assert "error" in q.summary()["texture"]
    assert "WARNING: untextured" in describe(q.summary())

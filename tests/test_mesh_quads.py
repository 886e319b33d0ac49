"""Quad remeshing (`softfit fit --quads`, `softfit.mesh.quadriflow`): Blender's QuadriFlow run in a child
process with the real bpy module, checked here independently of the child's own figures (trimesh
distances, edge counts read back from the OBJ file)."""

import json
import sys

import numpy as np
import pytest
from surface_support import edge_face_counts, fan, p99_distance, read_polygons

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
       "--resolutions", "0:48,0.4:full", "--image-size", "96", "--no-texture"]


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

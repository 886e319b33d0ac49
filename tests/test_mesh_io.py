"""Mesh files: OBJ/PLY parsing details, exact round trips, clear errors, and Blender's own importers
landing on the same coordinates (real bpy, in a subprocess: one bpy per process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from softfit.errors import InputError
from softfit.mesh.io import load_mesh, save_obj, save_ply
from softfit.mesh.sphere import uv_sphere
from softfit.mesh.types import Mesh


def _asymmetric_mesh() -> Mesh:
    """A skewed tetrahedron well away from the origin: any axis swap or mirror changes its coordinates."""
    v = np.array([[0.1, 0.2, 0.3], [1.4, -0.25, 0.35], [0.3, 0.9, -0.6], [0.2, 0.1, 2.0]])
    f = np.array([[0, 2, 1], [0, 1, 3], [1, 2, 3], [0, 3, 2]])
    return Mesh(v, f)


@pytest.mark.parametrize("save", [save_obj, save_ply])
def test_round_trip_is_exact_at_float32(tmp_path, save):
    mesh = uv_sphere(300, radius=0.7, center=(0.1, -0.2, 0.3))
    path = tmp_path / ("m.obj" if save is save_obj else "m.ply")
    save(path, mesh)
    back = load_mesh(path)
    # Both formats hold float32, Blender's precision: %.9g text and binary floats round-trip it exactly.
    np.testing.assert_array_equal(back.verts.astype(np.float32), mesh.verts.astype(np.float32))
    np.testing.assert_array_equal(back.faces, mesh.faces)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind


def test_obj_header_says_how_to_import(tmp_path):
    save_obj(tmp_path / "m.obj", _asymmetric_mesh())
    head = (tmp_path / "m.obj").read_text().splitlines()[:4]
    assert any("forward_axis='Y', up_axis='Z'" in line for line in head)
    assert all(line.startswith("#") for line in head)


def test_obj_polygons_slashes_negative_indices_and_noise(tmp_path):
    text = textwrap.dedent("""\
        # comment
        mtllib m.mtl
        o thing
        v 0 0 0
        v 1 0 0 1.0
        v 1 1 0 0.5 0.5 0.5
        v 0 1 0
        vt 0 0
        vn 0 0 1
        usemtl red
        s off
        f 1/1/1 2/1/1 3/1/1 4/1/1
        v 2 0 0
        v 2 1 0
        f -5//1 -2//1 -1//1 3//1
        l 1 2
        g group
        f 1 \\
          2 5
        """)
    (tmp_path / "m.obj").write_text(text)
    m = load_mesh(tmp_path / "m.obj")
    assert m.n_verts == 6
    # quad 1234 -> (0,1,2), (0,2,3); quad with negative indices -> verts 1,4,5,2 -> (1,4,5), (1,5,2)
    np.testing.assert_array_equal(m.faces, [[0, 1, 2], [0, 2, 3], [1, 4, 5], [1, 5, 2], [0, 1, 4]])


def _ply_header(fmt: str, nv: int, nf: int, ne: int = 0) -> bytes:
    return (f"ply\nformat {fmt} 1.0\ncomment made by a test\n"
            f"element vertex {nv}\nproperty double x\nproperty float nx\nproperty double y\n"
            "property double z\nproperty uchar red\n"
            f"element face {nf}\nproperty uchar flags\nproperty list uchar uint vertex_indices\n"
            "property float quality\n"
            f"element edge {ne}\nproperty int vertex1\nproperty int vertex2\nend_header\n").encode()


def _ply_body_binary(verts, polys, order: str) -> bytes:
    out = b""
    vd = np.dtype([("x", order + "f8"), ("nx", order + "f4"), ("y", order + "f8"), ("z", order + "f8"),
                   ("red", "u1")])
    vs = np.zeros(len(verts), vd)
    vs["x"], vs["y"], vs["z"], vs["nx"], vs["red"] = verts[:, 0], verts[:, 1], verts[:, 2], 9.0, 200
    out += vs.tobytes()
    for p in polys:
        out += np.array([7, len(p)], "u1").tobytes() + np.asarray(p, order + "u4").tobytes()
        out += np.array([0.5], order + "f4").tobytes()
    out += np.array([[0, 1], [1, 2]], order + "i4").tobytes()
    return out


@pytest.mark.parametrize("polys", [[[0, 1, 2], [0, 2, 3]], [[0, 1, 2, 3], [0, 3, 4]]],
                         ids=["uniform", "mixed"])
@pytest.mark.parametrize("fmt", ["binary_little_endian", "binary_big_endian", "ascii"])
def test_ply_skips_other_properties_and_elements(tmp_path, fmt, polys):
    verts = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0.5, 2, 0.25]])
    if fmt == "ascii":
        body = "".join(f"{x} 9 {y} {z} 200\n" for x, y, z in verts)
        body += "".join(f"7 {len(p)} {' '.join(map(str, p))} 0.5\n" for p in polys) + "0 1\n1 2\n"
        data = _ply_header(fmt, 5, len(polys), 2) + body.encode()
    else:
        order = "<" if fmt == "binary_little_endian" else ">"
        data = _ply_header(fmt, 5, len(polys), 2) + _ply_body_binary(verts, polys, order)
    (tmp_path / "m.ply").write_bytes(data)
    m = load_mesh(tmp_path / "m.ply")
    np.testing.assert_array_equal(m.verts, verts)
    expected = [[0, 1, 2], [0, 2, 3]] if len(polys[0]) == 3 else [[0, 1, 2], [0, 2, 3], [0, 3, 4]]
    np.testing.assert_array_equal(m.faces, expected)


def test_ply_vertex_index_name_and_int_counts(tmp_path):
    header = ("ply\nformat binary_little_endian 1.0\nelement vertex 3\nproperty float x\nproperty float y\n"
              "property float z\nelement face 1\nproperty list int int vertex_index\nend_header\n")
    body = np.eye(3, dtype="<f4").tobytes() + np.array([3, 0, 1, 2], "<i4").tobytes()
    (tmp_path / "m.ply").write_bytes(header.encode() + body)
    m = load_mesh(tmp_path / "m.ply")
    np.testing.assert_array_equal(m.faces, [[0, 1, 2]])


@pytest.mark.parametrize("name,content", [
    ("empty.obj", b""),
    ("blank.ply", b"   \n"),
    ("garbage.ply", b"\x00\x01not a ply at all"),
    ("nofaces.obj", b"v 0 0 0\nv 1 0 0\nv 0 1 0\n"),
    ("badindex.obj", b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 4\n"),
    ("zeroindex.obj", b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 0 1 2\n"),
    ("badnumber.obj", b"v 0 zero 0\n"),
    ("twoverts.obj", b"v 0 0 0\nv 1 0 0\nf 1 2\n"),
    ("nan.obj", b"v nan 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n"),
    ("truncated.ply", None),
    ("badformat.ply", b"ply\nformat binary_middle_endian 1.0\nelement vertex 0\nend_header\n"),
    ("mesh.stl", b"solid x\nendsolid x\n"),
])
def test_bad_files_raise_input_error_naming_the_file(tmp_path, name, content):
    path = tmp_path / name
    if content is None:
        save_ply(path, uv_sphere(100))
        content = path.read_bytes()[:-7]
    path.write_bytes(content)
    with pytest.raises(InputError, match=name.replace(".", r"\.")):
        load_mesh(path)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="nope.obj"):
        load_mesh(tmp_path / "nope.obj")


_BLENDER_SCRIPT = r"""
import json, sys
import bpy
import bmesh

def world_coords(obj):
    m = obj.matrix_world
    return [list(m @ v.co) for v in obj.data.vertices]

out = {}
for key, op, kwargs in [("obj_yz", bpy.ops.wm.obj_import, dict(forward_axis="Y", up_axis="Z")),
                        ("obj_default", bpy.ops.wm.obj_import, {}),
                        ("ply_default", bpy.ops.wm.ply_import, {})]:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    op(filepath=sys.argv[1 if key.startswith("obj") else 2], **kwargs)
    obj = bpy.context.selected_objects[0]
    out[key] = {"verts": world_coords(obj), "faces": [list(p.vertices) for p in obj.data.polygons]}

# Blender's own UV sphere at SoftFit's resolution rule: same counts once the quads are triangulated.
bm = bmesh.new()
segments, rings = int(sys.argv[3]), int(sys.argv[4])
bmesh.ops.create_uvsphere(bm, u_segments=segments, v_segments=rings, radius=0.5)
bmesh.ops.triangulate(bm, faces=bm.faces[:])
out["bmesh_sphere"] = [len(bm.verts), len(bm.faces)]
print("RESULT" + json.dumps(out))
"""


def test_blender_imports_land_on_the_same_coordinates(tmp_path):
    from softfit.mesh.sphere import sphere_resolution

    mesh = _asymmetric_mesh()
    save_obj(tmp_path / "m.obj", mesh)
    save_ply(tmp_path / "m.ply", mesh)
    script = tmp_path / "check.py"
    script.write_text(_BLENDER_SCRIPT)
    segments, rings = sphere_resolution(1900)
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(tmp_path / "blender_user"))
    proc = subprocess.run([sys.executable, str(script), str(tmp_path / "m.obj"), str(tmp_path / "m.ply"),
                           str(segments), str(rings)], capture_output=True, text=True, timeout=120, env=env)
    line = next((s for s in proc.stdout.splitlines() if s.startswith("RESULT")), None)
    assert line is not None, proc.stdout[-2000:] + proc.stderr[-2000:]
    res = json.loads(line[len("RESULT"):])
    want = mesh.verts.astype(np.float32)
    np.testing.assert_allclose(res["obj_yz"]["verts"], want, atol=1e-6)
    np.testing.assert_allclose(res["ply_default"]["verts"], want, atol=1e-6)
    np.testing.assert_array_equal(res["obj_yz"]["faces"], mesh.faces)
    np.testing.assert_array_equal(res["ply_default"]["faces"], mesh.faces)
    # Blender's OBJ default (Y up) would turn the mesh: the header's import settings matter.
    assert np.abs(np.asarray(res["obj_default"]["verts"]) - want).max() > 0.5
    sphere = uv_sphere(1900)
    assert res["bmesh_sphere"] == [sphere.n_verts, sphere.n_faces]

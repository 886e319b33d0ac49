"""Every nonsense input of issue 13 gets one clear error: `softfit fit` exits 2 with a message naming the
problem (never a traceback, never a "successful" fit), and the server answers `bad_request` (never
`fit_failed`). The checks live in the stage modules (cameras, data loading, fit parameters, mesh), so the
CLI and the server share them. Real Blender renders, real `softfit serve` process."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image
from wire_support import PARAMS, scene, shared_backend

from softfit.cli import main
from softfit.mesh.io import save_obj
from softfit.mesh.sphere import uv_sphere
from softfit.mesh.types import Mesh
from softfit.wire import JobError, RequestRejected

DATASET = {"source": "suzanne", "views": 6, "size": 48, "cameras": "rings", "scale": 1.6}
FIT = ["--init", "sphere", "--radius", "0.5", "--polys", "200", "--iterations", "3", "--image-size", "48",
       "--quiet"]


@pytest.fixture(scope="module")
def dataset(render_dataset_cached):
    spec = dict(DATASET)
    return render_dataset_cached(spec.pop("source"), **spec)


def edited(dataset, tmp_path, edit) -> str:
    """A copy of the dataset whose transforms.json went through `edit(meta)`."""
    root = tmp_path / "data"
    shutil.copytree(dataset, root)
    meta = json.loads((root / "transforms.json").read_text())
    edit(meta)
    (root / "transforms.json").write_text(json.dumps(meta))
    return str(root)


def fit_fails(capsys, args: list[str], *expected: str, tmp_path=None) -> str:
    out = ["--out", str(tmp_path / "out")] if tmp_path is not None else []
    code = main(["fit", *args, *out])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and err.count("\n") == 1, err  # one line
    for e in expected:
        assert e in err, err
    return err


def _matrix(meta, i, m):
    meta["frames"][i]["transform_matrix"] = np.asarray(m, dtype=float).tolist()


CAMERA_CASES = {
    "singular": (lambda m: _matrix(m, 0, np.diag([0.0, 0.0, 0.0, 1.0])), "not a rigid camera pose"),
    "scaled": (lambda m: _matrix(m, 1, np.array(m["frames"][1]["transform_matrix"]) @ np.diag([2, 2, 2, 1])),
               "not a rigid camera pose"),
    "sheared": (lambda m: _matrix(m, 2, np.array(m["frames"][2]["transform_matrix"])
                                  @ np.array([[1, 0.3, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])),
                "not a rigid camera pose"),
    "mirrored": (lambda m: _matrix(m, 0, np.array(m["frames"][0]["transform_matrix"])
                                   @ np.diag([-1, 1, 1, 1])), "determinant +1"),
    "bad last row": (lambda m: _matrix(m, 0, np.vstack([np.array(m["frames"][0]["transform_matrix"])[:3],
                                                        [0, 0, 1, 1]])), "last row"),
    "w=h=1e9": (lambda m: m.update(w=1e9, h=1e9), "1e+09x1e+09"),
    "declared 100x the images": (lambda m: m.update(w=4800, h=4800), "declared sizes must match the images"),
    "declared another aspect": (lambda m: m.update(w=48, h=96), "declared sizes must match the images"),
    "focal 1e-300": (lambda m: [f.update(fl_x=1e-300, fl_y=1e-300) for f in m["frames"]], "focal length"),
    "focal overflow": (lambda m: [f.update(fl_x="1e400") for f in m["frames"]], "finite number"),
    "principal point outside": (lambda m: m["frames"][0].update(cx=-500.0), "principal point"),
    "absolute path": (lambda m: m["frames"][0].update(file_path="/etc/hostname"),
                      "outside the dataset folder"),
    "../.. path": (lambda m: m["frames"][0].update(file_path="../../" + m["frames"][0]["file_path"]),
                   "outside the dataset folder"),
    "mask outside": (lambda m: m["frames"][0].update(mask_path="../elsewhere/mask.png"),
                     "outside the dataset folder"),
}


@pytest.mark.parametrize("case", CAMERA_CASES)
def test_nonsense_camera_files_fail_clearly(dataset, tmp_path, capsys, case):
    edit, expected = CAMERA_CASES[case]
    fit_fails(capsys, [edited(dataset, tmp_path, edit), *FIT], expected, tmp_path=tmp_path)
    assert not (tmp_path / "out").exists()  # nothing written, nothing lost


def test_paths_outside_the_folder_load_when_allowed(dataset, tmp_path):
    """--allow-outside-paths restores the old reading for a trusted file (here an absolute path to the
    same image)."""
    root = tmp_path / "data"
    shutil.copytree(dataset, root)
    meta = json.loads((root / "transforms.json").read_text())
    target = (root / meta["frames"][0]["file_path"]).resolve()
    if not target.exists():
        target = next(root.glob(meta["frames"][0]["file_path"] + ".*")).resolve()
    outside = tmp_path / "elsewhere" / target.name
    outside.parent.mkdir()
    shutil.copy(target, outside)
    meta["frames"][0]["file_path"] = str(outside)
    (root / "transforms.json").write_text(json.dumps(meta))
    assert main(["fit", str(root), *FIT, "--out", str(tmp_path / "refused")]) == 2
    assert main(["fit", str(root), *FIT, "--out", str(tmp_path / "ok"), "--allow-outside-paths"]) == 0


@pytest.mark.parametrize("text, expected", [
    ('{"iterations": NaN}', "iterations must be an integer"),
    ('{"iterations": Infinity}', "iterations must be an integer"),
    ('{"iterations": 1e400}', "iterations must be an integer"),
    ('{"seed": 1e300}', "seed must be an integer"),
    ('{"lr": 1e400}', "lr must be a finite number"),
    ('{"sigma": [1e-300, 1e-300]}', "sigma values must lie in"),
    ('{"resolutions": [[0, 1e400]]}', "resolutions"),
])
def test_nonsense_parameter_files_fail_clearly(dataset, tmp_path, capsys, text, expected):
    params = tmp_path / "params.json"
    params.write_text(text)
    args = [a for a in FIT if a not in ("--iterations", "3")]
    fit_fails(capsys, [str(dataset), *args, "--params", str(params)], expected, tmp_path=tmp_path)


def test_negative_image_size_and_tiny_images_fail_clearly(dataset, tmp_path, capsys):
    fit_fails(capsys, [str(dataset), *FIT, "--image-size", "-5"], "image_size must be in [8, 16384]",
              tmp_path=tmp_path)
    root = tmp_path / "tiny"
    root.mkdir()
    Image.fromarray(np.full((1, 1, 4), 255, np.uint8)).save(root / "v0.png")
    (root / "transforms.json").write_text(json.dumps({"camera_angle_x": 0.8, "frames": [
        {"file_path": "v0.png", "transform_matrix": np.eye(4).tolist()}]}))
    fit_fails(capsys, [str(root), "--init", "sphere", "--quiet"], "1x1 pixels", "at least 8 pixels",
              tmp_path=tmp_path)


@pytest.mark.parametrize("case", ["one point", "no area", "huge", "centimetres", "millimetres"])
def test_degenerate_initial_meshes_fail_clearly(dataset, tmp_path, capsys, case):
    """Also a mesh in other units than the cameras: centimetres (the cameras stand inside it) fitted to
    IoU 0.05, "mesh NOT clean" its only sign; now refused with the factor before anything is fitted."""
    s = uv_sphere(200, 0.5)
    verts = {"one point": np.zeros_like(s.verts), "no area": np.column_stack([s.verts[:, 0]] * 3),
             "huge": s.verts * 1e300, "centimetres": s.verts * 100, "millimetres": s.verts / 1000}[case]
    if case != "huge":
        save_obj(tmp_path / "init.obj", Mesh(verts, s.faces))
    else:  # written by hand: the mesh type itself refuses such coordinates
        lines = [f"v {x:.17g} {y:.17g} {z:.17g}" for x, y, z in verts]
        lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in s.faces]
        (tmp_path / "init.obj").write_text("\n".join(lines) + "\n")
    args = [a for a in FIT if a not in ("sphere",)]
    args[args.index("--init") + 1:args.index("--init") + 1] = [str(tmp_path / "init.obj")]
    expected = {"one point": ["degenerate"], "no area": ["degenerate"], "huge": ["units"],
                "centimetres": ["much larger than the object", "cameras stand inside", "scale by 0.01"],
                "millimetres": ["0.00", "times the object's size in the photos", "other units"]}[case]
    fit_fails(capsys, [str(dataset), *args], *expected, tmp_path=tmp_path)


def _with_init(mesh_path) -> list[str]:
    args = [a for a in FIT if a not in ("sphere",)]
    args[args.index("--init") + 1:args.index("--init") + 1] = [str(mesh_path)]
    return args


def test_an_initial_mesh_of_about_the_right_size_is_fitted(dataset, tmp_path):
    """The scale check lets a start through that is off by less than MAX_RATIO either way, and the
    orientation check the object's own mesh as it is (Z up)."""
    from softfit.mesh.io import load_mesh

    s = uv_sphere(200, 0.5)
    for k, factor in enumerate((0.4, 2.5)):
        save_obj(tmp_path / f"init{k}.obj", Mesh(s.verts * factor, s.faces))
    save_obj(tmp_path / "init2.obj", load_mesh(dataset / "gt_mesh.obj"))
    for k in range(3):
        args = _with_init(tmp_path / f"init{k}.obj")
        assert main(["fit", str(dataset), *args, "--no-texture", "--out", str(tmp_path / f"out{k}")]) == 0


def test_an_initial_mesh_saved_y_up_is_named_as_such(dataset, tmp_path, capsys):
    """Most OBJ exporters write Y up; SoftFit's world is Blender's, Z up: a Suzanne saved Y-up fitted to
    0.85 with self-intersections. It is now refused before the fit, saying how to export it."""
    from softfit.mesh.io import load_mesh

    m = load_mesh(dataset / "gt_mesh.obj")
    y_up = np.column_stack([m.verts[:, 0], m.verts[:, 2], -m.verts[:, 1]])  # as a Y-up exporter writes it
    save_obj(tmp_path / "yup.obj", Mesh(y_up, m.faces))
    fit_fails(capsys, [str(dataset), *_with_init(tmp_path / "yup.obj")], "saved Y-up", "Up Axis Z",
              tmp_path=tmp_path)


# ---------------------------------------------------------------------------------------------------
# The same nonsense sent to the server: `bad_request` at submit (the loop refuses it before any worker).


def _submit_case(case: str) -> dict:
    sc = scene()
    tr = json.loads(json.dumps(sc.transforms))
    kw = {"silhouettes": sc.silhouettes, "images": None, "transforms": tr, "verts": sc.init.verts,
          "faces": sc.init.faces, "params": dict(PARAMS)}
    if case == "vertices x 1e300":
        kw["verts"] = sc.init.verts * 1e300
    elif case == "sigma 1e-300":
        kw["params"]["sigma"] = [1e-300, 1e-300]
    elif case == "one-point mesh":
        kw["verts"] = np.zeros_like(sc.init.verts)
    elif case == "singular camera":
        tr["frames"][0]["transform_matrix"] = np.diag([0.0, 0, 0, 1]).tolist()
    elif case == "scaled camera":
        m = np.array(tr["frames"][0]["transform_matrix"]) @ np.diag([3.0, 3.0, 3.0, 1.0])
        tr["frames"][0]["transform_matrix"] = m.tolist()
    elif case == "focal 1e-300":
        for f in tr["frames"]:
            f["fl_x"] = f["fl_y"] = 1e-300
    elif case == "w=h=1e9":
        tr["w"] = tr["h"] = 1e9
    elif case == "1x1 views":
        kw["silhouettes"] = np.ones((len(tr["frames"]), 1, 1), np.float32)
    elif case == "integer overflow":
        kw["params"]["iterations"] = 1e300
    return kw


SERVER_CASES = {"vertices x 1e300": "units", "sigma 1e-300": "sigma", "one-point mesh": "degenerate",
                "singular camera": "rigid", "scaled camera": "rigid", "focal 1e-300": "focal length",
                "w=h=1e9": "1e+09", "1x1 views": "at least 8 pixels", "integer overflow": "iterations"}


@pytest.mark.parametrize("case", SERVER_CASES)
def test_server_answers_nonsense_with_bad_request(case):
    with shared_backend().client() as c:
        with pytest.raises(RequestRejected) as info:
            c.submit(**_submit_case(case))
        assert info.value.code == "bad_request" and SERVER_CASES[case] in info.value.message, info.value
        assert c.ping() > 0


def test_hostile_but_valid_jobs_end_as_bad_request_not_fit_failed():
    """Jobs that pass every check at submit but cannot be fitted: the worker reports `bad_request` with the
    reason (an InputError of the fitting engine), never `fit_failed` (the code of a server bug)."""
    sc = scene()
    empty = np.zeros_like(sc.silhouettes)
    far = Mesh(sc.init.verts + np.array([0.0, 0.0, 40.0]), sc.init.faces)  # behind every camera's view
    with shared_backend().client() as c:
        jobs = [c.submit(empty, None, sc.transforms, sc.init.verts, sc.init.faces, PARAMS),
                c.submit(sc.silhouettes, None, sc.transforms, far.verts, far.faces, PARAMS)]
        for job in jobs:
            events = list(c.events(job, timeout=120))
            assert isinstance(events[-1], JobError) and events[-1].code == "bad_request", events[-1]
        assert c.ping() > 0

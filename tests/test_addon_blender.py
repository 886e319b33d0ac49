"""The Blender extension in real Blender (the bpy 5.0.1 module), each scenario in its own process with
its own BLENDER_USER_RESOURCES: the built zip validates, installs into a temporary local repository,
enables as bl_ext.sftest.softfit and registers/unregisters cleanly; its operators build the initial
sphere and the cameras (checked against exact silhouettes with Workbench renders); fits run through a
real backend subprocess; the headless script works under plain Python.

Not testable here: drawing the UI (no display: panels, the status bar and popups are registered but
never drawn) and interactive undo (`ed.undo` needs a window; what the tests check instead is the
mechanism that makes undo safe: the fit writes into a copy, the original mesh is never modified).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from addon_helpers import (  # noqa: E402
    ROOT,
    box_mesh,
    convex_silhouettes,
    index_unreachable,
    pypi_reachable,
    ring_cameras,
    run_driver,
    write_rgba_dataset,
)
from surface_support import (  # noqa: E402
    edge_face_counts,
    fan,
    p99_distance,
    painted,
    position_colour,
    texel_lookup,
    textured_samples,
)

import softfit  # noqa: E402
import softfit.wire  # noqa: E402
from softfit.cameras import from_softras  # noqa: E402
from softfit.mesh.io import load_mesh  # noqa: E402
from softfit.mesh.sphere import uv_sphere  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))
import build_extension  # noqa: E402

pytestmark = pytest.mark.slow  # minutes, not seconds: `make test-fast` leaves it out, CI runs it

if importlib.util.find_spec("bpy") is None:  # found, not imported: bpy runs in the subprocesses only
    raise ImportError("the bpy module is not installed (requirements.txt pins it): these tests cannot run")

# Thresholds measured on this 2-core machine. Ellipsoid, 16 views 64x64, 500 triangles, 50 iterations:
# held-out IoU 0.93-0.95 from a sphere start of 0.45. Suzanne rendered by Blender in the ALOI layout,
# 24 views 96x72, 800 triangles, 60 iterations, silhouettes by the backend's threshold segmentation:
# 0.75 from a start of 0.45 (0.79 with the mask files). Margins leave room for the fit engine's tuning.
HELDOUT_MIN = 0.85
HEADLESS_HELDOUT_MIN = 0.65
SETUP_IOU_MIN = 0.99


@pytest.fixture(scope="module")
def built_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The extension zip as scripts/build_extension.py builds it (wheels cached in build/wheels)."""
    out = tmp_path_factory.mktemp("ext")
    try:
        return build_extension.build(out / "dist", out / "stage" / "softfit")
    except build_extension.BuildError as exc:
        if "could not download" in str(exc) and not pypi_reachable():
            index_unreachable("fetch the pyzmq wheels the zip bundles")
        raise


def _ellipsoid(folder: Path, size: int) -> Path:
    """16 RGBA views (size x size) of an off-centre ellipsoid, alpha = its exact silhouette."""
    verts = uv_sphere(200, 1.0).verts * np.array([0.55, 0.35, 0.28]) + np.array([0.1, -0.05, 0.05])
    cams = ring_cameras(16, size, size, elevations=(25, -15, 5))
    write_rgba_dataset(folder, cams, convex_silhouettes(cams, verts))
    return folder


@pytest.fixture(scope="module")
def ellipsoid_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _ellipsoid(tmp_path_factory.mktemp("ellipsoid"), 64)


@pytest.fixture(scope="module")
def ellipsoid_photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same ellipsoid in 128x128 photos: the fit works on 64x64 copies, the texture on the photos."""
    return _ellipsoid(tmp_path_factory.mktemp("ellipsoid_photos"), 128)


def test_zip_holds_the_addon_shared_code_and_wheels_only(built_zip: Path) -> None:
    with zipfile.ZipFile(built_zip) as z:
        names = z.namelist()
        manifest = z.read("blender_manifest.toml").decode()
    assert "__init__.py" in names and "wire/client.py" in names and "wire/launcher.py" in names
    # The glTF-style split: Blender-free logic/ apart from the Blender-facing blender/.
    assert "logic/session.py" in names and "logic/views.py" in names and "blender/panel.py" in names
    assert not [n for n in names if n.count("/") == 0 and n.endswith(".py") and n != "__init__.py"]
    with zipfile.ZipFile(built_zip) as z:  # the backend code it shares, byte for byte (one source)
        for rel, src in build_extension.shipped_backend().items():
            assert z.read(rel.as_posix()) == src.read_bytes(), rel
    assert "core/cameras.py" in names and "core/mesh/sphere_rule.py" in names
    wheels = sorted(n for n in names if n.endswith(".whl"))
    assert len(wheels) == 3 and all(w.startswith("wheels/pyzmq-27.3.0-cp311-cp311-") for w in wheels)
    for platform in ("manylinux", "win_amd64", "macosx"):
        assert any(platform in w for w in wheels), platform
    assert not [n for n in names if n.startswith(("backend/", "tests/", "build/", "scripts/", "csrc/"))]
    assert not [n for n in names if n.endswith((".pyc", ".so")) or "__pycache__" in n]
    assert 'id = "softfit"' in manifest and "SPDX:GPL-3.0-or-later" in manifest
    version = tomllib.loads(manifest)["version"]
    assert version == softfit.__version__ == softfit.wire.__version__  # one version everywhere
    # Blender's own validator accepts the archive itself, not only the staged folder.
    tool = build_extension.blender_ext_tool()
    proc = subprocess.run([sys.executable, str(tool), "validate", str(built_zip)], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_zip_has_no_torch_and_only_relative_imports(built_zip: Path) -> None:
    with zipfile.ZipFile(built_zip) as z:
        sources = {n: z.read(n).decode() for n in z.namelist() if n.endswith(".py")}
    for name, text in sources.items():
        for line in text.splitlines():
            s = line.strip()
            assert not s.startswith(("import torch", "from torch")), name
            assert not s.startswith(("from softfit", "import softfit", "from addon", "import addon")), name


def test_install_enable_register_twice(built_zip: Path, tmp_path: Path) -> None:
    rep = run_driver("lifecycle", tmp_path, {"zip": str(built_zip)})
    assert rep["errors"] == [] and rep["enabled"]
    assert len(rep["registered"]) == 18 and rep["properties"] and rep["status_bar_hooked"]
    assert rep["prefs_idname"] == "bl_ext.sftest.softfit"
    assert rep["user_dir_exists"] and rep["user_dir"].startswith(str(tmp_path))
    assert rep["wheel_installed"] == ["pyzmq-27.3.0.dist-info"]  # the bundled wheel, installed by Blender
    assert rep["quick"] == [100, 128, 1000] and rep["detailed"] == [600, 512, 5000]  # presets set raw values
    assert rep["start"] == ["FINISHED"] and rep["restart"] == ["FINISHED"] and rep["restart_new_process"]
    # Bug "Start Backend freezes Blender for 5 s": the operator returns while a worker starts it.
    assert rep["start_returned_first"]
    assert rep["info"]["protocol"] == 1 and rep["info"]["device"] in ("cpu", "cuda")
    assert "connected" in rep["summary"] and rep["info"]["version"] in rep["summary"]
    assert rep["remote_start"][0] == ["FINISHED"] and "tcp://127.0.0.1:" in rep["remote_summary"]
    assert rep["local_stopped_on_switch"]  # switching to a remote backend stopped the one we launched
    assert rep["bad_token"][0] == ["FINISHED"]  # returns at once; the worker's error is shown after
    assert rep["bad_token_status"]["error"] and "token" in rep["bad_token_status"]["message"]
    assert not rep["bad_token_connected"] and rep["restart_local"][0] == ["FINISHED"]
    # Bug "Fit against an unreachable remote freezes Blender 10 s": the wait happens in a worker.
    assert rep["unreachable"][0] == ["FINISHED"] and rep["unreachable_returned_first"]
    assert rep["unreachable_status"]["error"] and "no answer" in rep["unreachable_status"]["message"]
    # Bug "a dead local backend ... while the panel says connected": the watch timer polls the process.
    assert rep["watch_next"] <= 1.0 and rep["dead_summary"].startswith("not connected: the backend process")
    assert "killed by signal 9" in rep["dead_status"]["backend"]
    assert rep["restart_after_death"][0] == ["FINISHED"]
    assert not rep["torch_imported"] and not rep["torch_imported_end"]
    for cycle in rep["cycles"]:
        assert cycle["disable_errors"] == [] and cycle["enable_errors"] == []
        assert cycle["leftovers"] == [] and not cycle["enabled_after_disable"]
        assert cycle["registered"] == 18 and cycle["fresh_session"]
    assert rep["cycles"][0]["backend_exit_code"] is not None  # unregister stopped the backend it launched


def test_initial_mesh_counts_and_sphere(built_zip: Path, tmp_path: Path) -> None:
    polys = [8, 100, 2000, 5000]
    center = [0.3, -0.2, 0.1]
    rep = run_driver("initial_mesh", tmp_path, {"zip": str(built_zip), "polys": polys, "radius": 0.7,
                                                "center": center, "big_polys": 300_000})
    for m in rep["meshes"]:
        ref = uv_sphere(m["polys"], 0.7, center)  # the backend's rule: same counts
        assert m["result"] == ["FINISHED"] and m["role"] == "initial"
        assert (m["verts"], m["faces"]) == (ref.n_verts, ref.n_faces)
        assert m["max_face_size"] == 3 and m["min_face_size"] == 3
        assert m["radius_err"] < 1e-5
        assert m["edge_use"] == [2]  # closed 2-manifold
        assert m["outward"] == m["faces"]
    assert rep["ngon_triangles"] == [[0, 1, 2], [0, 2, 3], [1, 4, 2], [4, 6, 5], [4, 5, 2]]
    # Bug "a 200 k-triangle sphere blocks the UI": a large sphere is built over several timer ticks (the
    # operator returns first; the mesh's face starts go in slices), and it is the same valid mesh.
    big = rep["big"]
    assert big["result"] == ["FINISHED"] and big["returned_first"] and big["role"] == "initial"
    assert big["ticks"] >= 8, big["ticks"]  # arrays + 7 mesh steps at least, more for the face slices
    assert big["faces"] == big["ref_faces"] >= 290_000 and big["starts_ok"] and not big["validate_changed"]
    assert big["same_verts"] and big["same_tris"]


@pytest.fixture(scope="module")
def camera_cases(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    """Inputs whose silhouettes are exact: transforms.json (non-square, off-centre principal point, and
    non-square pixels with masks saved as 0/1 labels, read through Blender's own loader) and SoftRas files
    (Y-up cameras, mirrored renders)."""
    base = tmp_path_factory.mktemp("cams")
    cases = []
    verts, faces = box_mesh((0.45, 0.3, 0.25), (0.15, -0.1, 0.05), yaw_deg=20)
    np.savez(base / "box.npz", verts=verts, faces=faces)
    for name, cams, masks in (
        ("offcentre", ring_cameras(5, 80, 56, shift_px=(7.0, -5.0), target=(0.1, 0, 0)), False),
        ("pixel_aspect", ring_cameras(4, 64, 72, aspect=1.3, shift_px=(-4.0, 3.0)), True),
    ):
        sil = convex_silhouettes(cams, verts)
        write_rgba_dataset(base / name, cams, sil, masks=masks, labels=masks)
        np.save(base / f"{name}.npy", sil)
        cases.append({"name": name, "path": str(base / name), "silhouette": "MASK" if masks else "ALPHA",
                      "mesh": str(base / "box.npz"), "expected": str(base / f"{name}.npy")})
    rows = np.array([[2.732, 30.0, 15.0 * i] for i in range(6)])
    cams = from_softras(rows, 64)
    sil = convex_silhouettes(cams, verts)
    rgba = np.zeros((6, 4, 64, 64), np.uint8)
    rgba[:, 3] = (sil[:, :, ::-1] * 255).astype(np.uint8)  # SoftRas renders are mirrored
    rgba[:, :3] = 128
    (base / "softras").mkdir()
    np.save(base / "softras" / "source.npy", rgba)
    np.save(base / "softras" / "camera.npy", rows)
    np.save(base / "softras.npy", sil)
    cases.append({"name": "softras", "path": str(base / "softras" / "source.npy"), "silhouette": "AUTO",
                  "mesh": str(base / "box.npz"), "expected": str(base / "softras.npy")})
    cases.append({"name": "missing", "path": str(base / "nowhere"), "silhouette": "AUTO",
                  "expect_error": True})
    (base / "badjson").mkdir()
    (base / "badjson" / "transforms.json").write_text(json.dumps(
        {"camera_angle_x": 0.8,
         "frames": [{"file_path": "gone.png", "transform_matrix": np.eye(4).tolist()}]}))
    cases.append({"name": "missing_image", "path": str(base / "badjson"), "silhouette": "AUTO",
                  "expect_error": True})
    return cases


def test_setup_scene_cameras_reproduce_silhouettes(built_zip: Path, tmp_path: Path,
                                                    camera_cases: list[dict]) -> None:
    rep = run_driver("setup_scene", tmp_path, {"zip": str(built_zip), "cases": camera_cases})
    by_name = {c["name"]: c for c in rep["cases"]}
    for name, n, size in (("offcentre", 5, [80, 56]), ("pixel_aspect", 4, [64, 72]),
                          ("softras", 6, [64, 64])):
        c = by_name[name]
        assert c["result"] == ["FINISHED"] and c["cameras"] == n and c["resolution"] == size
        # Bug "Set up Scene reads the images on the main thread (152 ms)": it returns before the views
        # are read; they are read a few per timer tick and the cameras built one per tick.
        assert c["returned_first"]
        assert c["backgrounds"] == [2] * n and c["bg_images_loaded"]  # image + silhouette overlay
        assert min(c["ious"]) >= SETUP_IOU_MIN, (name, c["ious"])
    assert by_name["pixel_aspect"]["pixel_aspect"] == pytest.approx([1.3, 1.0], rel=1e-5)  # fy = 1.3 fx
    # Reported (a missing path at once, an unreadable view once the reading gets to it), and the scene is
    # left as it was.
    assert by_name["missing"]["result"] == ["CANCELLED"] and "input not found" in by_name["missing"]["error"]
    assert "gone.png" in by_name["missing_image"]["error"]
    for name in ("missing", "missing_image"):
        assert by_name[name]["unchanged"] and "SoftFit:" in by_name[name]["error"]
    assert rep["camera_collections"] == ["SoftFit Cameras"]  # set up again = replaced, not piled up


@pytest.fixture(scope="module")
def fit_report(built_zip: Path, ellipsoid_photos: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("fit")
    rep = run_driver("fit", work, {"zip": str(built_zip), "path": str(ellipsoid_photos), "image_size": 64,
                                   "polys": 500,
                                   "iterations": 150, "lr": 0.05, "holdout": 0.15, "refine_iterations": 15,
                                   "timeout": 4.0, "stall": 30.0}, timeout=420)
    rep["work"] = str(work)
    return rep


@pytest.fixture(scope="module")
def remesh_report(built_zip: Path, ellipsoid_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("remesh")
    args = {"zip": str(built_zip), "path": str(ellipsoid_dataset), "polys": 300, "iterations": 60,
            "timeout": 4.0}
    return run_driver("remesh_fit", work, args, timeout=300)


def test_streaming_follows_the_fits_remeshing(remesh_report: dict) -> None:
    """The backend remeshes during the fit: frames of a new topology arrive with their faces, the copy
    takes the new mesh, every later frame is written into it (vertex counts match, positions equal the
    frame's), and the result keeps the final topology."""
    r = remesh_report
    assert r["setup"] == ["FINISHED"] and r["init"] == ["FINISHED"] and r["fit_op"][0] == ["FINISHED"]
    d = r["drive"]
    assert d["outcome"] == "done" and d["matched"] and d["frames"] >= 3, d
    steps = r["metrics"]["remesh"]["steps"]
    assert r["metrics"]["remesh"]["enabled"] and steps
    assert r["topology_changes"] >= 1  # frames are latest-only: at least one new topology was taken
    assert any(c[0] != r["init_counts"][0] for c in r["counts"])  # the copy's mesh changed while streaming
    assert r["result_counts"][1] == r["metrics"]["mesh"]["faces"] == r["metrics"]["remesh"]["final_faces"]
    assert r["result_counts"][1] != r["init_counts"][1]
    # Detail Auto asks for remeshing, and the fit then ends with its final decimation; a Refine does not
    # remesh the artist's mesh
    assert r["params"]["remesh"] == "on" and "remesh" not in r["refine_params"]
    simplified = r["metrics"]["remesh"]["simplify"]
    assert simplified["faces_after"] == r["result_counts"][1] <= simplified["faces_before"]


def test_only_changed_settings_are_sent(fit_report: dict) -> None:
    """FitParams' defaults rule: an untouched panel sends no fit parameters, a touched one only what was
    set (views per step was left alone), a refinement its own step count."""
    assert fit_report["params_untouched"] == {}
    assert fit_report["params_set"] == {"iterations": 150, "lr": 0.05, "holdout": 0.15}
    assert fit_report["params_refine"] == {"iterations": 150, "lr": 0.05, "holdout": 0.15}  # refine's default


def test_missing_backend_is_reported(fit_report: dict) -> None:
    result, error, returned_first = fit_report["missing_backend"]
    assert result == ["FINISHED"] and returned_first  # the operator never waits for the backend
    st = fit_report["missing_backend_status"]
    assert st["error"] and not st["running"] and "backend interpreter not found" in st["message"]
    assert fit_report["missing_backend_scene_same"] and fit_report["missing_backend_no_job"]


def test_fit_streams_into_a_copy_and_scores(fit_report: dict) -> None:
    r = fit_report
    assert r["setup"] == ["FINISHED"] and r["init"] == ["FINISHED"]
    # Bug "Fit while the backend starts freezes Blender": Fit returns before the backend accepted the job.
    assert r["fit_op"][0] == ["FINISHED"] and r["fit_op"][2]
    assert r["timer_registered"]  # frames are applied by a bpy.app.timers function
    f = r["fit"]
    assert f["outcome"] == "done" and f["timer_ended"]
    # Latest-only frames: the count depends on the fit's speed; several distinct ones prove live streaming.
    assert f["frames"] >= 3 and f["distinct"] >= 3 and f["matched"]
    assert r["metrics"]["heldout_iou"] >= HELDOUT_MIN, r["metrics"]["heldout_iou"]
    assert r["metrics"]["cancelled"] is False and "held-out IoU" in r["status_message"]
    assert r["result_role"] == "result" and r["result_moved"] > 0.05
    # Undo safety: the initial sphere is untouched (hidden), so undoing the fit brings it back as it was.
    assert r["sphere_unchanged"] and r["sphere_hidden"]
    assert r["undo_poll_background"] is False  # why the mechanism, not ed.undo, is what is tested
    # Export writes world coordinates (Blender's frame, no axis swap) that read back as the fitted mesh.
    assert r["export_op"][0] == ["FINISHED"]
    exported = load_mesh(Path(r["work"]) / "fitted.ply")
    np.testing.assert_allclose(exported.verts, np.load(Path(r["work"]) / "fitted_world.npy"), atol=1e-5)


def test_fit_result_is_textured_from_the_photos(fit_report: dict) -> None:
    """The backend's finishing step textures the add-on's result, as `softfit fit` does its files."""
    t = fit_report["texture"]
    assert t["material"] is not None and t["image"][0] > 8 and t["image"][1] > 8 and t["packed"]
    assert t["uv_layers"] == 1 and t["triangles"] and t["uv_range"][0] >= 0.0 and t["uv_range"][1] <= 1.0
    # The views are flat colours drawn from [0.2, 0.8] per channel: the texture blends them, never black.
    assert all(0.2 - 0.02 <= c <= 0.8 + 0.02 for c in t["median_rgb"]), t["median_rgb"]
    assert fit_report["metrics"]["texture"]["baked_from"] == "training views"
    # from the 128x128 photos, as `softfit fit` bakes (the add-on sends them): the fit saw 64x64 copies
    assert fit_report["metrics"]["texture"]["photo_size"] == [128, 128]
    assert "from the photos at 128x128" in fit_report["status_message"]  # what the artist is told
    # While the photos are read (seconds for many large ones), the panel counts them.
    said = fit_report["fit_start_messages"]
    assert "reading the photos for the texture (1 of 16)" in said, said  # the 16 views of the ellipsoid
    assert "submitting the fit with 16 photos for the texture" in said, said
    assert fit_report["metrics"]["image_size"] == [64, 64]


def test_refine_keeps_pinned_vertices_and_replaces_the_result(fit_report: dict) -> None:
    r = fit_report
    assert r["refine_op"][0] == ["FINISHED"] and r["refine"]["outcome"] == "done"
    # No frame count here: a 15-step refine may end before the first tick on a fast machine (frames are
    # latest-only); live streaming is asserted by the fit test. The moves below prove the result landed.
    assert r["refine_pinned_max_move"] < 1e-6  # hand-edited pinned vertices stay exactly where they were
    # Refine Texture was ticked for this one: the backend refined the bake against the photos
    assert r["refine_texture"]["refine"]["steps"] > 0 and "refine" not in r["metrics"]["texture"]
    assert r["refine_free_max_move"] > 1e-3
    # Bug "every Fit adds another .fit, .fit.001...": one result per source, under one name.
    assert r["results_after_refine"] == [r["result_name"]] == [r["refine_name"]]
    assert r["refit"]["outcome"] == "done" and r["results_after_refit"] == [r["result_name"]]


def test_stop_and_keep_keeps_the_last_frame(fit_report: dict) -> None:
    r = fit_report
    assert r["cancel_fit_op"][0] == ["FINISHED"] and r["cancel_before"]["frames"] >= 3
    assert r["cancel_op"] == ["FINISHED"] and r["cancel_outcome"] == "cancelled"
    assert r["cancel_kept_last"] and r["cancel_still_last"] and not r["cancel_timer_left"]
    assert r["cancel_tick_after"] is None and r["cancel_metrics"]["cancelled"] is True
    assert r["results_after_keep"] == [r["result_name"]]


def test_cancel_restores_what_was_there(fit_report: dict) -> None:
    r = fit_report
    assert r["restore_before"]["frames"] >= 2 and r["restore_hidden_during"]
    assert r["restore_op"] == ["FINISHED"] and r["restore_copy_gone"] and r["restore_result_back"]
    assert r["restore_results"] == [r["result_name"]]


def test_main_thread_stall_loses_nothing(fit_report: dict) -> None:
    """Bug "any main-thread stall over 10 s kills the fit (unknown_job)": a 30 s stall with a 4 s timeout.
    The pump thread kept polling (= heartbeats) meanwhile; afterwards frames or the result still arrive."""
    r = fit_report
    assert r["stall_fit_op"][0] == ["FINISHED"] and r["stall_before"]["frames"] >= 1
    assert r["stall_polls_during"] >= 10, r["stall_polls_during"]
    assert r["stall_outcome"] in (None, "done"), r["stall_message"]
    assert r["stall_after"]["frames"] > r["stall_before"]["frames"] or r["stall_outcome"] == "done"
    assert r["stall_object_kept"]


def test_deleting_the_result_mid_fit_shows_the_source(fit_report: dict) -> None:
    r = fit_report
    assert r["delete_tick"] is None and r["delete_outcome"] == "failed" and "deleted" in r["delete_message"]
    assert r["delete_sphere_visible"] and r["delete_pump_ended"]


def test_fit_starts_from_the_evaluated_mesh(fit_report: dict) -> None:
    """Bug "shape keys and modifiers are ignored (z-extent 1.0 while the user sees 0.5)"."""
    assert fit_report["own_z"] == pytest.approx(1.0, abs=1e-3)
    assert fit_report["evaluated_z"] == pytest.approx(0.5, abs=1e-3)


def test_result_as_shape_key(fit_report: dict) -> None:
    r = fit_report
    assert r["key_fit"]["outcome"] == "done" and r["key_results"] == []
    assert r["key_names"] == ["Basis", "flat", "SoftFit"] and r["key_sphere_visible"]
    assert r["key_mix_error"] < 1e-5 and r["key_moved"] > 1e-3  # the artist sees exactly the fitted shape


def test_killed_backend_is_noticed_by_polling_and_scene_intact(fit_report: dict) -> None:
    r = fit_report
    assert r["kill_fit_op"][0] == ["FINISHED"] and r["kill_before"]["frames"] >= 1
    assert r["kill"]["outcome"] == "failed" and "backend" in r["kill"]["message"]
    # Polling the process, not the 4 s wire timeout, noticed it (bug: 10 s while the panel said connected).
    assert r["kill_detect_seconds"] < 3.0, r["kill_detect_seconds"]
    assert r["kill_status"]["error"] and not r["kill_status"]["running"]
    assert r["kill_summary"].startswith("not connected")
    assert r["kill_names_same"] and r["kill_sphere_visible"] and r["kill_sphere_unchanged"]
    assert r["kill_source_active"]  # the source is selected again, ready for the next try
    log = Path(r["backend_log"])  # the dead backend's log, kept in the extension's user folder
    assert log.is_file() and log.is_relative_to(r["work"]) and str(log) in r["kill"]["message"]
    assert "killed by signal 9" in r["kill"]["message"]
    # Bug "Cancel with a dead backend freezes Blender 10 s": Cancel never talks to the backend itself.
    assert r["dead_cancel_op"][0] == ["FINISHED"] and r["dead_cancel_job_cleared"]


def test_opening_another_file_cancels_the_fit(fit_report: dict) -> None:
    """Bug "opening a .blend during a fit ... a later Cancel writes into the new file's object"."""
    r = fit_report
    assert r["load_fit_op"][0] == ["FINISHED"] and r["load_decoy_found"]
    assert r["load_job_cleared"] and r["load_tick"] is None and not r["load_cancel_poll"]
    assert r["load_decoy_same"] and r["load_pump_ended"]


@pytest.fixture(scope="module")
def events_report(built_zip: Path, ellipsoid_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("events")
    return run_driver("session_events", work, {"zip": str(built_zip), "path": str(ellipsoid_dataset),
                                               "polys": 500, "iterations": 60, "long_iterations": 300,
                                               "holdout": 0.15, "timeout": 4.0}, timeout=420)


def test_modal_fit_passes_events_and_reports_the_outcome(events_report: dict) -> None:
    """The modal Fit's event handling (FitWatch, what `modal()` delegates to) on a real fit: every event
    passes through while the fit starts and runs; when it ends, the modal finishes with an INFO report
    carrying the held-out IoU and the time."""
    r = events_report
    assert r["watch_starting"] == [["PASS_THROUGH"]] and r["watch_other_event"] == ["PASS_THROUGH"]
    assert r["watch_end"] == ["FINISHED"] and r["watch_job_outcome"] == "done" and r["watch_events"] >= 2


def test_frames_are_converted_off_the_main_thread(events_report: dict) -> None:
    """Bug "a timer tick on a 100 k-vertex mesh up to 159-231 ms": the pump thread converts each frame to
    the object's local float32 buffer, the timer only copies it in; a copy moved mid-fit still gets the
    right world positions (frames converted for the old placement are converted again)."""
    r = events_report
    applied, copied = r["watch_frames"]
    assert applied >= 2 and copied >= applied - 1  # only a frame that came before the target was known
    assert r["moved_drive"]["frames"] >= 2 and r["moved_drive"]["matched"]
    level, text = r["watch_report"]
    assert level == ["INFO"] and text.startswith("SoftFit: fit done") and "held-out IoU" in text
    assert text.rstrip().endswith(" s") or " s," in text  # the time


def test_esc_cancels_the_fit_and_restores_the_scene(events_report: dict) -> None:
    r = events_report
    assert r["esc_pass_before"] == ["PASS_THROUGH"]
    result, level, text = r["esc"]
    assert result == ["CANCELLED"] and level == ["WARNING"] and "cancelled at iteration" in text
    assert r["esc_copy_gone"] and r["esc_sphere_visible"] and r["esc_job_cleared"] and r["esc_pump_ended"]


def test_fit_that_cannot_start_ends_the_modal_with_an_error(events_report: dict) -> None:
    result, level, text = events_report["start_error"]
    assert result == ["CANCELLED"] and level == ["ERROR"] and "backend interpreter not found" in text


def test_status_bar_and_panel_show_the_running_fit(events_report: dict) -> None:
    """The status bar's and the panel's real draw functions, drawn into a recording layout (bpy draws no
    UI): a progress bar at the fit's iteration, Cancel / Stop & Keep and the Esc hint; nothing after."""
    r = events_report
    it, total = r["running_iteration"], r["running_iterations"]
    assert 0 < it <= total
    (bar,) = r["bar_progress"]
    assert bar["type"] == "BAR" and bar["text"].startswith("SoftFit ") and "/" in bar["text"]
    shown_it = int(bar["text"].split()[1].split("/")[0])
    assert bar["factor"] == pytest.approx(shown_it / total) and shown_it >= it
    assert any("Esc cancels" in t for t in r["bar_texts"])
    assert [(op, attrs.get("keep")) for op, attrs in r["panel_running_ops"] if op == "softfit.cancel"] == [
        ("softfit.cancel", False), ("softfit.cancel", True)]
    assert "Esc cancels" in r["panel_running_texts"]
    assert r["bar_after"] == []


def test_fit_reattaches_when_its_file_is_opened_again(events_report: dict) -> None:
    """Bug "a fit is cancelled when a .blend is loaded": the file saved mid-fit and opened again holds the
    fit's copy (found by its tag): the same job goes on, streams into the opened file's object, ends."""
    r = events_report
    assert r["reattach_fit_op"][0] == ["FINISHED"]
    assert r["reattach_same_job"] and r["reattach_timer"] and r["reattach_copy_tagged"]
    assert r["reattach_status"]["running"] and "reattached" in r["reattach_status"]["message"]
    assert r["reattach"]["outcome"] == "done" and r["reattach_result"]
    assert r["reattach_moved_after_load"] > 1e-4  # frames arrived after the load
    assert r["reattach_metrics"]["heldout_iou"] >= HELDOUT_MIN and r["reattach_untagged"]
    assert len(r["reattach_results"]) == 1


def test_other_file_cancels_and_interrupted_copy_is_restored(events_report: dict) -> None:
    """A file without the fit's copy cancels the job (pump ends); a file saved mid-fit, opened once that
    fit no longer runs, gets its copy removed and the original shown again, as Cancel would."""
    r = events_report
    assert r["other_job_cleared"] and r["other_pump_ended"] and not r["other_status"]["running"]
    assert "does not hold" in r["other_status"]["message"]
    # The file holds the first fit's result (hidden during the interrupted fit) and the tagged copy.
    assert r["stale_copies"] == [] and r["stale_sphere_visible"] and len(r["stale_results"]) == 1
    assert r["stale_results_visible"] == [True]
    assert "interrupted" in r["stale_status"]["message"]

def test_headless_script_under_plain_python(render_dataset_cached, tmp_path: Path) -> None:
    """The headless script on a Blender-rendered ALOI-layout dataset (Suzanne on black), the images sent
    to the backend for its threshold segmentation (the mask files are covered by the other tests)."""
    aloi = render_dataset_cached("suzanne", layout="aloi", views=24, size="96x72") / "png2" / "suzanne"
    out = tmp_path / "out"
    cmd = [sys.executable, str(ROOT / "scripts" / "fit_in_blender.py"), str(aloi), "--image-size", "0",
           "--init", "sphere", "--polys", "800", "--iterations", "60", "--lr", "0.05", "--holdout", "0.15",
           "--silhouette", "threshold", "--save", str(tmp_path / "result.blend"), "--out", str(out)]
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(tmp_path / "user"))
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "frames streamed" in proc.stdout and "silhouettes by the backend (threshold)" in proc.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    print("headless held-out IoU", metrics["heldout_iou"])
    assert metrics["heldout_iou"] >= HEADLESS_HELDOUT_MIN, metrics["heldout_iou"]
    obj, ply = load_mesh(out / "mesh.obj"), load_mesh(out / "mesh.ply")
    assert np.allclose(obj.verts, ply.verts, atol=1e-6) and obj.n_faces == ply.n_faces == 840
    rep = run_driver("inspect_blend", tmp_path / "inspect", {"blend": str(tmp_path / "result.blend")})
    kinds = [o["type"] for o in rep["objects"].values()]
    assert kinds.count("CAMERA") == 24 + 1  # the views' cameras + the start-up file's own camera
    roles = sorted(str(o["role"]) for o in rep["objects"].values() if o["type"] == "MESH")
    # Bug "deletes every object in the opened file unless --keep-scene": the start-up Cube is kept.
    assert roles == ["None", "initial", "result"] and "Cube" in rep["objects"]
    assert rep["metrics"]["heldout_iou"] == pytest.approx(metrics["heldout_iou"])
    saved = np.load(tmp_path / "inspect" / "blend_fitted_world.npy")
    assert np.allclose(saved, obj.verts, atol=1e-5)  # the .blend and the mesh files hold the same result


def test_backend_initial_meshes_hull_and_bbox(built_zip: Path, ellipsoid_dataset: Path,
                                              tmp_path: Path) -> None:
    """Initial Mesh with Visual Hull / Bounding Box: the backend builds it from the views (`prepare`)."""
    from softfit.mesh.types import Mesh
    from softfit.metrics import render_silhouettes

    rep = run_driver("backend_init", tmp_path, {"zip": str(built_zip), "path": str(ellipsoid_dataset),
                                                "polys": 500})
    result, error = rep["bad"]
    assert result == ["CANCELLED"] and "SoftFit:" in error and rep["bad_scene_same"]
    cams = ring_cameras(16, 64, 64, elevations=(25, -15, 5))  # as ellipsoid_dataset
    verts = uv_sphere(200, 1.0).verts * np.array([0.55, 0.35, 0.28]) + np.array([0.1, -0.05, 0.05])
    want = convex_silhouettes(cams, verts) > 0.5
    ious = {}
    assert rep["AUTO"]["name"].startswith("SoftFit Hull")  # Auto = visual hull when views exist
    rep["HULL"] = rep.pop("AUTO")
    for method in ("HULL", "BBOX"):
        m = rep[method]
        assert m["result"] == ["FINISHED"] and m["role"] == "initial", m["error"]
        assert m["returned_first"]  # bug "Visual Hull freezes Blender 1.5-2.7 s": built in a worker
        faces = np.asarray(m["faces"], np.int64)
        assert faces.ndim == 2 and faces.shape[1] == 3 and len(faces) > 100
        got = render_silhouettes(Mesh(np.asarray(m["verts"]), faces), cams) > 0.5
        ious[method] = float(((got & want).sum((1, 2)) / (got | want).sum((1, 2))).min())
    print(f"backend initial meshes, worst-view IoU: {ious}")
    assert ious["HULL"] > 0.85 and ious["HULL"] > ious["BBOX"]
    # Detail Auto: the backend's rule sizes the hull from the images, not Triangles (1 500 here)
    assert 100 < rep["HULL_AUTO_faces"] < 1000, (rep["HULL_AUTO_faces"], rep["HULL_AUTO_message"])


def test_sfm_camera_source_sets_up_backend_cameras(built_zip: Path, ellipsoid_dataset: Path,
                                                   tmp_path: Path) -> None:
    """Camera source SfM: Set up Scene asks the backend (`prepare`); the flat-coloured views give SfM
    nothing to match, so the backend's evenly spaced turntable (elevation 0, distance 2.732) comes back
    instead of the dataset's own cameras (distance 3, elevations 25/-15/5)."""
    rep = run_driver("sfm_setup", tmp_path, {"zip": str(built_zip), "path": str(ellipsoid_dataset),
                                             "polys": 300})
    result, error = rep["init_first"]
    assert result == ["CANCELLED"] and "Set up Scene" in error
    assert rep["setup"][0] == ["FINISHED"], rep["setup"]
    assert rep["setup_returned_first"] and not rep["setup_status"]["error"]  # SfM ran in a worker
    c2w = np.asarray(rep["c2w"])
    blender = np.asarray(rep["cameras"])
    assert c2w.shape == (16, 4, 4) and blender.shape == (16, 4, 4)
    pos = c2w[:, :3, 3]
    np.testing.assert_allclose(np.linalg.norm(pos, axis=1), 2.732, atol=1e-3)
    np.testing.assert_allclose(pos[:, 2], 0.0, atol=1e-3)
    np.testing.assert_allclose(blender[:, :3, 3], pos, atol=1e-4)  # the scene's cameras are SfM's
    assert rep["init"][0] == ["FINISHED"] and rep["init_faces"] > 0  # later operators use the cached cameras


def test_read_with_backend_opens_a_colmap_project_blender_cannot(built_zip: Path, ellipsoid_dataset: Path,
                                                               tmp_path: Path) -> None:
    """A COLMAP project (pycolmap, backend only): Set up Scene says it cannot read it; Read with Backend
    runs `softfit views` with the backend's interpreter, switches the input to what it wrote and sets the
    scene up from it, with the project's own cameras."""
    import json
    import shutil

    from colmap_support import write_colmap

    from softfit.cameras import load_transforms

    project = tmp_path / "project"
    shutil.copytree(ellipsoid_dataset / "images", project / "images")
    cams, _ = load_transforms(ellipsoid_dataset / "transforms.json")
    write_colmap(project / "sparse" / "0", cams)
    rep = run_driver("read_with_backend", tmp_path / "work", {"zip": str(built_zip), "path": str(project)},
                     timeout=600)
    assert rep["plain_status"]["error"] and "COLMAP project" in rep["plain_status"]["message"]
    assert rep["op"][0] == ["FINISHED"] and rep["returned_first"]  # the backend reads in a child process
    assert not rep["status"]["error"], rep["status"]
    out = Path(rep["input_path"])
    assert out != project and (out / "transforms.json").is_file() and "16 cameras" in rep["status"]["message"]
    meta = json.loads((out / "transforms.json").read_text())
    assert len(meta["frames"]) == 16 and "softfit_segmentation" not in meta  # alpha given, not segmented
    blender = np.asarray(rep["cameras"])
    np.testing.assert_allclose(blender[:, :3, 3], cams.c2w[:, :3, 3], atol=1e-4)  # the project's cameras


@pytest.fixture(scope="module")
def backend_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The SoftFit backend wheel as `make dist` builds it (pip wheel, compiled rasteriser inside; CPU
    kernels only here, to keep the build short), from a copy of the sources."""
    src = tmp_path_factory.mktemp("src")
    ignore = shutil.ignore_patterns("__pycache__", "*.so", "*.egg-info", "*.pyc")
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for name in ("csrc", "backend"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    out = tmp_path_factory.mktemp("wheel")
    env = dict(os.environ, SOFTFIT_NO_CUDA="1")
    cmd = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
           "--wheel-dir", str(out), str(src)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    wheel = next(out.glob("softfit-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        assert any(n.startswith("softfit/_C") and n.endswith(".so") for n in z.namelist())
    return wheel


def test_install_backend_from_preferences_then_first_fit(built_zip: Path, backend_wheel: Path,
                                                         ellipsoid_dataset: Path, tmp_path: Path) -> None:
    """Bug "it needs a terminal": on a fresh user profile, Install Local Backend pip-installs the wheel
    into the add-on's user folder, passes its self-test fit and fills in the interpreter; the first fit
    (Set up Scene, Visual Hull, Fit) then runs on that backend. Dependencies are shared into the new
    environment by a .pth file (see the scenario), the SoftFit package itself is installed by pip."""
    rep = run_driver("install_backend", tmp_path, {"zip": str(built_zip), "wheel": str(backend_wheel),
                                                   "path": str(ellipsoid_dataset)}, timeout=1200)
    assert rep["python_before"] == "" and rep["install_op"][0] == ["FINISHED"]
    assert rep["error"] == "" and rep["progress"] == 1.0, rep["log_tail"]
    venv = Path(rep["python_after"]).parent.parent
    assert venv.name == "backend-venv" and venv.is_relative_to(tmp_path)  # the add-on's user folder
    assert Path(rep["softfit_from"]).is_relative_to(venv), rep["softfit_from"]  # pip put softfit there
    assert rep["selftest"]["train_iou"] >= 0.85
    assert rep["setup"][0] == ["FINISHED"] and rep["hull"][0] == ["FINISHED"]
    assert rep["fit_op"][0] == ["FINISHED"] and rep["backend_python"] == rep["python_after"]
    assert rep["fit"]["outcome"] == "done", rep["fit"]
    assert rep["metrics"]["heldout_iou"] >= 0.8, rep["metrics"]


def test_import_result_brings_the_textured_mesh(built_zip: Path, render_dataset_cached,
                                                tmp_path: Path) -> None:
    from softfit.cli import main

    data = render_dataset_cached("suzanne", views=12, size=64, cameras="rings", scale=1.6)
    out = tmp_path / "result"
    assert main(["fit", str(data), "--out", str(out), "--quiet", "--init", "sphere", "--polys", "300",
                 "--iterations", "20", "--image-size", "64"]) == 0
    rep = run_driver("import_result", tmp_path, {"zip": str(built_zip), "folder": str(out)})
    assert rep["errors"] == [] and rep["result"] == [["FINISHED"], ""]
    assert rep["missing"][0] == ["CANCELLED"] and "not found" in rep["missing"][1]
    mesh = load_mesh(out / "mesh.obj")
    # Seams merged back: the same vertices as the fitted mesh, in the same world place (+Z up).
    assert (rep["verts"], rep["faces"]) == (mesh.n_verts, mesh.n_faces)
    world = np.asarray(rep["world"])
    assert np.allclose(np.sort(world, axis=0), np.sort(mesh.verts, axis=0), atol=1e-5)
    assert rep["base_color_from"] == "TEX_IMAGE" and rep["active_node"] == "TEX_IMAGE"
    assert rep["uv_layers"] == 1 and rep["image_size"][0] > 0
    # The material's image node holds the baked (and refined) texture itself, pixel for pixel.
    with Image.open(out / "texture.png") as im:
        baked = np.asarray(im.convert("RGB"))
    assert np.array_equal(np.asarray(rep["image_rgb"], dtype=np.uint8), baked)


def test_quad_remesh_runs_in_the_background_and_keeps_the_shape(built_zip: Path, tmp_path: Path) -> None:
    sphere = uv_sphere(600, 0.6)
    verts = sphere.verts * (1 + 0.15 * np.sin(4 * sphere.verts[:, [2]]))  # a smooth, non-round surface
    uv, image = painted(verts, sphere.faces, texel=0.01)  # its colour says where a point is
    np.savez(tmp_path / "mesh.npz", verts=verts, faces=sphere.faces, uv=uv, image=image)
    rep = run_driver("quad_remesh", tmp_path, {"zip": str(built_zip), "mesh": str(tmp_path / "mesh.npz")})
    assert rep["errors"] == [] and rep["result"] == [["FINISHED"], ""]
    # QuadriFlow takes seconds in its own process; the button returns at once and cannot be pressed twice.
    assert rep["returned_after"] < 1.0 and rep["busy"] and not rep["poll_while_busy"]
    assert rep["quads"], rep["status"]
    assert not rep["status"]["error"] and "within" in rep["status"]["message"], rep["status"]
    assert rep["source_hidden"] and rep["source_unchanged"] and rep["active"] == "Fitted Quads"
    faces = rep["polygons"]
    assert np.mean([len(f) == 4 for f in faces]) > 0.95 and rep["smooth"]
    assert (edge_face_counts(faces) == 2).all()
    source = np.asarray(rep["world_source"])
    diag = float(np.linalg.norm(source.max(0) - source.min(0)))
    p99 = p99_distance(source, sphere.faces, np.asarray(rep["world"]), fan(faces))
    assert p99 / diag <= 0.005 * 1.25, "within the 0.5 % tolerance, in world space"
    # The texture came along: the quads' own UVs and image show each point's (local) position.
    assert rep["source_materials"] == ["painted"] and len(rep["materials"]) == 1
    assert rep["materials"] != rep["source_materials"] and "textured" in rep["status"]["message"]
    tex = np.load(rep["texture_file"])
    loops = [list(x) for x in np.split(np.arange(len(tex["uv"])), np.cumsum([len(f) for f in faces])[:-1])]
    corner = np.concatenate([np.asarray(f) for f in faces])
    points, at = textured_samples(np.asarray(rep["world"]), corner[fan(loops)], tex["uv"][fan(loops)], 4000)
    local = (points - np.array([0.3, -0.2, 1.0])) / 1.5
    err = np.abs(texel_lookup(tex["image"], at) - position_colour(local))
    assert err.mean() < 2.0 and np.percentile(err, 99) < 8.0, (err.mean(), np.percentile(err, 99))

"""Blender-side scenarios of the add-on tests, one per process (bpy allows one per process):

    python tests/addon_driver.py SCENARIO ARGS_JSON REPORT_JSON

Each scenario installs the built zip into a temporary local extension repository, enables it as
bl_ext.sftest.softfit, drives it through its operators (as a user would press the buttons) and writes
what it observed to REPORT_JSON; the pytest side asserts on that. Timers do not fire without a window,
so fits are driven by calling the add-on's own timer functions in a loop, as Blender would: `settle()`
runs the task pump until the worker threads' results are handled (backend start, prepare, submit).
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path
from types import ModuleType

import bpy
import numpy as np

addon_utils = importlib.import_module("addon_utils")  # on sys.path once bpy is imported

REPO = "sftest"
NAME = f"bl_ext.{REPO}.softfit"
OUR_CLASSES = ("SOFTFIT_OT_fit", "SOFTFIT_OT_refine", "SOFTFIT_OT_cancel", "SOFTFIT_OT_setup_scene",
               "SOFTFIT_OT_initial_mesh", "SOFTFIT_OT_export", "SOFTFIT_OT_backend_start",
               "SOFTFIT_OT_backend_stop", "SOFTFIT_OT_backend_restart", "SOFTFIT_OT_install_backend",
               "SOFTFIT_OT_cancel_install", "SOFTFIT_PT_main", "SOFTFIT_PT_input", "SOFTFIT_PT_advanced",
               "SOFTFIT_PT_result", "SOFTFIT_OT_import_result", "SOFTFIT_OT_quad_remesh",
               "SOFTFIT_OT_read_with_backend")


LOGIC = ("backend_path", "errors", "fitdata", "geometry", "installer", "meshfile", "session", "summary",
         "views")


def where(sub: str) -> str:
    """The add-on's module `sub` ("session", "wire.launcher") by its place: logic/, blender/ or shipped."""
    head = sub.split(".")[0]
    return sub if head in ("wire", "core") else f"{'logic' if head in LOGIC else 'blender'}.{sub}"


def mod(sub: str = "") -> ModuleType:
    return sys.modules[NAME + (f".{where(sub)}" if sub else "")]


def install(zip_path: str, repo_dir: Path) -> list[str]:
    """Start from an empty scene (no default cube), install and enable the zip; returns errors reported
    while enabling."""
    for obj in list(bpy.data.objects):
        bpy.data.objects.remove(obj)
    errors: list[str] = []
    bpy.context.preferences.extensions.repos.new(name=REPO, module=REPO, custom_directory=str(repo_dir),
                                                 source="USER")
    result = bpy.ops.extensions.package_install_files(filepath=zip_path, repo=REPO, enable_on_install=False)
    if result != {"FINISHED"}:
        errors.append(f"install returned {result}")
    addon_utils.enable(NAME, default_set=True, handle_error=lambda e: errors.append(repr(e)))
    return errors


def call(op) -> tuple[list[str], str]:
    """Run an operator as a button would; an ERROR report (RuntimeError from Python) -> CANCELLED."""
    try:
        return sorted(op()), ""
    except RuntimeError as exc:
        return ["CANCELLED"], str(exc)


def settle(limit: float = 180.0) -> None:
    """Run the add-on's task pump until every worker thread's result has been handled."""
    if not mod("tasks").wait(timeout=limit):
        raise RuntimeError(f"background tasks still running after {limit} s")


def activate(obj: bpy.types.Object) -> None:
    """Make `obj` active as a click would; the view layer is synced first (objects removed since the last
    sync would otherwise be stale in it, and Blender can crash setting the active object then)."""
    bpy.context.view_layer.update()
    bpy.context.view_layer.objects.active = obj


def setup() -> list[str]:
    """Press Set up Scene and wait until the views are read and the cameras built (timer ticks)."""
    result = sorted(bpy.ops.softfit.setup_scene())
    settle()
    return result


def status() -> dict:
    st = bpy.context.window_manager.softfit
    return {"error": st.error, "running": st.running, "message": st.message, "backend": st.backend}


def set_backend(python: str, timeout: float = 10.0) -> None:
    prefs = bpy.context.preferences.addons[NAME].preferences
    prefs.mode, prefs.python, prefs.timeout = "LOCAL", python, timeout


def leftovers() -> list[str]:
    """Anything of ours still registered after the add-on was disabled."""
    left = [c for c in OUR_CLASSES if hasattr(bpy.types, c)]
    left += [f"{t.__name__}.softfit" for t in (bpy.types.Scene, bpy.types.WindowManager)
             if hasattr(t, "softfit")]
    draw_funcs = getattr(bpy.types.STATUSBAR_HT_header.draw, "_draw_funcs", [])
    left += [f"status bar {f.__module__}" for f in draw_funcs if "softfit" in f.__module__]
    session = sys.modules.get(f"{NAME}.logic.session")
    if session is not None and session._session is not None:
        left.append("session state")
    streaming = sys.modules.get(f"{NAME}.blender.streaming")
    if streaming is not None and bpy.app.timers.is_registered(streaming.tick):
        left.append("timer")
    if streaming is not None and bpy.app.timers.is_registered(streaming.watch):
        left.append("watch timer")
    if streaming is not None:
        left += [f"handler {h}" for h, fn in streaming.HANDLERS if fn in getattr(bpy.app.handlers, h)]
    tasks = sys.modules.get(f"{NAME}.blender.tasks")
    if tasks is not None and (tasks._tasks or bpy.app.timers.is_registered(tasks.pump)):
        left.append("tasks")
    return left


def local_verts(obj: bpy.types.Object) -> np.ndarray:
    co = np.empty(len(obj.data.vertices) * 3, np.float32)
    obj.data.vertices.foreach_get("co", co)
    return co.reshape(-1, 3).astype(np.float64)


def world_verts(obj: bpy.types.Object) -> np.ndarray:
    m = np.array(obj.matrix_world)
    return local_verts(obj) @ m[:3, :3].T + m[:3, 3]


# ---------------------------------------------------------------------------------------------------


def lifecycle(args: dict, work: Path) -> dict:
    rep: dict = {"errors": install(args["zip"], work / "repo")}
    rep["enabled"] = NAME in bpy.context.preferences.addons
    rep["registered"] = [c for c in OUR_CLASSES if hasattr(bpy.types, c)]
    rep["properties"] = hasattr(bpy.types.Scene, "softfit") and hasattr(bpy.types.WindowManager, "softfit")
    draw_funcs = getattr(bpy.types.STATUSBAR_HT_header.draw, "_draw_funcs", [])
    rep["status_bar_hooked"] = any("softfit" in f.__module__ for f in draw_funcs)
    prefs = bpy.context.preferences.addons[NAME].preferences
    rep["prefs_idname"] = type(prefs).bl_idname
    user_dir = mod("userdata").user_dir()
    rep["user_dir"] = str(user_dir)
    rep["user_dir_exists"] = user_dir.is_dir()
    site = Path(bpy.utils.user_resource("EXTENSIONS")) / ".local" / "lib" / "python3.11" / "site-packages"
    rep["wheel_installed"] = sorted(p.name for p in site.glob("pyzmq-*.dist-info"))
    rep["torch_imported"] = "torch" in sys.modules
    # Backend buttons: start, restart (a new process), then disable must stop it.
    s = bpy.context.scene.softfit
    s.preset = "QUICK"
    rep["quick"] = [s.iterations, s.image_size, s.init_polys]
    s.preset = "DETAILED"
    rep["detailed"] = [s.iterations, s.image_size, s.init_polys]
    s.preset = "BALANCED"
    set_backend(sys.executable)
    rep["start"] = sorted(bpy.ops.softfit.backend_start())
    # The operator returned while the backend was still starting (torch imports for seconds).
    rep["start_returned_first"] = mod("session").get().client is None and mod("tasks").busy() is not None
    settle()
    s = mod("session").get()
    rep["summary"] = s.summary()
    rep["info"] = {k: s.info.get(k) for k in ("protocol", "version", "device", "device_name")}
    pid1 = s.local.process.pid
    rep["restart"] = sorted(bpy.ops.softfit.backend_restart())
    settle()
    proc2 = mod("session").get().local.process
    rep["restart_new_process"] = proc2.pid != pid1
    # A "remote" backend (a server we start ourselves on 127.0.0.1): right token, then a wrong one.
    remote = mod("wire.launcher").launch_local_backend(sys.executable, ["--bind", "127.0.0.1"])
    prefs.mode, prefs.address, prefs.token, prefs.timeout = "REMOTE", remote.address, remote.token, 3.0
    rep["remote_start"] = call(bpy.ops.softfit.backend_start)
    settle()
    rep["remote_summary"] = mod("session").get().summary()
    rep["local_stopped_on_switch"] = proc2.poll() is not None
    prefs.token = "0" * 64
    rep["bad_token"] = call(bpy.ops.softfit.backend_restart)
    settle()
    rep["bad_token_status"] = status()
    rep["bad_token_connected"] = mod("session").get().connected
    # An unreachable remote: the operator returns at once, the error arrives later.
    prefs.address = "tcp://127.0.0.1:9"
    rep["unreachable"] = call(bpy.ops.softfit.backend_start)
    rep["unreachable_returned_first"] = mod("tasks").busy("backend") is not None
    settle()
    rep["unreachable_status"] = status()
    remote.stop()
    set_backend(sys.executable)
    rep["restart_local"] = call(bpy.ops.softfit.backend_start)
    settle()
    proc2 = mod("session").get().local.process
    # A local backend that dies while no fit runs: the watch timer notices, the panel stops saying so.
    proc2.kill()
    proc2.wait()
    rep["watch_next"] = mod("streaming").watch()
    rep["dead_summary"] = mod("session").get().summary()
    rep["dead_status"] = status()
    rep["restart_after_death"] = call(bpy.ops.softfit.backend_start)
    settle()
    proc2 = mod("session").get().local.process
    rep["cycles"] = []
    for _ in range(2):
        errs: list[str] = []
        addon_utils.disable(NAME, default_set=True, handle_error=lambda e, errs=errs: errs.append(repr(e)))
        cycle = {"disable_errors": errs, "leftovers": leftovers(), "enabled_after_disable":
                 NAME in bpy.context.preferences.addons}
        cycle["backend_exit_code"] = proc2.poll() if proc2 is not None else None
        proc2 = None
        addon_utils.enable(NAME, default_set=True, handle_error=lambda e, errs=errs: errs.append(repr(e)))
        cycle["enable_errors"] = list(errs)
        cycle["registered"] = sum(hasattr(bpy.types, c) for c in OUR_CLASSES)
        cycle["fresh_session"] = mod("session")._session is None or mod("session")._session.client is None
        rep["cycles"].append(cycle)
    rep["torch_imported_end"] = "torch" in sys.modules
    return rep


def initial_mesh(args: dict, work: Path) -> dict:
    install(args["zip"], work / "repo")
    s = bpy.context.scene.softfit
    out = []
    for polys in args["polys"]:
        s.init_polys, s.init_radius, s.init_center = polys, args["radius"], args["center"]
        result = bpy.ops.softfit.initial_mesh()
        obj = bpy.context.active_object
        mesh = obj.data
        v = world_verts(obj)
        dist = np.linalg.norm(v - np.asarray(args["center"]), axis=1)
        sizes = [len(p.vertices) for p in mesh.polygons]
        edges: dict[tuple[int, int], int] = {}
        outward = 0
        for p in mesh.polygons:
            vs = list(p.vertices)
            for a, b in zip(vs, vs[1:] + vs[:1], strict=True):
                key = (min(a, b), max(a, b))
                edges[key] = edges.get(key, 0) + 1
            centroid = v[vs].mean(axis=0)
            normal = np.cross(v[vs[1]] - v[vs[0]], v[vs[2]] - v[vs[0]])
            outward += float(np.dot(normal, centroid - np.asarray(args["center"]))) > 0
        out.append({"polys": polys, "result": sorted(result), "name": obj.name, "verts": len(mesh.vertices),
                    "faces": len(mesh.polygons), "max_face_size": max(sizes), "min_face_size": min(sizes),
                    "radius_err": float(np.abs(dist - args["radius"]).max()),
                    "edge_use": sorted(set(edges.values())), "outward": outward,
                    "role": obj.get("softfit_role")})
    # A large sphere: arrays in a worker thread, the mesh built over several pump ticks (bounded steps),
    # valid and equal to the one built in one go.
    out_big: dict = {}
    if args.get("big_polys"):
        s.init_polys, s.init_center = args["big_polys"], (0.0, 0.0, 0.0)
        before = len(bpy.data.objects)
        out_big["result"] = sorted(bpy.ops.softfit.initial_mesh(method="SPHERE"))
        out_big["returned_first"] = len(bpy.data.objects) == before
        ticks = 0
        while mod("tasks").busy() is not None and ticks < 100000:
            if mod("tasks").pump() is None:
                break
            ticks += 1
            time.sleep(0.001)
        obj = bpy.context.active_object
        me = obj.data
        starts = np.empty(len(me.polygons), np.int32)
        me.polygons.foreach_get("loop_start", starts)
        meshes = mod("meshes")
        ref = meshes.mesh_from_arrays("ref", *meshes.sphere_arrays(args["big_polys"], args["radius"]))
        close = np.allclose(meshes.local_verts(me), meshes.local_verts(ref), atol=1e-6)  # radius in float32
        out_big |= {"ticks": ticks, "faces": len(me.polygons), "ref_faces": len(ref.polygons),
                    "starts_ok": bool(np.array_equal(starts, np.arange(0, 3 * len(starts), 3))),
                    "same_verts": bool(close),
                    "same_tris": bool(np.array_equal(meshes.triangles(me), meshes.triangles(ref))),
                    "validate_changed": bool(me.validate(verbose=False)), "role": obj.get("softfit_role")}
    # Reading a mesh for a fit: triangles as they are, quads and n-gons split as fans, in polygon order.
    me = bpy.data.meshes.new("ngons")
    me.from_pydata([(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0), (2, 0, 0), (2, 1, 0), (3, 0.5, 0)], [],
                   [(0, 1, 2, 3), (1, 4, 2), (4, 6, 5, 2)])
    tris = mod("meshes").triangles(me).tolist()
    return {"meshes": out, "ngon_triangles": tris, "big": out_big}


def backend_init(args: dict, work: Path) -> dict:
    """Bad input first (scene unchanged), then the visual hull and the bbox mesh from a real backend."""
    install(args["zip"], work / "repo")
    set_backend(sys.executable, timeout=args.get("timeout", 10.0))
    s = bpy.context.scene.softfit
    s.image_size, s.silhouette, s.init_polys = 0, "AUTO", args["polys"]
    s.input_path, s.init_method = str(work / "no-such-folder"), "HULL"
    before = sorted(o.name for o in bpy.data.objects)
    rep: dict = {"bad": call(bpy.ops.softfit.initial_mesh)}
    rep["bad_scene_same"] = sorted(o.name for o in bpy.data.objects) == before
    s.input_path = args["path"]
    for method in ("AUTO", "BBOX"):  # Auto = the visual hull: the scene has views
        s.init_method = method
        before = len(bpy.data.objects)
        result, error = call(bpy.ops.softfit.initial_mesh)
        returned_first = len(bpy.data.objects) == before and mod("tasks").busy("prepare") is not None
        settle()
        if not error and bpy.context.window_manager.softfit.error:
            error = bpy.context.window_manager.softfit.message
        obj = bpy.context.active_object
        polys = obj.data.polygons
        rep[method] = {"result": result, "error": error, "name": obj.name, "role": obj.get("softfit_role"),
                       "returned_first": returned_first,
                       "verts": world_verts(obj).tolist(), "faces": [list(p.vertices) for p in polys]}
    s.init_method, s.detail, s.init_polys = "HULL", "AUTO", 3 * args["polys"]  # Auto: the backend's rule
    call(bpy.ops.softfit.initial_mesh)
    settle()
    rep["HULL_AUTO_faces"] = len(bpy.context.active_object.data.polygons)
    rep["HULL_AUTO_message"] = bpy.context.window_manager.softfit.message
    mod("session").disconnect()
    return rep


def sfm_setup(args: dict, work: Path) -> dict:
    """Camera source SfM: Fit before Set up Scene is refused; Set up Scene gets the backend's cameras."""
    install(args["zip"], work / "repo")
    set_backend(sys.executable, timeout=args.get("timeout", 10.0))
    s = bpy.context.scene.softfit
    s.input_path, s.image_size, s.silhouette, s.camera_source = args["path"], 0, "AUTO", "SFM"
    s.init_method, s.init_polys = "HULL", args["polys"]
    rep: dict = {"init_first": call(bpy.ops.softfit.initial_mesh)}
    rep["setup"] = call(bpy.ops.softfit.setup_scene)
    rep["setup_returned_first"] = bpy.data.collections.get("SoftFit Cameras") is None
    settle()
    rep["setup_status"] = status()
    coll = bpy.data.collections.get("SoftFit Cameras")
    cams = sorted(coll.objects, key=lambda o: o["softfit_view"]) if coll is not None else []
    rep["cameras"] = [[list(r) for r in c.matrix_world] for c in cams]
    _views, data = next(iter(mod("session").get().views.values()))
    rep["c2w"] = np.asarray(data.cameras.c2w).tolist()
    rep["init"] = call(bpy.ops.softfit.initial_mesh)
    settle()
    obj = bpy.context.active_object
    rep["init_faces"] = len(obj.data.polygons) if obj is not None else 0
    mod("session").disconnect()
    return rep


def read_with_backend(args: dict, work: Path) -> dict:
    """Read with Backend on an input Blender cannot decode: the backend writes its views into the add-on's
    user folder, the input becomes that folder, and Set up Scene runs from it."""
    install(args["zip"], work / "repo")
    set_backend(sys.executable, timeout=args.get("timeout", 10.0))
    s = bpy.context.scene.softfit
    s.input_path, s.image_size, s.silhouette, s.camera_source = args["path"], 0, "AUTO", "FILE"
    rep: dict = {"plain_setup": call(bpy.ops.softfit.setup_scene)}
    settle()
    rep["plain_status"] = status()
    rep["op"] = call(bpy.ops.softfit.read_with_backend)
    rep["returned_first"] = mod("tasks").busy("convert") is not None
    settle(limit=600)
    rep["status"] = status()
    rep["input_path"] = s.input_path
    coll = bpy.data.collections.get("SoftFit Cameras")
    cams = sorted(coll.objects, key=lambda o: o["softfit_view"]) if coll is not None else []
    rep["cameras"] = [[list(r) for r in c.matrix_world] for c in cams]
    mod("session").disconnect()
    return rep


def render_alpha(scene: bpy.types.Scene, camera: bpy.types.Object, path: Path) -> np.ndarray:
    scene.camera = camera
    scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)
    img = bpy.data.images.load(str(path), check_existing=False)
    w, h = img.size
    buf = np.empty(w * h * 4, np.float32)
    img.pixels.foreach_get(buf)
    bpy.data.images.remove(img)
    return buf.reshape(h, w, 4)[::-1, :, 3]


def scene_counts() -> dict:
    return {"objects": len(bpy.data.objects), "cameras": len(bpy.data.cameras),
            "images": len(bpy.data.images), "collections": len(bpy.data.collections)}


def setup_scene(args: dict, work: Path) -> dict:
    install(args["zip"], work / "repo")
    scene = bpy.context.scene
    scene.render.engine = "BLENDER_WORKBENCH"
    scene.display.render_aa = "OFF"
    scene.display.shading.light = "FLAT"
    scene.render.film_transparent = True
    s = scene.softfit
    out = []
    for case in args["cases"]:
        s.input_path, s.image_size, s.silhouette = case["path"], case.get("image_size", 0), case["silhouette"]
        before = scene_counts()
        result, error = call(bpy.ops.softfit.setup_scene)
        returned_first = mod("tasks").busy("setup") is not None  # the views are still being read
        settle()
        if not error and bpy.context.window_manager.softfit.error:
            error = "SoftFit: " + bpy.context.window_manager.softfit.message
        rec: dict = {"name": case["name"], "result": result, "error": error, "returned_first": returned_first}
        if case.get("expect_error"):
            rec["unchanged"] = scene_counts() == before
            out.append(rec)
            continue
        coll = bpy.data.collections["SoftFit Cameras"]
        cams = sorted(coll.objects, key=lambda o: o["softfit_view"])
        rec["cameras"] = len(cams)
        rec["backgrounds"] = [len(c.data.background_images) for c in cams]
        rec["bg_images_loaded"] = all(bg.image is not None and bg.image.size[0] > 0
                                      for c in cams for bg in c.data.background_images)
        rec["resolution"] = [scene.render.resolution_x, scene.render.resolution_y]
        rec["pixel_aspect"] = [scene.render.pixel_aspect_x, scene.render.pixel_aspect_y]
        mesh_npz = np.load(case["mesh"])
        me = bpy.data.meshes.new("truth")
        me.from_pydata(mesh_npz["verts"].tolist(), [], mesh_npz["faces"].tolist())
        truth = bpy.data.objects.new("truth", me)
        scene.collection.objects.link(truth)
        expected = np.load(case["expected"])
        ious = []
        for i, cam in enumerate(cams):
            alpha = render_alpha(scene, cam, work / f"{case['name']}_{i}.png") > 0.5
            target = expected[i] > 0.5
            ious.append(float((alpha & target).sum() / max((alpha | target).sum(), 1)))
        rec["ious"] = ious
        bpy.data.objects.remove(truth)
        bpy.data.meshes.remove(me)
        out.append(rec)
    rec_all = {"cases": out, "camera_collections": [c.name for c in bpy.data.collections
                                                   if c.name.startswith("SoftFit Cameras")]}
    return rec_all


def _drive(job_check=None, limit: float = 120.0) -> dict:
    """Call the add-on's timer function until it unregisters itself, recording every applied frame."""
    streaming = mod("streaming")
    job = mod("session").get().job
    # Frames applied before this call are not compared (the object may have moved since).
    frames, distinct, matched, worst = job.frames_applied, 0, True, 0.0
    last = None
    nxt = None
    end = time.monotonic() + limit
    while time.monotonic() < end:
        nxt = streaming.tick()
        if job.frames_applied > frames:
            frames = job.frames_applied
            obj = bpy.data.objects.get(job.object_name)
            if obj is not None and job.last_frame is not None and not job.finished:
                v = world_verts(obj)
                worst = max(worst, float(np.abs(v - job.last_frame).max()))
                matched &= bool(np.allclose(v, job.last_frame, atol=1e-5))
                if last is None or not np.array_equal(v, last):
                    distinct += 1
                last = v
            if job_check is not None and job_check(job):
                return {"frames": frames, "distinct": distinct, "matched": matched, "stopped": True,
                        "worst": worst}
        if nxt is None:
            break
        time.sleep(nxt)
    # A timer function returning None is unregistered by Blender: the fit ended the timer itself.
    return {"frames": frames, "distinct": distinct, "matched": matched, "stopped": False, "worst": worst,
            "outcome": job.outcome, "message": job.message, "timer_ended": nxt is None}


def start_fit(op=None) -> tuple[list[str], str, bool]:
    """Press Fit (or `op`): (result, error, returned before the backend accepted the job), then wait for
    the submit to be handled."""
    result, error = call(op or bpy.ops.softfit.fit)
    returned_first = mod("session").get().job is None
    settle()
    return result, error, returned_first


def fit_from(obj: bpy.types.Object, s, iterations: int) -> tuple[tuple[list[str], str, bool], object]:
    """Show and select `obj`, set the iterations, press Fit: (start_fit's report, the running job)."""
    obj.hide_set(False)
    activate(obj)
    s.iterations = iterations
    started = start_fit()
    return started, mod("session").get().job


def results_of(base: str) -> list[str]:
    return sorted(o.name for o in bpy.data.objects
                  if o.get("softfit_role") == "result" and o.get("softfit_source") == base)


def texture_report(obj: bpy.types.Object) -> dict:
    """The fitted object's material as an artist would find it: UVs, image node, the image's colours."""
    mesh = obj.data
    mat = mesh.materials[0] if len(mesh.materials) else None
    if mat is None:
        return {"material": None}
    bsdf = next(n for n in mat.node_tree.nodes if n.type == "BSDF_PRINCIPLED")
    link = bsdf.inputs["Base Color"].links[0] if bsdf.inputs["Base Color"].links else None
    img = link.from_node.image if link is not None and link.from_node.type == "TEX_IMAGE" else None
    px = np.empty(img.size[0] * img.size[1] * 4, np.float32) if img is not None else None
    if img is not None:
        img.pixels.foreach_get(px)
    uv = np.empty(len(mesh.loops) * 2, np.float32)
    if mesh.uv_layers.active is not None:
        mesh.uv_layers.active.data.foreach_get("uv", uv)
    return {"material": mat.name, "image": list(img.size) if img else None,
            "packed": bool(img and img.packed_file), "uv_layers": len(mesh.uv_layers),
            "uv_range": [float(uv.min()), float(uv.max())],
            "triangles": len(mesh.loops) == 3 * len(mesh.polygons),
            "median_rgb": np.median(px.reshape(-1, 4)[:, :3], axis=0).tolist() if px is not None else None}


def fit(args: dict, work: Path) -> dict:
    install(args["zip"], work / "repo")
    set_backend(sys.executable, timeout=args.get("timeout", 10.0))
    scene = bpy.context.scene
    s = scene.softfit
    untouched = s.fit_params()  # nothing changed yet: nothing to send, FitParams' defaults rule
    s.input_path, s.image_size, s.silhouette = args["path"], args.get("image_size", 0), "AUTO"
    s.init_polys, s.init_radius, s.init_method = args["polys"], 0.5, "SPHERE"
    s.iterations, s.lr, s.holdout = args["iterations"], args["lr"], args["holdout"]
    params_set, params_refine = s.fit_params(), s.fit_params(refine=True)
    s.views_per_step = 4
    rep: dict = {"params_untouched": untouched, "params_set": params_set,
                 "params_refine": params_refine,
                 "setup": setup(),
                 "init": sorted(bpy.ops.softfit.initial_mesh())}
    sphere = bpy.context.active_object
    sphere_verts = local_verts(sphere)
    base = sphere.name

    # Another file holding an object named like the fit's copy, for the file-load case below.
    other = bpy.data.meshes.new("other")
    other.from_pydata([(0, 0, 0), (1, 0, 0), (0, 1, 0)], [], [(0, 1, 2)])
    decoy = bpy.data.objects.new(f"{base}.fit", other)
    scene.collection.objects.link(decoy)
    other_blend = work / "other.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(other_blend), copy=True)
    bpy.data.objects.remove(decoy)
    bpy.data.meshes.remove(other)

    # 0. No backend to launch: the operator returns at once; the error is reported, nothing changes.
    set_backend(str(work / "no-such-python"))
    names = sorted(o.name for o in bpy.data.objects)
    rep["missing_backend"] = start_fit()
    rep["missing_backend_status"] = status()
    rep["missing_backend_scene_same"] = sorted(o.name for o in bpy.data.objects) == names
    rep["missing_backend_no_job"] = mod("session").get().job is None and not sphere.hide_get()
    set_backend(sys.executable, timeout=args.get("timeout", 10.0))

    # 1. Fit: returns before the backend (still to be started) accepted it; frames streamed into a copy.
    # What the panel says at each redraw it asks for (the real redraw still runs): the photo reads' count.
    streaming, said = mod("streaming"), []
    redraw = streaming.tag_redraw
    streaming.tag_redraw = lambda: (said.append(bpy.context.window_manager.softfit.message), redraw())[1]
    rep["fit_op"] = start_fit()
    streaming.tag_redraw = redraw
    rep["fit_start_messages"] = said
    rep["timer_registered"] = bpy.app.timers.is_registered(mod("streaming").tick)
    job = mod("session").get().job
    result_name = job.object_name
    rep["fit"] = _drive()
    res = bpy.data.objects[result_name]
    rep["result_name"] = result_name
    rep["metrics"] = json.loads(res["softfit_metrics"])
    rep["status_message"] = bpy.context.window_manager.softfit.message
    rep["sphere_unchanged"] = bool(np.array_equal(local_verts(sphere), sphere_verts))
    rep["sphere_hidden"] = sphere.hide_get()
    rep["result_moved"] = float(np.abs(local_verts(res) - sphere_verts).max())
    rep["result_role"] = res.get("softfit_role")
    rep["texture"] = texture_report(res)
    rep["undo_poll_background"] = bpy.ops.ed.undo.poll()
    np.save(work / "fitted_world.npy", world_verts(res))
    activate(res)
    rep["export_op"] = call(lambda: bpy.ops.softfit.export(filepath=str(work / "fitted.ply")))

    # 2. Refine: hand-edit the result, pin its upper half, fit again from it: it replaces the result.
    pinned = [v.index for v in res.data.vertices if v.co.z > 0.1]
    free = [v.index for v in res.data.vertices if v.co.z <= 0.1]
    res.data.vertices[pinned[0]].co.x += 0.05  # hand edits, one pinned and one free vertex
    res.data.vertices[free[0]].co.x += 0.05
    res.data.update()
    group = res.vertex_groups.new(name="keep")
    group.add(pinned, 1.0, "REPLACE")
    edited = local_verts(res)
    s.pin_group, s.refine_iterations = "keep", args["refine_iterations"]
    s.texture_refine = True  # Advanced: Refine Texture, as `softfit fit --texture-refine`
    activate(res)
    rep["refine_op"] = start_fit(bpy.ops.softfit.refine)
    refined_job = mod("session").get().job
    rep["refine"] = _drive()
    s.texture_refine = False
    refined = bpy.data.objects[refined_job.object_name]
    rep["refine_texture"] = json.loads(refined["softfit_metrics"]).get("texture", {})
    rv = local_verts(refined)
    rep["refine_pinned_max_move"] = float(np.abs(rv[pinned] - edited[pinned]).max())
    rep["refine_free_max_move"] = float(np.abs(rv[free] - edited[free]).max())
    rep["refine_name"] = refined.name
    rep["results_after_refine"] = results_of(base)
    s.pin_group = ""

    # 3. Fit again from the sphere: still one result per source (the refit replaces it).
    s.iterations = 20
    activate(sphere)
    sphere.hide_set(False)
    rep["refit_op"] = start_fit()
    rep["refit"] = _drive()
    rep["results_after_refit"] = results_of(base)
    kept = bpy.data.objects[results_of(base)[0]]
    kept_verts = local_verts(kept)

    # 4. Stop & Keep after a few frames: the copy stays at the last frame, nothing arrives later.
    rep["cancel_fit_op"], job = fit_from(sphere, s, 5000)
    rep["cancel_before"] = _drive(lambda j: j.frames_applied >= 3)
    last = np.array(job.last_frame)
    rep["cancel_op"] = sorted(bpy.ops.softfit.cancel(keep=True))
    obj = bpy.data.objects[job.object_name]
    rep["cancel_kept_last"] = bool(np.allclose(world_verts(obj), last, atol=1e-5))
    rep["cancel_outcome"] = job.outcome
    rep["cancel_timer_left"] = bpy.app.timers.is_registered(mod("streaming").tick)  # Cancel unregisters it
    time.sleep(1.0)
    rep["cancel_tick_after"] = mod("streaming").tick()
    rep["cancel_still_last"] = bool(np.allclose(world_verts(obj), last, atol=1e-5))
    rep["cancel_metrics"] = json.loads(obj["softfit_metrics"])
    rep["results_after_keep"] = results_of(base)
    kept = obj
    kept_verts = local_verts(kept)

    # 5. Cancel (Esc's action): the copy goes, the earlier result is shown again as it was.
    activate(sphere)
    sphere.hide_set(False)
    rep["restore_fit_op"] = start_fit()
    job = mod("session").get().job
    rep["restore_before"] = _drive(lambda j: j.frames_applied >= 2)
    rep["restore_hidden_during"] = kept.hide_get()
    rep["restore_op"] = sorted(bpy.ops.softfit.cancel())
    rep["restore_copy_gone"] = bpy.data.objects.get(job.object_name) in (None, kept)
    rep["restore_result_back"] = not kept.hide_get() and bool(np.array_equal(local_verts(kept), kept_verts))
    rep["restore_results"] = results_of(base)

    # 6. A 30 s main-thread stall (no timer runs) during a fit with a 4 s timeout: nothing is lost.
    rep["stall_fit_op"], job = fit_from(sphere, s, 400)
    rep["stall_before"] = _drive(lambda j: j.frames_applied >= 1)
    polls_before = job.pump.polls
    time.sleep(args.get("stall", 30.0))
    rep["stall_polls_during"] = job.pump.polls - polls_before  # heartbeats the server saw meanwhile
    frames_before = job.frames_applied
    rep["stall_after"] = _drive(lambda j: j.frames_applied > frames_before)
    rep["stall_outcome"] = job.outcome
    rep["stall_message"] = job.message
    if not job.finished:
        bpy.ops.softfit.cancel(keep=True)
    rep["stall_object_kept"] = bpy.data.objects.get(job.object_name) is not None

    # 7. The result deleted mid-fit: the fit ends cleanly and the source is shown again.
    rep["delete_fit_op"], job = fit_from(sphere, s, 5000)
    _drive(lambda j: j.frames_applied >= 1)
    bpy.data.objects.remove(bpy.data.objects[job.object_name])
    rep["delete_tick"] = mod("streaming").tick()
    rep["delete_outcome"] = job.outcome
    rep["delete_message"] = job.message
    rep["delete_sphere_visible"] = not sphere.hide_get()
    job.pump.thread.join(5.0)
    rep["delete_pump_ended"] = not job.pump.thread.is_alive()

    # 8. Evaluated mesh: a shape key halving the sphere's height is what the fit starts from.
    key_basis = sphere.shape_key_add(name="Basis", from_mix=False)
    flat = sphere.shape_key_add(name="flat", from_mix=False)
    co = np.empty(len(flat.data) * 3, np.float32)
    key_basis.data.foreach_get("co", co)
    co = co.reshape(-1, 3)
    co[:, 2] *= 0.5
    flat.data.foreach_set("co", co.ravel())
    flat.value = 1.0
    activate(sphere)
    req = mod("fitting").read_request(bpy.context)
    rep["evaluated_z"] = float(np.ptp(req.verts[:, 2]))
    rep["own_z"] = float(np.ptp(world_verts(sphere)[:, 2]))

    # 9. As a shape key on the original: no result object, the key holds the fitted shape.
    s.iterations, s.result_as_shape_key = 20, True
    sphere.hide_set(False)
    for name in results_of(base):
        bpy.data.objects.remove(bpy.data.objects[name])
    rep["key_fit_op"] = start_fit()
    job = mod("session").get().job
    rep["key_fit"] = _drive()
    keys = sphere.data.shape_keys.key_blocks
    rep["key_names"] = [k.name for k in keys]
    rep["key_results"] = results_of(base)
    mix_key = sphere.shape_key_add(name="check", from_mix=True)  # what the artist sees now
    mix = np.empty(len(sphere.data.vertices) * 3, np.float32)
    mix_key.data.foreach_get("co", mix)
    sphere.shape_key_remove(mix_key)
    m = np.array(sphere.matrix_world)
    mix_world = mix.reshape(-1, 3) @ m[:3, :3].T + m[:3, 3]
    rep["key_mix_error"] = float(np.abs(mix_world - job.last_frame).max())
    rep["key_moved"] = float(np.abs(mix.reshape(-1, 3) - co).max())
    rep["key_sphere_visible"] = not sphere.hide_get()
    s.result_as_shape_key = False
    sphere.shape_key_clear()

    # 10. Killed backend: noticed by polling the process (before the 4 s timeout), reported, the copy
    # removed, the source shown again, nothing else changed. Sections 10-12 end their fits themselves:
    # a fit long enough never to finish first, however fast the machine (20 iterations could end before
    # the kill, leaving a "done" result and a `.fit` name taken).
    s.iterations = 100_000
    for o in list(bpy.data.objects):
        if o.get("softfit_role") == "result":
            bpy.data.objects.remove(o)
    sphere.hide_set(False)
    activate(sphere)
    names_before = sorted(o.name for o in bpy.data.objects)
    rep["kill_fit_op"] = start_fit()
    rep["kill_before"] = _drive(lambda j: j.frames_applied >= 1)
    proc = mod("session").get().local.process
    proc.kill()
    proc.wait()
    t0 = time.monotonic()
    rep["kill"] = _drive(limit=60.0)
    rep["kill_detect_seconds"] = time.monotonic() - t0
    rep["kill_status"] = status()
    rep["kill_summary"] = mod("session").get().summary()
    rep["kill_names_same"] = sorted(o.name for o in bpy.data.objects) == names_before
    rep["kill_sphere_visible"] = not sphere.hide_get()
    rep["kill_sphere_unchanged"] = bool(np.array_equal(local_verts(sphere), sphere_verts))
    rep["backend_log"] = str(mod("userdata").user_dir() / "softfit-backend.log")

    # 11. Cancel with a dead backend returns at once (the pump sends the cancel, not the main thread).
    rep["kill_source_active"] = bpy.context.view_layer.objects.active == sphere
    activate(sphere)
    rep["dead_cancel_fit_op"] = start_fit()
    job = mod("session").get().job
    _drive(lambda j: j.frames_applied >= 1)
    dead = mod("session").get().local.process
    dead.kill()
    rep["dead_cancel_op"] = call(bpy.ops.softfit.cancel)
    dead.wait()
    rep["dead_cancel_job_cleared"] = mod("session").get().job is None

    # 12. Another file opened during a fit: the job is cancelled; the new file's same-named object is
    # never written to, and Cancel has nothing left to act on.
    set_backend(sys.executable, timeout=args.get("timeout", 10.0))
    for o in list(bpy.data.objects):  # the copy must take the decoy's name
        if o.get("softfit_role") == "result":
            bpy.data.objects.remove(o)
    sphere.hide_set(False)
    activate(sphere)
    rep["load_fit_op"] = start_fit()
    job = mod("session").get().job
    _drive(lambda j: j.frames_applied >= 1)
    copy_name = job.object_name
    bpy.ops.wm.open_mainfile(filepath=str(other_blend))
    decoy = bpy.data.objects.get(copy_name)
    before = world_verts(decoy) if decoy is not None else None
    rep["load_copy_name"] = copy_name
    rep["load_decoy_found"] = decoy is not None
    rep["load_job_cleared"] = mod("session").get().job is None
    rep["load_tick"] = mod("streaming").tick()
    rep["load_cancel_poll"] = bpy.ops.softfit.cancel.poll()
    time.sleep(0.5)
    rep["load_decoy_same"] = decoy is not None and bool(np.array_equal(world_verts(decoy), before))
    job.pump.thread.join(5.0)
    rep["load_pump_ended"] = not job.pump.thread.is_alive()
    addon_utils.disable(NAME, default_set=True)
    return rep


def remesh_fit(args: dict, work: Path) -> dict:
    """A fit that remeshes (Advanced: Detail Auto): the copy takes each new topology the backend
    streams, every frame written into it fits it, the result lands with the final faces."""
    install(args["zip"], work / "repo")
    set_backend(sys.executable, timeout=args.get("timeout", 10.0))
    s = bpy.context.scene.softfit
    s.input_path, s.image_size, s.silhouette = args["path"], 0, "AUTO"
    s.init_polys, s.init_radius, s.init_method = args["polys"], 0.5, "SPHERE"
    s.iterations = args["iterations"]
    s.detail = "AUTO"
    s.extra_params = json.dumps({"resolutions": [[0, 32], [0.5, 0]]})
    rep: dict = {"setup": setup(), "init": sorted(bpy.ops.softfit.initial_mesh())}
    sphere = bpy.context.active_object
    rep["init_counts"] = [len(sphere.data.vertices), len(sphere.data.polygons)]
    rep["fit_op"] = start_fit()
    job = mod("session").get().job
    counts: list[list[int]] = []

    def record(j) -> bool:
        obj = bpy.data.objects.get(j.object_name)
        if obj is not None:
            counts.append([len(obj.data.vertices), len(obj.data.polygons), j.topology_changes])
        return False

    rep["drive"] = _drive(record)
    res = bpy.data.objects[job.object_name]
    rep["topology_changes"] = job.topology_changes
    rep["counts"] = counts
    rep["result_counts"] = [len(res.data.vertices), len(res.data.polygons)]
    rep["metrics"] = json.loads(res["softfit_metrics"])
    rep["params"], rep["refine_params"] = s.fit_params(), s.fit_params(refine=True)
    return rep


def _watch_until_end(watch, limit: float = 120.0) -> tuple[list[str], object, int]:
    """Send the modal Fit's TIMER events (as its event timer would) while the add-on's timer applies the
    frames, until the watch ends the modal; returns (its return value, its report, events sent)."""
    streaming = mod("streaming")
    end, n = time.monotonic() + limit, 0
    while time.monotonic() < end:
        streaming.tick()
        mod("tasks").pump()
        result, report = watch.on_event("TIMER", "NOTHING")
        n += 1
        if result != {"PASS_THROUGH"}:
            return sorted(result), report, n
        time.sleep(0.05)
    return ["TIMEOUT"], None, n


def _layout_texts(node) -> list[str]:
    return [str(c.kw.get("text", "")) for _d, c in node.walk() if c.kind in ("label", "progress", "operator")]


def session_events(args: dict, work: Path) -> dict:
    """The modal Fit's event handling (FitWatch: Esc, timer, end report), the status bar and panel drawn
    into a recording layout, and fits across file loads (reattach, cancel, restore)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
    from layout_recorder import record

    install(args["zip"], work / "repo")
    set_backend(sys.executable, timeout=args.get("timeout", 10.0))
    other_blend = work / "other.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(other_blend), copy=True)  # an empty scene
    s = bpy.context.scene.softfit
    s.input_path, s.image_size, s.silhouette = args["path"], 0, "AUTO"
    s.init_polys, s.init_radius, s.init_method = args["polys"], 0.5, "SPHERE"
    s.iterations, s.holdout, s.views_per_step = args["iterations"], args["holdout"], 4
    rep: dict = {"setup": setup(), "init": sorted(bpy.ops.softfit.initial_mesh())}
    sphere = bpy.context.active_object
    base = sphere.name
    fitting, ops_fit, panel, streaming = mod("fitting"), mod("ops_fit"), mod("panel"), mod("streaming")

    # 1. A fit watched to its end: events pass through while it starts and runs; the status bar and
    # the panel show the progress; the end is reported with the held-out IoU.
    watch = ops_fit.FitWatch()
    fitting.start(bpy.context, on_end=watch.errors.append)
    rep["watch_starting"] = [sorted(r) for r in watch.on_event("TIMER", "NOTHING")[:1]]
    rep["watch_other_event"] = sorted(watch.on_event("MOUSEMOVE", "NOTHING")[0])
    settle()
    _drive(lambda j: j.frames_applied >= 1 and bpy.context.window_manager.softfit.iteration > 0)
    st = bpy.context.window_manager.softfit
    rep["running_iteration"], rep["running_iterations"] = st.iteration, st.iterations
    bar = record(panel.draw_status, bpy.context)
    rep["bar_progress"] = [dict(p.kw) for p in bar.find("progress")]
    rep["bar_texts"] = _layout_texts(bar)
    main = record(bpy.types.SOFTFIT_PT_main.draw, bpy.context)
    rep["panel_running_texts"] = _layout_texts(main)
    rep["panel_running_ops"] = [(o.args[0], dict(o.attrs)) for o in main.find("operator")]
    result, report, n = _watch_until_end(watch)
    rep["watch_end"], rep["watch_report"], rep["watch_events"] = result, [sorted(report[0]), report[1]], n
    rep["watch_job_outcome"] = watch.job.outcome if watch.job is not None else None
    rep["watch_frames"] = [watch.job.frames_applied, watch.job.frames_copied] if watch.job else [0, 0]
    rep["bar_after"] = _layout_texts(record(panel.draw_status, bpy.context))

    # 2. Esc during a fit: the modal ends, the fit is cancelled, the scene is as it was.
    sphere.hide_set(False)
    activate(sphere)
    s.iterations = 5000
    watch = ops_fit.FitWatch()
    fitting.start(bpy.context, on_end=watch.errors.append)
    settle()
    job = mod("session").get().job
    _drive(lambda j: j.frames_applied >= 2)
    # The artist moves the copy mid-fit: frames converted for the old placement are converted again.
    bpy.data.objects[job.object_name].location.x += 1.0
    bpy.context.view_layer.update()
    n = job.frames_applied
    rep["moved_drive"] = _drive(lambda j: j.frames_applied >= n + 2)
    rep["esc_pass_before"] = sorted(watch.on_event("TIMER", "NOTHING")[0])
    result, report = watch.on_event("ESC", "PRESS")
    rep["esc"] = [sorted(result), sorted(report[0]), report[1]]
    rep["esc_copy_gone"] = bpy.data.objects.get(job.object_name) is None or job.object_name == base
    rep["esc_sphere_visible"] = not sphere.hide_get()
    rep["esc_job_cleared"] = mod("session").get().job is None and not fitting.pending()
    job.pump.thread.join(5.0)
    rep["esc_pump_ended"] = not job.pump.thread.is_alive()

    # 3. A fit that cannot start: the watch ends with the error as an ERROR report.
    set_backend(str(work / "no-such-python"))
    watch = ops_fit.FitWatch()
    fitting.start(bpy.context, on_end=watch.errors.append)
    settle()
    result, report = watch.on_event("TIMER", "NOTHING")
    rep["start_error"] = [sorted(result), sorted(report[0]), report[1]]
    set_backend(sys.executable, timeout=args.get("timeout", 10.0))

    # 4. The file is saved during a fit and opened again: the fit reattaches to the copy in the opened
    # file and ends there.
    s.iterations = args["long_iterations"]
    rep["reattach_fit_op"] = start_fit()
    job = mod("session").get().job
    _drive(lambda j: j.frames_applied >= 1)
    mid_blend = work / "mid.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(mid_blend), copy=True)
    saved = world_verts(bpy.data.objects[job.object_name])
    bpy.ops.wm.open_mainfile(filepath=str(mid_blend))
    rep["reattach_same_job"] = mod("session").get().job is job and not job.finished
    rep["reattach_timer"] = bpy.app.timers.is_registered(streaming.tick)
    rep["reattach_status"] = status()
    copy = bpy.data.objects.get(job.object_name)
    rep["reattach_copy_tagged"] = copy is not None and copy.get("softfit_job") == getattr(job, "tag", "")
    rep["reattach"] = _drive(limit=180.0)
    copy = bpy.data.objects.get(job.object_name)
    rep["reattach_result"] = copy is not None and bool(np.allclose(world_verts(copy), job.last_frame,
                                                                   atol=1e-5))
    rep["reattach_moved_after_load"] = float(np.abs(world_verts(copy) - saved).max()) if copy else 0.0
    rep["reattach_metrics"] = json.loads(copy["softfit_metrics"]) if copy is not None else {}
    rep["reattach_untagged"] = copy is not None and "softfit_job" not in copy
    rep["reattach_results"] = results_of(base)

    # 5. Another file opened during a fit: it does not hold the copy, so the job is cancelled.
    s = bpy.context.scene.softfit  # the opened file's scene (the old `s` points into freed memory)
    sphere = bpy.data.objects[base]
    sphere.hide_set(False)
    activate(sphere)
    s.iterations = 5000
    rep["other_fit_op"] = start_fit()
    job = mod("session").get().job
    _drive(lambda j: j.frames_applied >= 1)
    bpy.ops.wm.open_mainfile(filepath=str(other_blend))
    rep["other_job_cleared"] = mod("session").get().job is None and job.outcome == "cancelled"
    rep["other_status"] = status()
    job.pump.thread.join(5.0)
    rep["other_pump_ended"] = not job.pump.thread.is_alive()

    # 6. The file saved mid-fit opened when that fit no longer runs: its copy goes, the original shows.
    bpy.ops.wm.open_mainfile(filepath=str(mid_blend))
    rep["stale_copies"] = [o.name for o in bpy.data.objects if "softfit_job" in o]
    rep["stale_results"] = results_of(base)  # the earlier result (fit 1), shown again
    rep["stale_results_visible"] = [not bpy.data.objects[n].hide_get() for n in results_of(base)]
    rep["stale_sphere_visible"] = base in bpy.data.objects and not bpy.data.objects[base].hide_get()
    rep["stale_status"] = status()
    mod("session").disconnect()
    addon_utils.disable(NAME, default_set=True)
    return rep


def install_backend(args: dict, work: Path) -> dict:
    """Install Local Backend from the preferences on a fresh profile, then the first fit with it.

    The test pre-creates the environment at the installer's place with a .pth file that shares this
    environment's dependencies (torch & co., about 4 GB, are not reinstalled per test run); pip then
    installs the SoftFit wheel itself (`--no-deps`, set in the preferences' pip Arguments)."""
    import subprocess
    import sysconfig

    install(args["zip"], work / "repo")
    prefs = bpy.context.preferences.addons[NAME].preferences
    prefs.mode, prefs.python, prefs.timeout = "LOCAL", "", 30.0
    prefs.package, prefs.pip_args = args["wheel"], "--no-deps"
    venv = mod("userdata").user_dir() / mod("ops_install").VENV_NAME
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "_shared_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    rep: dict = {"python_before": prefs.python}
    rep["install_op"] = call(bpy.ops.softfit.install_backend)
    inst = mod("ops_install").current()
    watch = mod("ops_install").watch
    end = time.monotonic() + args.get("limit", 900)
    while time.monotonic() < end and watch() is not None:
        time.sleep(0.25)
    rep["error"], rep["log_tail"] = inst.error, list(inst.log_lines)[-8:]
    rep["python_after"] = prefs.python
    rep["selftest"] = inst.selftest
    rep["progress"] = inst.progress
    if not prefs.python:
        return rep
    where = subprocess.run([prefs.python, "-c", "import softfit, softfit.raster; print(softfit.__file__)"],
                           capture_output=True, text=True)
    rep["softfit_from"] = where.stdout.strip() or where.stderr[-500:]
    # First fit: Set up Scene, Visual Hull, Fit, with the backend just installed.
    s = bpy.context.scene.softfit
    s.input_path, s.image_size, s.silhouette, s.init_polys = args["path"], 0, "AUTO", 500
    s.iterations, s.holdout = 40, 0.15
    rep["setup"] = call(bpy.ops.softfit.setup_scene)
    settle()
    rep["hull"] = call(bpy.ops.softfit.initial_mesh)
    settle()
    rep["fit_op"] = start_fit()
    job = mod("session").get().job
    rep["backend_python"] = mod("session").get().local.process.args[0] if job is not None else None
    rep["fit"] = _drive(limit=300) if job is not None else {"error": status()}
    if job is not None and job.finished:
        rep["metrics"] = job.metrics
    addon_utils.disable(NAME, default_set=True)
    return rep


def inspect_blend(args: dict, work: Path) -> dict:
    """Open a .blend written by fit_in_blender.py and list what it holds."""
    bpy.ops.wm.open_mainfile(filepath=args["blend"])
    objs = {o.name: {"type": o.type, "role": o.get("softfit_role"), "hidden": o.hide_get(),
                     "verts": len(o.data.vertices) if o.type == "MESH" else 0} for o in bpy.data.objects}
    fitted = [o for o in bpy.data.objects if o.get("softfit_role") == "result"]
    if fitted:
        np.save(work / "blend_fitted_world.npy", world_verts(fitted[0]))
    return {"objects": objs, "metrics": json.loads(fitted[0]["softfit_metrics"]) if fitted else None}


def image_rgb(image) -> np.ndarray:
    """A Blender image's pixels as (H, W, 3) 8-bit values, top row first (as a PNG stores them)."""
    w, h = image.size
    px = np.empty(w * h * image.channels, dtype=np.float32)
    image.pixels.foreach_get(px)
    return np.round(px.reshape(h, w, image.channels)[::-1, :, :3] * 255.0).astype(np.uint8)


def import_result(args: dict, work: Path) -> dict:
    """File > Import > SoftFit result: the textured mesh.glb of a result folder, material wired."""
    errors = install(args["zip"], work / "repo")
    res = call(lambda: bpy.ops.softfit.import_result(filepath=args["folder"]))
    missing = call(lambda: bpy.ops.softfit.import_result(filepath=str(work / "missing.glb")))
    obj = bpy.context.view_layer.objects.active
    out = {"errors": errors, "result": res, "missing": missing, "name": obj.name if obj else None}
    if obj is not None and obj.type == "MESH":
        mat = obj.data.materials[0]
        bsdf = next(n for n in mat.node_tree.nodes if n.type == "BSDF_PRINCIPLED")
        src = bsdf.inputs["Base Color"].links[0].from_node if bsdf.inputs["Base Color"].links else None
        out |= {"verts": len(obj.data.vertices), "faces": len(obj.data.polygons),
                "world": world_verts(obj).tolist(),
                "base_color_from": src.type if src else None,
                "image_size": list(src.image.size) if src is not None and src.image else None,
                "image_rgb": image_rgb(src.image).tolist() if src is not None and src.image else None,
                "active_node": mat.node_tree.nodes.active.type if mat.node_tree.nodes.active else None,
                "uv_layers": len(obj.data.uv_layers)}
    return out


def quad_remesh(args: dict, work: Path) -> dict:
    """Quad Remesh on a moved and scaled mesh: the operator returns at once, QuadriFlow runs in another
    process, the quads arrive as a new object and the source is hidden, unchanged."""
    errors = install(args["zip"], work / "repo")
    src = np.load(args["mesh"])
    mesh = bpy.data.meshes.new("Fitted")
    mesh.from_pydata(src["verts"].tolist(), [], src["faces"].tolist())
    obj = bpy.data.objects.new("Fitted", mesh)
    bpy.context.scene.collection.objects.link(obj)
    obj.location, obj.scale = (0.3, -0.2, 1.0), (1.5, 1.5, 1.5)
    if "uv" in src:  # a textured source, set up by hand as an artist's mesh would be
        paint(obj, src["uv"], src["image"])
    activate(obj)
    before = world_verts(obj)
    t0 = time.perf_counter()
    res = call(lambda: bpy.ops.softfit.quad_remesh())
    returned_after = time.perf_counter() - t0
    busy = mod("tasks").busy("quads") is not None
    again = bpy.ops.softfit.quad_remesh.poll()  # a second remesh must wait for the first
    settle()
    quads = bpy.data.objects.get("Fitted Quads")
    out = {"errors": errors, "result": res, "returned_after": returned_after, "busy": busy,
           "poll_while_busy": again, "status": status(), "source_hidden": obj.hide_get(),
           "source_unchanged": bool(np.allclose(world_verts(obj), before)),
           "world_source": before.tolist(), "quads": quads is not None}
    if quads is not None:
        out |= {"world": world_verts(quads).tolist(),
                "polygons": [list(p.vertices) for p in quads.data.polygons],
                "smooth": all(p.use_smooth for p in quads.data.polygons),
                "active": bpy.context.view_layer.objects.active.name,
                "source_materials": [m.name for m in obj.data.materials],
                "materials": [m.name for m in quads.data.materials]}
        layer = quads.data.uv_layers.active
        if layer is not None and len(quads.data.materials):
            loop_uv = np.empty(2 * len(quads.data.loops), np.float32)
            layer.data.foreach_get("uv", loop_uv)
            img = next(n.image for n in quads.data.materials[0].node_tree.nodes if n.type == "TEX_IMAGE")
            px = np.empty(img.size[0] * img.size[1] * 4, np.float32)
            img.pixels.foreach_get(px)
            rgb = px.reshape(img.size[1], img.size[0], 4)[::-1, :, :3]  # Blender's rows start at the bottom
            np.savez(work / "quads_texture.npz", uv=loop_uv.reshape(-1, 2),
                     image=np.round(rgb * 255).astype(np.uint8))
            out["texture_file"] = str(work / "quads_texture.npz")
    return out


def paint(obj, uv: np.ndarray, image: np.ndarray) -> None:
    """A UV map and a material with an image node, made with bpy alone (not the add-on's helpers)."""
    layer = obj.data.uv_layers.new(name="UVMap")
    layer.data.foreach_set("uv", uv.astype(np.float32).reshape(-1))
    h, w = image.shape[:2]
    img = bpy.data.images.new("painted", w, h, alpha=False)
    rgba = np.ones((h, w, 4), np.float32)
    rgba[..., :3] = image[::-1] / 255.0
    img.pixels.foreach_set(rgba.reshape(-1))
    mat = bpy.data.materials.new("painted")
    node = mat.node_tree.nodes.new("ShaderNodeTexImage")
    node.image = img
    obj.data.materials.append(mat)


SCENARIOS = {f.__name__: f for f in (lifecycle, initial_mesh, backend_init, sfm_setup, setup_scene, fit,
                                     install_backend, inspect_blend, import_result, session_events,
                                     quad_remesh, remesh_fit, read_with_backend)}


def main() -> None:
    scenario, args, report = sys.argv[1], json.loads(sys.argv[2]), Path(sys.argv[3])
    rep = SCENARIOS[scenario](args, report.parent)
    report.write_text(json.dumps(rep, indent=1, default=str))


if __name__ == "__main__":
    main()

"""Blender side of `softfit bench addon` (run by softfit.bench.addon with the bpy module, one process):

    python scripts/bench_addon_blender.py ZIP DATASET OUT_JSON

Installs the built extension into a temporary repository (BLENDER_USER_RESOURCES is set by the caller),
then performs each artist action as the UI would, timing every call Blender's main thread makes into the
add-on for it: the operator, and then every timer call (the task pump, the fit's tick, the backend
watch) until the action has completed. Timers do not fire without a window, so they are called here in a
loop at their own intervals, as Blender would call them.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import bpy
import numpy as np

addon_utils = importlib.import_module("addon_utils")
REPO = "sfbench"
NAME = f"bl_ext.{REPO}.softfit"


def mod(sub: str):
    """The add-on's module `sub` in its sub-package (Blender-free logic/ or Blender-facing blender/)."""
    return sys.modules[f"{NAME}.{'logic' if sub == 'session' else 'blender'}.{sub}"]


class Recorder:
    """Durations (s) of every main-thread call of one action."""

    def __init__(self) -> None:
        self.calls: list[float] = []
        self.t0 = time.perf_counter()

    def call(self, fn: Callable, *args, **kw):
        t = time.perf_counter()
        try:
            return fn(*args, **kw)
        finally:
            self.calls.append(time.perf_counter() - t)

    def op(self, op: Callable, **kw) -> str:
        try:
            return ",".join(sorted(self.call(op, **kw)))
        except RuntimeError as exc:
            return f"error: {exc}"

    def timers_until(self, done: Callable[[], bool], limit: float = 300.0) -> bool:
        """Call the add-on's timers at their intervals until `done()`; False on timeout."""
        end = time.monotonic() + limit
        tasks, streaming = mod("tasks"), mod("streaming")
        while time.monotonic() < end:
            if done():
                return True
            if bpy.app.timers.is_registered(tasks.pump):
                self.call(tasks.pump)
            if bpy.app.timers.is_registered(streaming.tick) or mod("session").get().job is not None:
                self.call(streaming.tick)
            self.call(streaming.watch)
            time.sleep(0.05)
        return done()

    def summary(self, outcome: str) -> dict:
        ms = np.asarray(self.calls) * 1e3
        return {"calls": len(ms), "over_50ms": int((ms > 50.0).sum()),
                "slowest_ms": sorted((round(float(x), 1) for x in ms), reverse=True)[:3],
                "max_ms": float(ms.max()) if len(ms) else 0.0,
                "p99_ms": float(np.percentile(ms, 99)) if len(ms) else 0.0,
                "total_ms": float(ms.sum()), "wall_s": time.perf_counter() - self.t0, "outcome": outcome}


def install(zip_path: str, repo_dir: Path) -> None:
    for obj in list(bpy.data.objects):
        bpy.data.objects.remove(obj)
    bpy.context.preferences.extensions.repos.new(name=REPO, module=REPO, custom_directory=str(repo_dir),
                                                 source="USER")
    bpy.ops.extensions.package_install_files(filepath=zip_path, repo=REPO, enable_on_install=False)
    addon_utils.enable(NAME, default_set=True)


def no_task() -> bool:
    return mod("tasks").busy() is None


def running_frames(n: int) -> Callable[[], bool]:
    def done() -> bool:
        job = mod("session").get().job
        return job is not None and job.frames_applied >= n
    return done


def fit_over() -> bool:
    return mod("session").get().job is None and no_task()


def main() -> None:
    zip_path, dataset, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    work = out.parent
    install(zip_path, work / "repo")
    prefs = bpy.context.preferences.addons[NAME].preferences
    prefs.mode, prefs.python, prefs.timeout = "LOCAL", sys.executable, 10.0
    s = bpy.context.scene.softfit
    s.input_path, s.image_size, s.silhouette, s.init_method = dataset, 0, "AUTO", "SPHERE"
    s.iterations, s.views_per_step, s.holdout = 100000, 4, 0.1
    results: dict[str, dict] = {}

    def action(name: str, fn: Callable[[Recorder], str]) -> None:
        rec = Recorder()
        outcome = fn(rec)
        results[name] = rec.summary(outcome)
        print(f"bench addon: {name}: {results[name]}", flush=True)

    def setup(r: Recorder) -> str:
        res = r.op(bpy.ops.softfit.setup_scene)
        r.timers_until(no_task)  # the views are read and the cameras built over timer ticks
        return f"{res} {bpy.context.window_manager.softfit.message[:80]}"
    action("Set up Scene (16 views read from files)", setup)

    def connected() -> bool:
        return mod("session").get().connected and no_task()

    def start(r: Recorder) -> str:
        res = r.op(bpy.ops.softfit.backend_start)
        r.timers_until(connected)
        return res + " " + mod("session").get().summary()
    action("Start Backend", start)

    def press(op: Callable, until: Callable[[], bool]) -> Callable[[Recorder], str]:
        """The action of a button whose work ends when `until()` holds."""
        def act(r: Recorder) -> str:
            res = r.op(op)
            r.timers_until(until)
            return res
        return act

    restart = press(bpy.ops.softfit.backend_restart, connected)
    action("Restart Backend", restart)

    def hull(r: Recorder) -> str:
        res = r.op(bpy.ops.softfit.initial_mesh, method="HULL")
        r.timers_until(no_task)
        return f"{res} {len(bpy.context.active_object.data.vertices)} vertices"
    action("Initial Mesh: Visual Hull (backend)", hull)

    for polys in (200_000, 2_000_000):
        def sphere(r: Recorder, polys: int = polys) -> str:
            s.init_polys = polys
            res = r.op(bpy.ops.softfit.initial_mesh, method="SPHERE")
            r.timers_until(no_task)  # large spheres are computed in a worker thread
            return f"{res} {len(bpy.context.active_object.data.polygons)} triangles"
        action(f"Initial Mesh: Sphere {polys:,} triangles", sphere)

    # 100 k-vertex streaming: a sphere of ~200 k triangles (100 k vertices), frames as they come.
    s.init_polys = 200_000
    bpy.ops.softfit.initial_mesh(method="SPHERE")
    Recorder().timers_until(no_task)
    big = bpy.context.active_object

    def fit_big(r: Recorder) -> str:
        res = r.op(bpy.ops.softfit.fit)
        r.timers_until(lambda: mod("session").get().job is not None or no_task(), limit=600)
        return f"{res} {len(big.data.vertices)} vertices"
    action("Fit a 100k-vertex mesh: operator and start", fit_big)

    def stream(r: Recorder) -> str:
        r.timers_until(running_frames(15), limit=600)
        job = mod("session").get().job
        return f"{job.frames_applied if job else 0} frames of {len(big.data.vertices)} vertices applied"
    action("Fit a 100k-vertex mesh: streaming (timer ticks)", stream)
    action("Cancel (100k-vertex fit running)", lambda r: r.op(bpy.ops.softfit.cancel))

    s.init_polys = 2000
    bpy.ops.softfit.initial_mesh(method="SPHERE")
    small = bpy.context.active_object

    action("Stop Backend", press(bpy.ops.softfit.backend_stop, no_task))

    def fit_cold(r: Recorder) -> str:
        bpy.context.view_layer.objects.active = small
        res = r.op(bpy.ops.softfit.fit)
        r.timers_until(running_frames(3), limit=300)
        return res
    action("Fit while the backend starts", fit_cold)

    action("Restart during a fit", restart)  # the same button, now with the cold-started fit running

    def dead_cancel(r: Recorder) -> str:
        small.hide_set(False)
        bpy.context.view_layer.objects.active = small
        bpy.ops.softfit.fit()
        Recorder().timers_until(running_frames(2), limit=300)
        mod("session").get().local.process.kill()
        return r.op(bpy.ops.softfit.cancel)
    action("Cancel with a dead backend", dead_cancel)

    def death(r: Recorder) -> str:
        bpy.ops.softfit.backend_start()
        Recorder().timers_until(connected)
        small.hide_set(False)
        bpy.context.view_layer.objects.active = small
        bpy.ops.softfit.fit()
        Recorder().timers_until(running_frames(2), limit=300)
        mod("session").get().local.process.kill()
        t0 = time.monotonic()
        r.timers_until(fit_over, limit=60)
        return f"noticed after {time.monotonic() - t0:.2f} s"
    action("Backend dies during a fit", death)

    def unreachable(r: Recorder) -> str:
        prefs.mode, prefs.address, prefs.token, prefs.timeout = "REMOTE", "tcp://127.0.0.1:9", "x" * 32, 10.0
        small.hide_set(False)
        bpy.context.view_layer.objects.active = small
        res = r.op(bpy.ops.softfit.fit)
        r.timers_until(fit_over, limit=60)
        return f"{res} {bpy.context.window_manager.softfit.message[:80]}"
    action("Fit against an unreachable remote", unreachable)

    prefs.mode = "LOCAL"
    s.camera_source = "SFM"

    def sfm(r: Recorder) -> str:
        res = r.op(bpy.ops.softfit.setup_scene)
        r.timers_until(no_task, limit=600)
        return f"{res} {bpy.context.window_manager.softfit.message[:80]}"
    action("Set up Scene with SfM cameras (backend)", sfm)

    mod("tasks").wait(mod("ops_backend").stop_backend(), 60)
    addon_utils.disable(NAME, default_set=True)
    out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

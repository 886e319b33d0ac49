"""The named photoreal test scenes of `softfit dataset render --scene NAME` (pure Python + numpy).

Each scene is a photo-like capture rendered with Cycles: one of Blender's bundled HDRI worlds as the
background and light, the object standing on a textured floor, table or visible turntable, and a camera
path as a person would shoot it: a fixed camera in front of a turning turntable, or a hand-held orbit
(irregular elevation and distance, aim jittered off the object). Photos are RGB, with no alpha and no
masks beside them: what the fit sees is only what a camera would give. The true masks (the object alone,
rendered separately) and the true mesh go to `truth/`, which no loader reads by default, so every method
is scored against the truth and never against its own guess.

The suite spans the failure modes of issue 10: a visible floor and turntable, dark on dark, glossy
reflections, a cluttered room, and different objects (thin, concave, detailed). Scene sizes and view
counts are the benchmark's; tests render tiny versions through the `size`/`views`/`samples` overrides."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from softfit.cameras import Cameras, focal_from_fov, look_at
from softfit.dataset.options import parse_size
from softfit.dataset.scenespec import SceneSpec
from softfit.errors import InputError

SCENES: dict[str, SceneSpec] = {s.name: s for s in (
    SceneSpec("turntable-floor", "fixed camera, Suzanne turning on a visible grey turntable on a tiled "
              "floor, indoor HDRI plus a sun (hard shadow on the disc)",
              object="suzanne", material="clay", support="turntable", floor_texture="tiles",
              hdri="interior", hdri_strength=0.8, sun=1.5, capture="turntable", elevation=(25.0, 25.0),
              distance=2.6),
    SceneSpec("dark-cloth", "fixed camera, a near-black torus knot turning on a dark cloth-covered "
              "turntable, dim studio light (ALOI's look, low contrast)",
              object="torus_knot", material="dark", support="turntable", floor_texture="cloth",
              hdri="studio", hdri_strength=0.6, sun=1.5, capture="turntable", elevation=(15.0, 15.0),
              distance=2.5, seed=1),
    SceneSpec("handheld-room", "hand-held orbit around a two-tone bucket on a wooden table in a room, "
              "other objects on the table, irregular height, distance and aim",
              object="bucket", material="painted", support="table", floor_texture="wood",
              hdri="interior", hdri_strength=1.0, hdri_rotation=120.0, capture="handheld",
              elevation=(15.0, 55.0), distance=3.4, distance_jitter=0.15, aim_jitter=0.08, roll=4.0,
              clutter=3, seed=2),
    SceneSpec("glossy-table", "hand-held orbit around a glossy, clear-coated torus on a table outdoors: "
              "reflections of the sky and the table on the object",
              object="torus", material="glossy", support="table", floor_texture="tiles",
              hdri="courtyard", hdri_strength=1.0, hdri_rotation=40.0, sun=2.0, capture="handheld",
              elevation=(20.0, 50.0), distance=2.6, distance_jitter=0.12, aim_jitter=0.06, roll=3.0,
              seed=3),
    SceneSpec("small-desk", "hand-held orbit, from afar, around a painted mug on a wooden table on a "
              "tiled courtyard: the mug fills about 3 % of the frame, other objects beside it",
              object="mug", material="painted", support="table", floor_texture="tiles",
              hdri="courtyard", hdri_strength=1.0, hdri_rotation=250.0, capture="handheld",
              elevation=(20.0, 50.0), distance=2.8, distance_jitter=0.12, aim_jitter=0.06, roll=3.0,
              object_size=0.4, clutter=2, seed=4),
)}


# Development scenes: other objects, worlds, seeds and materials than the benchmark's, for tuning and
# testing the segmentation without touching the benchmark scenes (the test set). Never benchmarked.
DEV_SCENES: dict[str, SceneSpec] = {s.name: s for s in (
    SceneSpec("dev-dark-bucket", "fixed camera, a near-black bucket turning on a dark cloth turntable, "
              "sunset light (dark on dark, no holes)",
              object="bucket", material="dark", support="turntable", floor_texture="cloth",
              hdri="sunset", hdri_strength=0.7, sun=1.0, capture="turntable", elevation=(20.0, 20.0),
              distance=2.6, seed=21),
    SceneSpec("dev-torus-forest", "hand-held orbit around a cream-and-red torus on a wooden table in a "
              "forest (a hole every view sees)",
              object="torus", material="painted", support="table", floor_texture="wood",
              hdri="forest", hdri_strength=1.0, hdri_rotation=200.0, capture="handheld",
              elevation=(25.0, 60.0), distance=2.7, distance_jitter=0.12, aim_jitter=0.06, roll=3.0,
              seed=22),
    SceneSpec("dev-suzanne-handheld", "hand-held orbit around a glossy Suzanne on a tiled floor at "
              "sunrise, two other objects near it",
              object="suzanne", material="glossy", support="floor", floor_texture="tiles",
              hdri="sunrise", hdri_strength=1.0, hdri_rotation=300.0, capture="handheld",
              elevation=(15.0, 50.0), distance=3.0, distance_jitter=0.15, aim_jitter=0.08, roll=4.0,
              clutter=2, seed=23),
    SceneSpec("dev-knot-city", "fixed camera, a clay torus knot turning on a tiled turntable, city light "
              "and a sun (loops and holes, a hard shadow)",
              object="torus_knot", material="clay", support="turntable", floor_texture="tiles",
              hdri="city", hdri_strength=0.9, sun=1.2, capture="turntable", elevation=(30.0, 30.0),
              distance=2.6, seed=24),
    SceneSpec("dev-dark-knot", "fixed camera, a near-black torus knot turning on a dark cloth turntable "
              "under a night sky with a sun (dark on dark, with holes)",
              object="torus_knot", material="dark", support="turntable", floor_texture="cloth",
              hdri="night", hdri_strength=1.0, sun=1.5, capture="turntable", elevation=(20.0, 20.0),
              distance=2.6, seed=25),
    SceneSpec("dev-glossy-torus", "hand-held orbit around a glossy torus on a tiled floor at sunset "
              "(reflections, a hole every view sees)",
              object="torus", material="glossy", support="floor", floor_texture="tiles",
              hdri="sunset", hdri_strength=1.0, hdri_rotation=80.0, capture="handheld",
              elevation=(20.0, 55.0), distance=2.7, distance_jitter=0.12, aim_jitter=0.06, roll=3.0,
              seed=26),
    SceneSpec("dev-painted-cube", "hand-held orbit around a two-tone cube (cream below, red above) on a "
              "wooden table under a city sky, other objects on the table (a lower part with the colour "
              "of what lies behind it)",
              object="cube", material="painted", support="table", floor_texture="wood",
              hdri="city", hdri_strength=1.0, hdri_rotation=30.0, capture="handheld",
              elevation=(15.0, 50.0), distance=3.2, distance_jitter=0.12, aim_jitter=0.06, roll=3.0,
              clutter=2, seed=27),
    SceneSpec("dev-painted-suzanne", "hand-held orbit around a two-tone Suzanne (cream below, red above) "
              "on a tiled floor at sunrise: it touches the floor with its chin only",
              object="suzanne", material="painted", support="floor", floor_texture="tiles",
              hdri="sunrise", hdri_strength=1.0, hdri_rotation=150.0, capture="handheld",
              elevation=(15.0, 50.0), distance=3.0, distance_jitter=0.12, aim_jitter=0.06, roll=3.0,
              clutter=2, seed=41),
)}
# The torus on its table again, at 0.4 of its size (1-2 % of the frame): an object much smaller in the
# frame than the framing suggests, whose first-round seed then lies mostly on the table.
DEV_SCENES["dev-small-torus"] = replace(
    DEV_SCENES["dev-torus-forest"], name="dev-small-torus", object_size=0.4,
    description="the dev-torus-forest capture with the torus at 0.4 of its size (1-2 % of the frame)")
ALL_SCENES = {**SCENES, **DEV_SCENES}


def scene_spec(name: str, views: int | None = None, size: str | tuple[int, int] | None = None,
               samples: int | None = None, seed: int | None = None) -> SceneSpec:
    """The named scene (benchmark, development, or drawn: `drawn-SEED-INDEX`, `softfit.dataset.drawn`),
    with optional overrides (tests render tiny versions)."""
    from softfit.dataset.drawn import parse

    spec = ALL_SCENES.get(name) or parse(name)
    if spec is None:
        raise InputError(f"unknown scene {name!r}; choose one of {', '.join(ALL_SCENES)}, or "
                         "drawn-SEED-INDEX for a scene drawn at random")
    over: dict = {}
    if views is not None:
        over["views"] = int(views)
    if size is not None:
        over["size"] = parse_size(size)
    if samples is not None:
        over["samples"] = int(samples)
    if seed is not None:
        over["seed"] = int(seed)
    return replace(spec, **over).check()


@dataclass(frozen=True)
class Capture:
    """Where everything is at each view: `object_pose` (N, 4, 4) world-from-object (the turntable's
    turn; identity when hand-held), `camera` (N, 4, 4) camera-to-world in the room, and `cameras`, the
    same views in the object's frame (what transforms.json records and the fit uses)."""

    object_pose: np.ndarray
    camera: np.ndarray
    cameras: Cameras


def _rot_z(deg: float) -> np.ndarray:
    t = np.radians(deg)
    m = np.eye(4)
    m[:2, :2] = [[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]]
    return m


def _eye(distance: float, elevation: float, azimuth: float, target: np.ndarray) -> np.ndarray:
    """Azimuth 0 on -Y, 90 on +X, as `softfit.cameras.turntable`."""
    e, a = np.radians(elevation), np.radians(azimuth)
    return target + distance * np.array([np.cos(e) * np.sin(a), -np.cos(e) * np.cos(a), np.sin(e)])


def capture(spec: SceneSpec, object_height: float) -> Capture:
    """The camera path of `spec` around an object `object_height` tall standing at the origin."""
    n = spec.views
    w, h = spec.size
    centre = np.array([0.0, 0.0, 0.5 * object_height])
    rng = np.random.default_rng(1000 + spec.seed)
    poses, c2ws = [], []
    if spec.capture == "turntable":
        fixed = look_at(_eye(spec.distance, spec.elevation[0], 0.0, centre), centre)
        for i in range(n):
            poses.append(_rot_z(360.0 * i / n))
            c2ws.append(fixed)
    else:
        lo, hi = spec.elevation
        step = 360.0 / n
        for i in range(n):
            az = step * i + rng.uniform(-0.35, 0.35) * step
            el = rng.uniform(lo, hi)
            dist = spec.distance * (1.0 + rng.uniform(-1.0, 1.0) * spec.distance_jitter)
            aim = centre + rng.normal(0.0, spec.aim_jitter * spec.object_size, 3)
            c2w = look_at(_eye(dist, el, az, centre), aim)
            roll = np.radians(rng.uniform(-spec.roll, spec.roll))
            r = np.eye(4)
            r[:2, :2] = [[np.cos(roll), -np.sin(roll)], [np.sin(roll), np.cos(roll)]]
            poses.append(np.eye(4))
            c2ws.append(c2w @ r)  # roll about the camera's own viewing axis
    pose, cam = np.stack(poses), np.stack(c2ws)
    in_object = np.linalg.inv(pose) @ cam
    f = focal_from_fov(spec.fov, max(w, h))
    ones = np.ones(n)
    cams = Cameras(in_object, f * ones, f * ones, 0.5 * w * ones, 0.5 * h * ones, w, h)
    return Capture(pose, cam, cams)

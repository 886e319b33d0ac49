"""Photoreal scenes drawn at random from the suite's space, for figures on captures nobody tuned on.

The named scenes (`softfit.dataset.suite`) are few and have been looked at round after round: the
segmentation's defaults were never tuned on the benchmark's five, but every change was read against
them. A drawn scene `drawn-SEED-INDEX` is a new capture for each (seed, index): object, material,
support, floor, world and its light, sun, camera path, elevation, clutter and how much of the frame the
object fills are all drawn (everything in a scene scales with the object, so its size is not), and a seed
nobody has used yet gives scenes nobody has seen. The same name always gives the same scene.

The distance is drawn from how much of the frame the object should fill, and bounded so that the whole
object stays in every view: the object lies inside its bounding sphere (the built-ins are scaled to fit a
cube of side `object_size`), which must fit the frame's shorter half-angle with the renderer's framing
margin, from the hand-held path's nearest camera and with its largest aim offset."""

from __future__ import annotations

import math
import re
from dataclasses import replace

import numpy as np

from softfit.dataset.options import BUILTINS
from softfit.dataset.scenespec import FLOOR_TEXTURES, HDRIS, MATERIALS, SceneSpec

PATTERN = re.compile(r"drawn-(\d{1,9})-(\d{1,6})")
# The object's bounding sphere's angular radius as a share of the frame's shorter half-angle: at most
# 0.88, which leaves the renderer's 3 % framing margin and the wider outline of an off-axis sphere.
FILL = (0.35, 0.88)
AIM_SIGMAS = 3.0  # aim jitter is normal: bound the offset at this many standard deviations


def name(seed: int, index: int) -> str:
    return f"drawn-{seed}-{index}"


def is_drawn(scene: str) -> bool:
    return PATTERN.fullmatch(scene) is not None


def seed_of(scene: str) -> int | None:
    """The seed a drawn scene's name carries (`drawn-7-0` -> 7); None for any other name."""
    m = PATTERN.fullmatch(scene)
    return None if m is None else int(m.group(1))


def names(count: int, seed: int) -> list[str]:
    return [name(seed, i) for i in range(count)]


def _distance(fill: float, size: float, fov: float, width: int, height: int, jitter: float,
              aim_jitter: float) -> float:
    """Camera distance at which the object's bounding sphere (grown by the largest aim offset) spans
    `fill` of the frame's shorter half-angle from the path's nearest camera."""
    half_short = math.atan(math.tan(math.radians(fov) / 2) * min(width, height) / max(width, height))
    radius = size * (math.sqrt(3) / 2 + AIM_SIGMAS * aim_jitter)
    return radius / math.sin(half_short * fill) / (1.0 - jitter)


def drawn_scene(seed: int, index: int) -> SceneSpec:
    """The scene `drawn-SEED-INDEX` (module docstring)."""
    rng = np.random.default_rng([seed, index, 7919])
    handheld = bool(rng.random() < 0.6)
    obj = str(rng.choice(BUILTINS))
    material = str(rng.choice(MATERIALS))
    floor = str(rng.choice(FLOOR_TEXTURES))
    hdri = str(rng.choice(HDRIS))
    sun = float(rng.choice([0.0, rng.uniform(0.8, 2.0)]))
    fill = float(rng.uniform(*FILL))
    common = dict(object=obj, material=material, floor_texture=floor, hdri=hdri,
                  hdri_strength=round(float(rng.uniform(0.6, 1.2)), 2),
                  hdri_rotation=round(float(rng.uniform(0.0, 360.0)), 1), sun=round(sun, 2),
                  seed=int(rng.integers(100, 10**6)))
    if handheld:
        lo = float(rng.uniform(12.0, 30.0))
        hi = min(70.0, lo + float(rng.uniform(15.0, 30.0)))
        jitter, aim = 0.12, 0.06
        spec = SceneSpec(
            "", "", support=str(rng.choice(["floor", "table"])), capture="handheld",
            elevation=(round(lo, 1), round(hi, 1)), distance_jitter=jitter, aim_jitter=aim, roll=3.0,
            clutter=int(rng.integers(0, 4)), **common)
        where = ("on a wooden table over a tiled floor" if spec.support == "table" else f"on a {floor} floor")
        what = f"hand-held orbit around a {material} {obj} {where}"
    else:
        el = round(float(rng.uniform(10.0, 35.0)), 1)
        jitter = aim = 0.0
        spec = SceneSpec("", "", support="turntable", capture="turntable", elevation=(el, el), **common)
        disc = "cloth-covered" if floor == "cloth" else "grey"
        what = f"fixed camera, a {material} {obj} turning on a {disc} turntable on a {floor} floor"
    w, h = spec.size
    dist = _distance(fill, spec.object_size, spec.fov, w, h, jitter, aim)
    what += (f", {hdri} light{' and a sun' if sun else ''}; its bounding sphere spans about {fill:.0%} of "
             "the frame's height")
    return replace(spec, name=name(seed, index), distance=round(dist, 3),
                   description=f"drawn at random (seed {seed}, #{index}): {what}").check()


def parse(scene: str) -> SceneSpec | None:
    """The drawn scene a name such as `drawn-7-0` stands for; None for any other name."""
    m = PATTERN.fullmatch(scene)
    return None if m is None else drawn_scene(int(m.group(1)), int(m.group(2)))

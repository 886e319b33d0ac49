"""What a photoreal test scene is (`SceneSpec`) and the choices each of its fields has: shared by the named
scenes (`softfit.dataset.suite`) and the drawn ones (`softfit.dataset.drawn`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from softfit.dataset.options import BUILTINS
from softfit.errors import InputError

HDRIS = ("city", "courtyard", "forest", "interior", "night", "studio", "sunrise", "sunset")
SUPPORTS = ("floor", "table", "turntable")
MATERIALS = ("clay", "dark", "glossy", "painted")
CAPTURES = ("turntable", "handheld")


@dataclass(frozen=True)
class SceneSpec:
    """One photoreal scene.

    object: a built-in mesh, scaled to `object_size` (longest side, world units) and standing on the
    support's top at z = 0; material: clay (matte orange), dark (near-black, slightly rough), glossy
    (clear-coated, mirror-like highlights), painted (two-tone); support: floor (large textured plane),
    table (wooden top with legs on a tiled floor), turntable (a disc with a marker stripe that turns with
    the object, on a floor); floor_texture: tiles | wood | cloth (dark fabric); hdri: bundled world and its
    strength and rotation (degrees); sun: extra sun strength for hard shadows (0 = none); capture:
    turntable (fixed camera, the object and disc turn, the room stays) | handheld (the camera moves, with
    `elevation` as (min, max) degrees, `distance` jittered by ±`distance_jitter` of itself, aim jittered
    by `aim_jitter` × object size, roll up to `roll` degrees); fov across the longer image side."""

    name: str
    description: str
    object: str
    material: str
    support: str
    floor_texture: str
    hdri: str
    hdri_strength: float = 1.0
    hdri_rotation: float = 0.0
    sun: float = 0.0
    capture: str = "turntable"
    views: int = 16
    size: tuple[int, int] = (400, 300)
    elevation: tuple[float, float] = (25.0, 25.0)
    distance: float = 2.6
    distance_jitter: float = 0.0
    aim_jitter: float = 0.0
    roll: float = 0.0
    fov: float = 45.0
    object_size: float = 1.0
    clutter: int = 0
    samples: int = 12
    seed: int = 0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["size"], d["elevation"] = list(self.size), list(self.elevation)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> SceneSpec:
        d = dict(d)
        d["size"], d["elevation"] = tuple(d["size"]), tuple(d["elevation"])
        return cls(**d).check()

    def check(self) -> SceneSpec:
        for key, allowed in (("object", BUILTINS), ("support", SUPPORTS), ("material", MATERIALS),
                             ("hdri", HDRIS), ("capture", CAPTURES), ("floor_texture", FLOOR_TEXTURES)):
            if getattr(self, key) not in allowed:
                raise InputError(f"scene {self.name}: {key} {getattr(self, key)!r} is not one of "
                                 f"{', '.join(allowed)}")
        w, h = self.size
        if not (16 <= w <= 4096 and 16 <= h <= 4096):
            raise InputError(f"scene image size must be 16..4096 px per side, got {w}x{h}")
        if not 2 <= self.views <= 1000:
            raise InputError(f"scene views must be between 2 and 1000, got {self.views}")
        if not 1 <= self.samples <= 4096:
            raise InputError(f"samples must be between 1 and 4096, got {self.samples}")
        lo, hi = self.elevation
        if not 3.0 <= lo <= hi <= 80.0:
            raise InputError(f"scene elevations must satisfy 3 <= min <= max <= 80 degrees, got {lo}, {hi}")
        return self


FLOOR_TEXTURES = ("tiles", "wood", "cloth")

"""How big the experiments are: `Settings.full()` (the committed report, ≈ 20 min on 2 CPU cores) and
`Settings.quick()` (the tests: tiny images, few iterations, one object per case).

Every number that shapes a result lives here, so the report can print the settings it ran with."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from softfit.fit import FitParams


@dataclass(frozen=True)
class Settings:
    """fit_size: working image size (long side, px) of every fit except the 64² SoftRas-style data;
    iterations: optimisation steps per fit; views: views per rendered scene (ALOI-style keeps its 72);
    curve_every: held-out IoU is measured every this many steps (section 3 curves); objects: how many of
    each section's object list to use; sfm_size: render size of the textured SfM views."""

    name: str
    fit_size: int
    iterations: int
    views: int
    curve_every: int
    objects: int
    aloi_views: int
    sfm_size: int
    sfm_views: int
    backdrop_samples: int
    holdout: float = 0.125

    @classmethod
    def full(cls) -> Settings:
        return cls(name="full", fit_size=128, iterations=150, views=24, curve_every=5, objects=3,
                   aloi_views=72, sfm_size=512, sfm_views=36, backdrop_samples=8)

    @classmethod
    def quick(cls) -> Settings:
        return cls(name="quick", fit_size=64, iterations=24, views=12, curve_every=4, objects=1,
                   aloi_views=24, sfm_size=384, sfm_views=24, backdrop_samples=2)

    def fit_params(self, seed: int, **over) -> FitParams:
        """The fit parameters every experiment starts from: the engine's defaults except the budget, the
        held-out fraction and the seed (plus `over`, which each section states in its text)."""
        base = {"iterations": self.iterations, "holdout": self.holdout, "seed": seed}
        return FitParams(**{**base, **over})

    def to_dict(self) -> dict:
        return asdict(self)


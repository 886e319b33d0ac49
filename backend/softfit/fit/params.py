"""`FitParams`: every knob of a fit, with defaults measured to work on new data (see `softfit.fit`).

One dataclass serves the CLI (each field becomes an option), the server (JSON from the wire) and
metrics.json (the parameters actually used), so `to_dict` / `from_dict` are exact inverses and reject
anything unknown or out of range with an `InputError`."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from softfit.errors import InputError

OPTIMIZERS = ("adam", "adam_uniform")
PARAMETERIZATIONS = ("largesteps", "vertices")
LAPLACIANS = ("uniform", "cotangent")
DEVICES = ("auto", "cpu", "cuda")
REMESH = ("auto", "on", "off")
# σ (NDC²) a soft rasteriser can use: below 1e-10 even a 16 384 px image is hard-edged (1/σ overflows in
# float32 pixel units); above 1 one pixel's blur spans the whole image.
SIGMA_RANGE = (1e-10, 1.0)
# No remeshing in this last fraction of the steps: after a remeshing the fit needs steps to settle on the
# new vertices. At 0.1 the last one came at 85 % of the steps; dropping it (0.3: the last at 70 %) raised
# held-out IoU on 10 of the 13 adaptive fits of `softfit bench thin` (64² airplane +0.006, chair +0.005,
# mug +0.006), left the 256² mug's as it was and lowered the torus's and the torus knot's by 0.001
# (benchmarks/thin.md, round 13).
REMESH_QUIET = 0.3
MAX_INT = 10**15  # integer parameters beyond this are typos (and lose precision as JSON doubles)
# Steps of a polish: the fit's last stage again on a mesh whose vertices the fit did not place, after the
# decimation of an adaptive fit (`polish_params`; the repair's polish after coarsening, which starts
# further off, takes twice as many: `softfit.fit.polish`). Round 23: on five adaptive thin fits 120 steps
# lowered the training error by 9-31 % (engine `_polish`). A step costs a few ms on 3 000 faces at 256 px.
POLISH_STEPS = 120


def _opt(help_text: str, **kw: Any) -> dict:
    return {"help": help_text, **kw}


@dataclass
class FitParams:
    """Fitting parameters. σ is in NDC² units (the image's longer side spans [-1, 1]); image sizes are the
    longer side in pixels (0 = the data's own size)."""

    iterations: int = field(default=300, metadata=_opt("optimisation steps (upper bound with early stop)"))
    lr: float = field(default=0.05, metadata=_opt(
        "Adam step size relative to the initial mesh's bounding-box diagonal (independent of units)"))
    lr_decay: float = field(default=0.1, metadata=_opt(
        "final step size as a fraction of lr (geometric decay)"))
    betas: tuple[float, float] = field(default=(0.9, 0.99), metadata=_opt("Adam betas B1,B2"))
    optimizer: str = field(default="adam_uniform", metadata=_opt(
        "adam, or adam_uniform (one step size for all vertices, as Large Steps recommends)",
        choices=OPTIMIZERS))
    parameterization: str = field(default="largesteps", metadata=_opt(
        "largesteps: optimise u = (I + λL)x (Nicolet et al. 2021); vertices: raw positions",
        choices=PARAMETERIZATIONS))
    smoothing: float = field(default=5.0, metadata=_opt("Large Steps λ: larger = smoother steps"))
    views_per_step: int = field(default=4, metadata=_opt("training views rendered per step"))
    sigma: tuple[float, float] = field(default=(1e-4, 1e-6), metadata=_opt(
        "soft rasteriser σ START,END in NDC², annealed geometrically (coarse to fine)"))
    sigma_anneal: float = field(default=0.7, metadata=_opt(
        "fraction of the steps over which σ anneals; it is then held at END and early stopping may act"))
    resolutions: tuple[tuple[float, int], ...] = field(
        default=((0.0, 64), (0.3, 128), (0.7, 0)), metadata=_opt(
            "render-size schedule FRACTION:SIZE,... (long side in px, 0 = full size): small images first"))
    laplacian: str = field(default="uniform", metadata=_opt(
        "Laplacian regulariser kind", choices=LAPLACIANS))
    w_laplacian: float = field(default=0.0, metadata=_opt("weight of the Laplacian regulariser"))
    w_edge: float = field(default=0.0, metadata=_opt("weight of the edge-length uniformity regulariser"))
    w_normal: float = field(default=0.0, metadata=_opt("weight of the normal-consistency regulariser"))
    w_flatten: float = field(default=0.0, metadata=_opt("weight of SoftRas' flatten regulariser"))
    remesh: str = field(default="auto", metadata=_opt(
        "adaptive remeshing during the fit (edge lengths from the pixel footprint, curvature and the "
        "silhouette error, softfit.fit.sizing): on, off, or auto = on when the initial mesh's polys is "
        "'auto' (softfit.pipeline decides; a direct fit() call treats auto as off)", choices=REMESH))
    simplify: float = field(default=0.05, metadata=_opt(
        "after an adaptive fit (remesh on), collapse edges by quadric error while the training views' "
        "silhouette error (1 - IoU) grows by at most this share of its own (softfit.mesh.simplify); 0 = keep "
        "the remeshed faces"))
    holdout: float = field(default=0.1, metadata=_opt(
        "fraction of views held out of the loss and scored at the end (>= 1 view when there are >= 5)"))
    seed: int = field(default=0, metadata=_opt("random seed: same seed, same data -> same mesh"))
    device: str = field(default="auto", metadata=_opt("compute device", choices=DEVICES))
    threads: int = field(default=0, metadata=_opt("CPU threads for torch (0 = torch's default)"))
    plateau_patience: int = field(default=60, metadata=_opt(
        "stop when the loss has not improved for this many steps of the final stage (0 = never)"))
    plateau_tol: float = field(default=1e-4, metadata=_opt("improvement that counts for early stopping"))

    def __post_init__(self) -> None:
        self.validate()

    # -- validation -------------------------------------------------------------------------------

    def validate(self) -> None:
        """Raise InputError naming the first bad value; normalise sequences to tuples."""
        self.betas = _tuple_of(self.betas, 2, float, "betas")
        self.sigma = _tuple_of(self.sigma, 2, float, "sigma")
        self.resolutions = _schedule(self.resolutions)
        for name in ("iterations", "views_per_step", "seed", "threads", "plateau_patience"):
            setattr(self, name, _int(getattr(self, name), name))
        for name in ("lr", "lr_decay", "sigma_anneal", "smoothing", "w_laplacian", "w_edge", "w_normal",
                     "w_flatten", "holdout", "plateau_tol", "simplify"):
            setattr(self, name, _float(getattr(self, name), name))
        for name, choices in (("optimizer", OPTIMIZERS), ("parameterization", PARAMETERIZATIONS),
                              ("laplacian", LAPLACIANS), ("device", DEVICES),
                              ("remesh", REMESH)):
            if getattr(self, name) not in choices:
                raise InputError(f"{name} must be one of {', '.join(choices)}, got {getattr(self, name)!r}")
        _check(self.iterations >= 0, "iterations must be >= 0")
        _check(self.lr > 0, "lr must be > 0")
        _check(0 < self.lr_decay <= 1, "lr_decay must lie in (0, 1]")
        _check(all(0 <= b < 1 for b in self.betas), "betas must lie in [0, 1)")
        _check(self.smoothing >= 0, "smoothing must be >= 0")
        _check(self.views_per_step >= 1, "views_per_step must be >= 1")
        _check(all(SIGMA_RANGE[0] <= s <= SIGMA_RANGE[1] for s in self.sigma),
               f"sigma values must lie in [{SIGMA_RANGE[0]:g}, {SIGMA_RANGE[1]:g}] NDC² (the image's long "
               f"side spans 2), got {list(self.sigma)}")
        _check(0 <= self.sigma_anneal <= 1, "sigma_anneal must lie in [0, 1]")
        _check(min(self.w_laplacian, self.w_edge, self.w_normal, self.w_flatten) >= 0,
               "regulariser weights must be >= 0")
        _check(0 <= self.holdout < 1, "holdout must be a fraction in [0, 1)")
        _check(self.threads >= 0, "threads must be >= 0")
        _check(0 <= self.simplify <= 1, "simplify must lie in [0, 1]")
        _check(self.plateau_patience >= 0 and self.plateau_tol >= 0, "plateau settings must be >= 0")

    # -- JSON -------------------------------------------------------------------------------------

    def to_dict(self) -> dict:
        d = asdict(self)
        d["betas"] = list(self.betas)
        d["sigma"] = list(self.sigma)
        d["resolutions"] = [[f, s] for f, s in self.resolutions]
        return d

    @classmethod
    def from_dict(cls, d: dict | None) -> FitParams:
        if d is None:
            return cls()
        if not isinstance(d, dict):
            raise InputError(f"fit parameters must be a JSON object, got {type(d).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise InputError(f"unknown fit parameter(s): {', '.join(unknown)}")
        return cls(**d)

    def resolution_at(self, iteration: int) -> int:
        """Long-side render size (0 = full) in force at `iteration`."""
        t = iteration / max(self.iterations, 1)
        size = self.resolutions[0][1]
        for start, s in self.resolutions:
            if t >= start:
                size = s
        return size

    def sigma_at(self, iteration: int) -> float:
        """σ annealed geometrically from sigma[0] to sigma[1] over the first sigma_anneal of the steps, then
        held, so that early stopping sees a fixed objective."""
        s0, s1 = self.sigma
        end = self.sigma_anneal * self.iterations
        t = 1.0 if end <= 0 else min(1.0, iteration / end)
        return s0 * (s1 / s0) ** t

    def lr_at(self, iteration: int) -> float:
        """Relative step size, decaying geometrically from lr to lr·lr_decay over the run."""
        t = min(1.0, iteration / max(self.iterations - 1, 1))
        return self.lr * self.lr_decay**t

    def final_stage_start(self) -> int:
        """First iteration of the last resolution stage."""
        return int(math.ceil(self.resolutions[-1][0] * self.iterations))

    def remesh_at(self) -> list[int]:
        """Iterations before which the mesh is remeshed: the start of every resolution stage and the
        middle of each stage, none in the last REMESH_QUIET of the steps (the fit settles there)."""
        n = self.iterations
        starts = [f for f, _ in self.resolutions] + [1.0]
        fracs = sorted({x for a, b in zip(starts, starts[1:], strict=False) for x in (a, (a + b) / 2)})
        its = sorted({int(math.ceil(f * n)) for f in fracs if f <= 1.0 - REMESH_QUIET})
        return [i for i in its if i < n]

    def plateau_start(self) -> int:
        """Early stopping watches the loss from here: σ is held and the render size is final."""
        return max(self.final_stage_start(), int(math.ceil(self.sigma_anneal * self.iterations)))

def _check(ok: bool, message: str) -> None:
    if not ok:
        raise InputError(message)


def _int(v: Any, name: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise InputError(f"{name} must be an integer, got {v!r}")
    if isinstance(v, float) and (not math.isfinite(v) or v != int(v)):
        raise InputError(f"{name} must be an integer, got {v!r}")
    if abs(v) > MAX_INT:
        raise InputError(f"{name} must be an integer of at most {MAX_INT:.0e} in size, got {v!r}")
    return int(v)


def _float(v: Any, name: str) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise InputError(f"{name} must be a finite number, got {v!r}")
    return float(v)


def _tuple_of(v: Any, n: int, kind: type, name: str) -> tuple:
    if isinstance(v, str) or not hasattr(v, "__len__") or len(v) != n:
        raise InputError(f"{name} must be {n} numbers, got {v!r}")
    return tuple(_float(x, name) if kind is float else _int(x, name) for x in v)


def _schedule(v: Any) -> tuple[tuple[float, int], ...]:
    """Validate a resolution schedule: (start fraction, size) pairs, first at 0, fractions increasing."""
    if isinstance(v, str) or not hasattr(v, "__len__") or len(v) == 0:
        raise InputError(f"resolutions must be a non-empty list of [fraction, size] pairs, got {v!r}")
    out = []
    for item in v:
        frac, size = _tuple_of(item, 2, float, "resolutions")
        if size != int(size) or size < 0 or 0 < size < 8 or size > 16384:
            raise InputError(f"resolutions: size must be 0 (full) or an integer in [8, 16384], got {size!r}")
        out.append((frac, int(size)))
    fracs = [f for f, _ in out]
    _check(fracs[0] == 0.0, "resolutions: the first stage must start at fraction 0")
    _check(all(a < b for a, b in zip(fracs, fracs[1:], strict=False)) and 0 <= fracs[-1] < 1,
           "resolutions: start fractions must increase within [0, 1)")
    return tuple(out)


def polish_params(params: FitParams, steps: int = POLISH_STEPS) -> FitParams:
    """`params` at their last stage (final σ, full image size, final step size) held for `steps` steps
    on a fixed topology (no remeshing, no decimation, no early stop): a polish of a mesh whose vertices
    the fit did not place."""
    return replace(params, iterations=steps, sigma=(params.sigma[1], params.sigma[1]),
                   resolutions=((0.0, 0),), lr=params.lr * params.lr_decay, lr_decay=1.0, remesh="off",
                   simplify=0.0, plateau_patience=0)

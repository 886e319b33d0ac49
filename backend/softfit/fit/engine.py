"""The fitting loop: the one engine that the CLI, the server and the experiments all call."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch

import softfit
from softfit.cameras import Cameras
from softfit.data.framing import leaves_frame
from softfit.data.types import MultiViewData
from softfit.errors import InputError
from softfit.fit.losses import silhouette_loss
from softfit.fit.optim import make_optimizer
from softfit.fit.parameterization import make_parameterization
from softfit.fit.params import FitParams, polish_params
from softfit.fit.regularizers import Topology, regularizer_terms
from softfit.fit.remesh import RemeshError, remesh
from softfit.fit.repair import repair_fitted, silhouette_error
from softfit.fit.sizing import target_lengths
from softfit.fit.views import Targets, coverage_warnings, make_targets, split_views
from softfit.mesh.intersect import intersecting_pairs
from softfit.mesh.simplify import simplify
from softfit.mesh.types import Mesh, check_initial_mesh
from softfit.metrics import view_iou
from softfit.projection import project
from softfit.wire.events import Progress

# Stop reasons recorded in metrics["stop_reason"].
COMPLETED, PLATEAU, CANCELLED = "completed", "plateau", "cancelled"
INTERRUPTED, DIVERGED = "interrupted", "diverged"
_EMA = 0.1  # smoothing of the loss for early stopping (≈ the last 10 steps: views vary per step)


@dataclass
class FitResult:
    mesh: Mesh
    metrics: dict
    cancelled: bool = False


@dataclass
class _History:
    iteration: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    iou: list[float] = field(default_factory=list)
    elapsed: list[float] = field(default_factory=list)
    sigma: list[float] = field(default_factory=list)
    size: list[int] = field(default_factory=list)
    terms: dict[str, list[float]] = field(default_factory=dict)

    def add(self, p: Progress, sigma: float, size: int) -> None:
        self.iteration.append(p.iteration)
        self.loss.append(p.loss)
        self.iou.append(p.iou)
        self.elapsed.append(round(p.elapsed, 4))
        self.sigma.append(sigma)
        self.size.append(size)
        for k, v in p.terms.items():
            self.terms.setdefault(k, []).append(v)

    def to_dict(self) -> dict:
        return {"iteration": self.iteration, "loss": self.loss, "iou": self.iou, "elapsed": self.elapsed,
                "sigma": self.sigma, "size": self.size, "terms": self.terms}


def resolve_device(name: str) -> torch.device:
    """"auto" = CUDA when both torch and the compiled rasteriser have it, else CPU."""
    cuda_ok = torch.cuda.is_available()
    if cuda_ok:
        try:
            from softfit import _C

            cuda_ok = bool(_C.has_cuda())
        except ImportError:
            cuda_ok = False
    if name == "cuda" and not cuda_ok:
        raise InputError("device cuda requested, but there is no CUDA device or softfit._C lacks CUDA")
    return torch.device("cuda" if name == "cuda" or (name == "auto" and cuda_ok) else "cpu")


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Use n CPU threads for the duration of the block (a fit, a test; 0 = leave torch's setting)."""
    before = torch.get_num_threads()
    if n > 0:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if n > 0:
            torch.set_num_threads(before)


def _check_inputs(data: MultiViewData, init: Mesh, pinned: np.ndarray | None) -> np.ndarray:
    if len(data) == 0:
        raise InputError("no views to fit")
    check_initial_mesh(init)
    blind = _views_not_seeing(data, init)
    if blind:
        more = f" and {len(blind) - 5} more" if len(blind) > 5 else ""
        raise InputError(
            f"camera(s) {', '.join(blind[:5])}{more} do not see the initial mesh (it lies behind them or "
            "outside their image) although their silhouettes show the object: check the cameras, or "
            "place the initial mesh from the silhouettes (--init hull or bbox)")
    if pinned is None:
        return np.zeros(0, dtype=np.int64)
    arr = np.asarray(pinned)
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise InputError(f"pinned must hold integer vertex indices, got {arr.dtype}")
    p = np.unique(arr.astype(np.int64).ravel())
    if len(p) and (p.min() < 0 or p.max() >= init.n_verts):
        raise InputError(f"pinned vertex indices must lie in [0, {init.n_verts})")
    return p


def _views_not_seeing(data: MultiViewData, init: Mesh) -> list[str]:
    """Names of views with object pixels in which no vertex of `init` lies in front of the camera and
    inside the image: such a view gives the fit no gradient, and usually means wrong cameras."""
    pts = data.cameras.project_points(init.verts)  # (N, V, 3): x_px, y_px, depth
    w, h = data.cameras.width, data.cameras.height
    seen = ((pts[..., 2] > 0) & (pts[..., 0] >= 0) & (pts[..., 0] <= w) & (pts[..., 1] >= 0)
            & (pts[..., 1] <= h)).any(axis=1)
    has_object = (data.silhouettes > 0.5).any(axis=(1, 2))
    return [data.names[i] for i in np.flatnonzero(has_object & ~seen)]


def fit(data: MultiViewData, init: Mesh, params: FitParams,
        callback: Callable[[Progress], None] | None = None,
        cancel: threading.Event | None = None,
        pinned: np.ndarray | None = None,
        views: tuple[np.ndarray, np.ndarray] | None = None) -> FitResult:
    """Deform `init` until its silhouettes match `data`'s training views; score the held-out views.

    views: the (train, held-out) indices; default `split_views` of `params` (softfit.pipeline passes the
    split it also built the initial mesh from, so the two can never disagree).

    The callback runs after every step (progress bars, vertex streaming); `cancel` is checked before
    every step and ends the fit with the current mesh (cancelled=True). A KeyboardInterrupt raised during
    the loop (Ctrl-C, or from the callback) does the same, with stop_reason "interrupted". Pinned
    vertices never move. Deterministic for a given seed on a given device and thread count."""
    params.validate()
    pinned = _check_inputs(data, init, pinned)
    device = resolve_device(params.device)
    with torch_threads(params.threads):
        split = views if views is not None else split_views(data.cameras, params.holdout, params.seed)
        return _Fit(data, init, params, device, pinned, split).run(callback, cancel)


class _Fit:
    def __init__(self, data: MultiViewData, init: Mesh, params: FitParams, device: torch.device,
                 pinned: np.ndarray, views: tuple[np.ndarray, np.ndarray]) -> None:
        self.data, self.init, self.p, self.device, self.pinned = data, init, params, device, pinned
        self.dtype = torch.float32
        self.train, self.held = (np.asarray(v, dtype=np.int64) for v in views)
        if not (data.silhouettes[self.train] > 0.5).any():
            raise InputError("every training silhouette is empty: nothing to fit")
        self.remesh = _remesh_setting(params, pinned)
        self._remesh_log: list[dict] = []
        self.topology = 0  # bumped by every remeshing: streaming clients replace their faces then
        self._set_mesh(torch.as_tensor(init.verts, dtype=self.dtype, device=device), init.faces)
        lo, hi = init.verts.min(0), init.verts.max(0)
        self.scale = max(float(np.linalg.norm(hi - lo)), 1e-9)  # lr is relative to the mesh's size
        self.weights = {"laplacian": params.w_laplacian, "edge": params.w_edge, "normal": params.w_normal,
                        "flatten": params.w_flatten}
        self._targets: dict[int, Targets] = {}
        vw = data.view_weights
        self.view_weights = None if vw is None else torch.as_tensor(vw[self.train], dtype=self.dtype,
                                                                     device=device)
        self._rng = np.random.default_rng(params.seed)
        self._queue: list[int] = []

    def _set_mesh(self, verts: torch.Tensor, faces: np.ndarray, source: np.ndarray | None = None) -> None:
        """(Re)build everything that depends on the faces: regularisers' topology, the parameterisation
        and the optimiser. After a remeshing, Adam's moments follow each new vertex's source vertex
        (its step count too), so the step size does not jump back to a cold start."""
        p = self.p
        old = getattr(self, "opt", None)
        self.faces_np = np.asarray(faces, dtype=np.int64)
        self.faces = torch.as_tensor(self.faces_np, dtype=torch.int64, device=self.device)
        self.topo = Topology.build(verts.detach().cpu().numpy(), self.faces_np, self.device)
        self.param = make_parameterization(p.parameterization, verts, self.faces_np, p.smoothing, self.pinned)
        self.opt = make_optimizer(p.optimizer, self.param.parameters(), p.lr, p.betas)
        if old is not None and source is not None:
            self.opt.carry(old, torch.as_tensor(source, device=self.device))

    def _remesh(self, it: int) -> None:
        """Remesh towards the target lengths the full-size images support (softfit.fit.sizing), whatever
        the render size in force at `it`: the initial mesh already carries that detail, and sizing edges
        for the small early renders coarsened it away before the fit could use it (measured in
        benchmarks/thin.md, round 5). Where the silhouette still disagrees is read at the render size in
        force, though: a mismatch finer than the renders the fit has seen so far is not yet a failure of
        the fit (benchmarks/thin.md, round 13)."""
        t0 = time.perf_counter()
        verts = self.current_verts()
        target, summary = target_lengths(verts, self.faces_np, self.targets(0),  # 0: full size
                                         first=self.topology == 0,
                                         err_tg=self.targets(self.p.resolution_at(it)))
        try:
            r = remesh(verts.double().cpu().numpy(), self.faces_np, target)
        except RemeshError as exc:  # keep the current mesh; never silent
            self._remesh_log.append({"iteration": it, "error": str(exc)})
            return
        before = len(self.faces_np)
        self._set_mesh(torch.as_tensor(r.verts, dtype=self.dtype, device=self.device), r.faces, r.source)
        self.topology += 1
        self._remesh_log.append({"iteration": it, "render_size": self.p.resolution_at(it),
                                 "sized_for": "full-size images", "faces_before": before,
                                 "faces_after": len(r.faces), "seconds": round(time.perf_counter() - t0, 3)}
                                | summary)

    # -- schedule helpers -------------------------------------------------------------------------

    def targets(self, size: int) -> Targets:
        if size not in self._targets:
            self._targets[size] = make_targets(self.data.silhouettes[self.train],
                                               self.data.cameras.subset(self.train), size, self.dtype,
                                               self.device)
        return self._targets[size]

    def next_views(self) -> np.ndarray:
        """Draw views_per_step training views, cycling through shuffled epochs so every view is used
        equally often."""
        n, k = len(self.train), min(self.p.views_per_step, len(self.train))
        while len(self._queue) < k:
            self._queue.extend(self._rng.permutation(n).tolist())
        out, self._queue = self._queue[:k], self._queue[k:]
        return np.asarray(out, dtype=np.int64)

    # -- loop -------------------------------------------------------------------------------------

    def step(self, it: int) -> tuple[float, float, dict[str, float], int, float]:
        from softfit.raster import rasterize_silhouette

        size, sigma = self.p.resolution_at(it), self.p.sigma_at(it)
        tg = self.targets(size)
        idx = torch.as_tensor(self.next_views(), device=self.device)
        x = self.param.verts()
        screen = project(x, tg.w2c[idx], tg.intrinsics[idx])
        alpha = rasterize_silhouette(screen, self.faces, (tg.height, tg.width), sigma=sigma)
        sil_loss, ious = silhouette_loss(alpha, tg.silhouettes[idx],
                                         None if self.view_weights is None else self.view_weights[idx])
        regs = regularizer_terms(x, self.topo, self.weights, self.p.laplacian)
        loss = sil_loss
        for k, v in regs.items():
            loss = loss + self.weights[k] * v
        self.opt.zero_grad()
        loss.backward()
        self.opt.lr = self.p.lr_at(it) * self.scale
        self.opt.step()
        self.param.after_step()
        terms = {"silhouette": float(sil_loss.detach())} | {k: float(v.detach()) for k, v in regs.items()}
        return float(loss.detach()), float(ious.mean()), terms, max(tg.width, tg.height), sigma

    def current_verts(self) -> torch.Tensor:
        with torch.no_grad():
            return self.param.verts().detach().clone()

    def run(self, callback: Callable[[Progress], None] | None, cancel: threading.Event | None) -> FitResult:
        p = self.p
        t0 = time.perf_counter()
        hist = _History()
        reason, done = COMPLETED, 0
        verts = self.current_verts()
        best, ema, last_gain = float("inf"), None, 0
        final_start = p.plateau_start()
        remesh_at = set(p.remesh_at()) if self.remesh else set()
        cpu0 = time.process_time()
        try:
            for it in range(p.iterations):
                if cancel is not None and cancel.is_set():
                    reason = CANCELLED
                    break
                if it in remesh_at:
                    self._remesh(it)
                loss, iou, terms, size, sigma = self.step(it)
                new = self.current_verts()
                if not (np.isfinite(loss) and bool(torch.isfinite(new).all())):
                    reason = DIVERGED
                    break
                verts, done = new, it + 1
                prog = Progress(it, p.iterations, loss, iou, time.perf_counter() - t0, terms,
                                verts.cpu().numpy().astype(np.float32), self.faces_np, self.topology)
                hist.add(prog, sigma, size)
                if callback is not None:
                    callback(prog)
                if p.plateau_patience and it >= final_start:
                    ema = loss if ema is None else (1 - _EMA) * ema + _EMA * loss
                    if ema < best - p.plateau_tol:
                        best, last_gain = ema, it
                    elif it - last_gain >= p.plateau_patience:
                        reason = PLATEAU
                        break
        except KeyboardInterrupt:
            reason = INTERRUPTED
        mesh = Mesh(verts.cpu().double().numpy(), self.faces_np)
        if len(self.pinned):  # exact, not float32-rounded, positions for pinned vertices
            mesh.verts[self.pinned] = self.init.verts[self.pinned]
        mesh, simplified = self._simplify(mesh, reason)
        fit_time, cpu_time = time.perf_counter() - t0, time.process_time() - cpu0
        metrics = self.evaluate(mesh)
        metrics.update({
            "iterations": done, "stop_reason": reason, "cancelled": reason in (CANCELLED, INTERRUPTED),
            "fit_time": fit_time, "fit_cpu_time": cpu_time, "wall_time": time.perf_counter() - t0,
            "history": hist.to_dict(),
            "final_terms": {k: v[-1] for k, v in hist.terms.items()},
            "remesh": {"enabled": self.remesh, "setting": p.remesh, "initial_faces": self.init.n_faces,
                       "final_faces": mesh.n_faces, "steps": self._remesh_log}
            | ({"simplify": simplified} if simplified is not None else {})
            | ({"disabled_because": "pinned vertices keep their indices only on a fixed topology"}
               if p.remesh == "on" and not self.remesh else {}),
        })
        return FitResult(mesh, metrics, cancelled=reason in (CANCELLED, INTERRUPTED))

    def _simplify(self, mesh: Mesh, reason: str) -> tuple[Mesh, dict | None]:
        """An adaptive fit that ran its course ends with the fewest faces its training views cannot tell
        from it (softfit.mesh.simplify). A fixed --polys N keeps the N faces asked for, and a stopped or
        diverged fit is left as it stood."""
        if not self.remesh or self.p.simplify <= 0 or reason not in (COMPLETED, PLATEAU):
            return mesh, None
        error = silhouette_error(self.data.silhouettes[self.train], self.data.cameras.subset(self.train),
                                 str(self.device))

        def untangle(m: Mesh) -> tuple[Mesh, int]:
            repaired, report = repair_fitted(m, error)
            return repaired, report["after"]["self_intersections"]

        out = simplify(mesh, error, self.p.simplify, untangle)
        if out.mesh is mesh:
            return mesh, out.summary()
        self.topology += 1
        polished, report = self._polish(out.mesh, error, untangle)
        return polished, out.summary() | {"polish": report}

    def _polish(self, mesh: Mesh, error: Callable[[Mesh], float], untangle: Callable[[Mesh], tuple[Mesh, int]]
                ) -> tuple[Mesh, dict]:
        """The decimated `mesh` fitted again for POLISH_STEPS steps (`polish_params`): the decimation placed
        its vertices by quadric error, not by the silhouettes, with no step left to settle them. Kept, as
        it will be written (`untangle`), only when it fits the training views better and crosses itself no
        more. Measured on five adaptive fits of `softfit bench thin` (round 23, between the training
        views): 64² airplane 0.9470 -> 0.9596, chair 0.9299 -> 0.9384, mug 0.9865 -> 0.9880; 256² airplane
        0.9775 -> 0.9820, chair 0.9808 -> 0.9835; fixed fits, already settled, gain 0.0005-0.002."""
        t0 = time.perf_counter()
        quick = polish_params(self.p)
        raw = fit(self.data, mesh, quick, views=(self.train, self.held)).mesh
        crossings = len(intersecting_pairs(mesh))
        polished, left = untangle(raw) if len(intersecting_pairs(raw)) else (raw, 0)
        before, after = float(error(mesh)), float(error(polished))
        kept = after < before and left <= crossings
        report = {"steps": quick.iterations, "error_before": round(before, 6), "error_after": round(after, 6),
                  "crossings_left": left, "kept": kept, "seconds": round(time.perf_counter() - t0, 3)}
        return (polished if kept else mesh), report

    def evaluate(self, mesh: Mesh) -> dict:
        """Hard-raster IoU on every training and held-out view at the data's full size."""
        d = self.data
        train_iou = view_iou(mesh, d.silhouettes[self.train], d.cameras.subset(self.train), self.device)
        held_iou = view_iou(mesh, d.silhouettes[self.held], d.cameras.subset(self.held), self.device)
        return {
            "softfit_version": softfit.__version__, "torch_version": torch.__version__,
            "device": str(self.device), "threads": torch.get_num_threads(), "params": self.p.to_dict(),
            "n_views": len(d), "image_size": [d.cameras.width, d.cameras.height],
            "mesh": {"verts": mesh.n_verts, "faces": mesh.n_faces, "pinned": len(self.pinned)},
            "train_views": self.train.tolist(), "heldout_views": self.held.tolist(),
            "heldout_names": [d.names[i] for i in self.held],
            "train_iou": float(train_iou.mean()), "train_iou_per_view": train_iou.tolist(),
            "heldout_iou": float(held_iou.mean()) if len(held_iou) else None,
            "heldout_iou_per_view": held_iou.tolist(),
        } | silhouette_provenance(d.info, d.silhouettes) | _coverage(d.cameras, self.train, self.held)


def _remesh_setting(params: FitParams, pinned: np.ndarray) -> bool:
    """Remesh only when asked ("on"; the pipeline turns "auto" into on/off) and nothing is pinned: pinned
    vertices must keep their indices, which remeshing would not guarantee."""
    return params.remesh == "on" and len(pinned) == 0


def _coverage(cameras: Cameras, train: np.ndarray, held: np.ndarray) -> dict:
    """`view_warnings` for metrics.json: too few views, or a side of the object none of them sees."""
    warnings = coverage_warnings(cameras, train, held)
    return {"view_warnings": warnings} if warnings else {}


def silhouette_provenance(info: dict, silhouettes: np.ndarray | None = None) -> dict:
    """What the IoUs were measured against, and the warnings about the silhouettes, for metrics.json.

    IoU against segmented masks only says the mesh agrees with the segmentation; calling it accuracy
    would flatter a fit of the wrong masks (a floor taken for the object agrees perfectly with itself).
    Given silhouettes (alpha, masks) that reach the image border in most views are warned about too
    (`silhouette_warnings`): the object leaves the frame, and no IoU shows what lies beyond it."""
    seg = info.get("segmentation")
    choice = {"silhouette_choice": info["silhouette_choice"]} if "silhouette_choice" in info else {}
    if seg is None:
        src = info.get("silhouette", "given")
        out = {"iou_against": f"the input silhouettes ({src})"} | choice
        warning = None if silhouettes is None else leaves_frame(silhouettes)
        return out | ({"silhouette_warnings": [warning]} if warning else {})
    out = choice | {"iou_against": f"segmented masks ({seg.get('method', '?')}): agreement with the "
                                   "segmentation, not accuracy",
           "silhouette_method": seg.get("method"), "silhouette_reason": seg.get("reason")}
    for k in ("median_agreement", "doubtful_views", "warnings"):
        if k in seg:
            out["segmentation_" + k] = seg[k]
    return out

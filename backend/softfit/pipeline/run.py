"""`run(inputs, init, params, gt, on_progress, cancel) -> Outcome`: the one pipeline from views to a scored,
reported mesh. The CLI, the demo, the server, batch, the benchmarks and the experiments only translate
their inputs into its arguments and present its outcome, so a rule about the run (above all: held-out
views never reach the initial mesh or the loss) holds for all of them at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from softfit.data.types import MultiViewData
from softfit.fit import FitParams, FitResult, Progress, fit
from softfit.mesh.quadriflow import QuadMesh
from softfit.mesh.types import Mesh
from softfit.pipeline.initial import InitSpec, hull_misses, initial_mesh, training_views

if TYPE_CHECKING:
    from softfit.texture.bake import Texture


@dataclass(frozen=True)
class Inputs:
    """Where the views come from: a dataset path (read by `softfit.data.load`), or views in memory."""

    source: str | Path | MultiViewData
    cameras: str | None = None
    silhouette: str = "auto"
    image_size: int | None = 256
    object_index: int | None = None
    allow_outside_paths: bool = False  # a camera file may name images outside its folder

    def load(self) -> MultiViewData:
        if isinstance(self.source, MultiViewData):
            return self.source
        from softfit.data.load import load_dataset

        size = self.image_size or None  # 0 = as stored; a negative size is refused by the loader
        return load_dataset(self.source, cameras=self.cameras, silhouette=self.silhouette, image_size=size,
                            object_index=self.object_index, allow_outside_paths=self.allow_outside_paths)

    def record(self) -> dict:
        """What metrics.json says about the input."""
        src = self.source
        if isinstance(src, MultiViewData):
            src = src.info.get("source", "memory")
        return {"data": str(src), "cameras": self.cameras, "silhouette": self.silhouette,
                "image_size": self.image_size, "object": self.object_index}


@dataclass(frozen=True)
class ReportSpec:
    """Where and how to write the output folder (`softfit.report.write_report`)."""

    out: str | Path
    force: bool = False
    turntable: bool = False
    texture: bool = True  # bake and write the texture (mesh.glb, mesh.mtl, texture.png)
    texture_refine: bool = False  # refine the baked texture against the training photos
    quads: int | None = None  # also a QuadriFlow quad mesh (mesh_quads.obj): target faces, 0 = automatic


@dataclass(frozen=True)
class Metrics:
    """The headline numbers of a run; `raw` is the full metrics.json content. Held-out IoU is measured
    against the input silhouettes of views that never entered initialisation or the loss."""

    train_iou: float
    heldout_iou: float | None
    heldout_views: tuple[int, ...]
    chamfer: float | None
    chamfer_rel: float | None
    iterations: int
    fit_time: float
    stop_reason: str
    device: str
    raw: dict


@dataclass
class Outcome:
    mesh: Mesh
    metrics: Metrics
    report: Path | None  # the output folder, when one was asked for
    data: MultiViewData
    init: Mesh
    init_name: str
    init_seconds: float
    train: np.ndarray  # training view indices (the only views the initial mesh and the loss saw)
    held: np.ndarray
    cancelled: bool
    fitted: Mesh  # the fit's own mesh: `mesh` before the topology repair of a finished run (else `mesh`)


def run(inputs: Inputs, init: InitSpec, params: FitParams, gt: Mesh | None = None,
        on_progress: Callable[[Progress], None] | None = None, cancel: threading.Event | None = None, *,
        report: ReportSpec | None = None, finish: bool = False, pinned: np.ndarray | None = None,
        record: dict | None = None, quiet: bool = True) -> Outcome:
    """Load the views, split train/held-out once, build the initial mesh from the training views, fit
    (the held-out views scored only), add the Chamfer distance to `gt`, write the report.

    A run with a `report`, or with `finish` and none, ends with the mesh an artist gets (`_finish`: its
    topology repaired and every score taken again on it); `finish` alone writes nothing and bakes no
    texture: the benchmarks score what `softfit fit` writes without a folder to write it into. Runs with
    neither (the server's live fits) keep the fitted topology, which their clients stream vertices into.

    `cancel` ends the fit early with the current mesh; when it has a `stop_reason` attribute (the CLI's
    Ctrl-C: "interrupted") that reason is recorded. `record` adds fields to metrics.json's "input"."""
    params = resolve_remesh(params, init)
    data = inputs.load()
    train, held = training_views(data, params)
    t0 = time.perf_counter()
    init_name, mesh0 = initial_mesh(init, data, params, quiet=quiet)
    init_seconds = time.perf_counter() - t0
    result = fit(data, mesh0, params, callback=on_progress, cancel=cancel, pinned=pinned, views=(train, held))
    m = result.metrics
    reason = getattr(cancel, "stop_reason", None)
    if result.cancelled and reason:
        m["stop_reason"] = reason
    if gt is not None:
        from softfit.metrics import chamfer_distance

        m["chamfer"] = chamfer_distance(result.mesh, gt, seed=params.seed)
    m["input"] = inputs.record() | {"init": init_name, "polys": init.polys, "views": len(data),
                                    "data_info": data.info, "init_verts": mesh0.n_verts,
                                    "init_faces": mesh0.n_faces} | (record or {})
    if init_name == "hull":
        m["input"]["init_hull_max_misses"] = hull_misses(len(train), data.info)
    fitted, folder = result.mesh, None
    if report is not None:
        folder = _write(report, result, data, params, train, inputs, gt)
    elif finish:
        _finish(result, data, params, train, gt, texture=False)
    return Outcome(result.mesh, _metrics(m), folder, data, mesh0, init_name, init_seconds, train, held,
                   result.cancelled, fitted)


def resolve_remesh(params: FitParams, init: InitSpec) -> FitParams:
    """remesh "auto" -> "on" when the initial mesh's size is "auto" (then the images decide the final
    count: softfit.fit.sizing), else "off" (an explicit --polys N keeps a fixed topology of N faces)."""
    params.validate()
    if params.remesh != "auto":
        return params
    return replace(params, remesh="on" if init.polys == "auto" and init.mesh is None else "off")


def _finish(result: FitResult, data: MultiViewData, params: FitParams, train: np.ndarray, gt: Mesh | None,
            texture: bool, refine: bool = False, photos: MultiViewData | None = None) -> Texture | None:
    """`result` made the artist's result (`softfit.texture.finish`: topology repaired, IoUs taken again on
    the repaired mesh, textured when `texture`), its Chamfer distance to `gt` too."""
    from softfit.texture.finish import finish

    tex = finish(result, data, params, texture=texture, train=train, refine=refine, photos=photos)
    if gt is not None and "fit_scores" in result.metrics["topology"]:  # the repair moved it
        from softfit.metrics import chamfer_distance

        result.metrics["chamfer"] = chamfer_distance(result.mesh, gt, seed=params.seed)
    return tex


def _write(spec: ReportSpec, result: FitResult, data: MultiViewData, params: FitParams, train: np.ndarray,
           inputs: Inputs, gt: Mesh | None = None) -> Path:
    """The finished result (`_finish`), textured unless turned off from the training views' photos read
    again at up to `texture.photos.PHOTO_SIZE`, written into the report folder."""
    from softfit.report import write_report
    from softfit.texture.photos import bake_photos

    photos, t0 = None, time.perf_counter()
    if spec.texture:
        photos = bake_photos(inputs.source, data, inputs.cameras, inputs.object_index,
                             inputs.allow_outside_paths)
    read_time = time.perf_counter() - t0
    texture = _finish(result, data, params, train, gt, spec.texture, spec.texture_refine, photos)
    if texture is not None and photos is not None:
        result.metrics["texture"]["photo_read_time"] = round(read_time, 3)
    quads = None if spec.quads is None else _quads(result, spec.quads, texture)
    return write_report(spec.out, result, data, force=spec.force, turntable=spec.turntable,
                        device=str(result.metrics.get("device", "cpu")), texture=texture, quads=quads)


def _quads(result: FitResult, target: int, texture: Texture | None = None) -> QuadMesh | None:
    """The quad remesh of the finished mesh, carrying its texture over when it has one; a failure is
    recorded and warned about, never fatal: the fit and its other files are written all the same."""
    from softfit.mesh.quadriflow import QuadriflowError, remesh

    carry = None if texture is None else (texture.uv.uvs[texture.uv.uv_faces], texture.image)
    try:
        quads = remesh(result.mesh.verts, result.mesh.faces, target or None, texture=carry)
    except QuadriflowError as exc:
        result.metrics["quads"] = {"error": str(exc)}
        return None
    result.metrics["quads"] = quads.summary()
    return quads


def _metrics(m: dict) -> Metrics:
    cd = m.get("chamfer") or {}
    return Metrics(train_iou=m["train_iou"], heldout_iou=m.get("heldout_iou"),
                   heldout_views=tuple(int(i) for i in m.get("heldout_views", ())), chamfer=cd.get("chamfer"),
                   chamfer_rel=cd.get("chamfer_rel"), iterations=int(m["iterations"]),
                   fit_time=float(m["fit_time"]), stop_reason=str(m["stop_reason"]),
                   device=str(m.get("device", "cpu")), raw=m)

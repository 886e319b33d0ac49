"""One batch object, start to finish, through `softfit.pipeline.run` (as `softfit fit`): views -> initial
mesh -> fit -> Chamfer against the ground truth (when known) -> report. Runs inside a Ray worker (or
inline); never raises: every outcome is a JSON-safe record, so one bad object cannot stop the batch.

Only JSON text crosses the process boundary (`run_json`): no pickled objects of ours travel to or from
a worker."""

from __future__ import annotations

import json
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

from softfit.batch.discover import ObjectJob
from softfit.errors import InputError
from softfit.wire.protocol import json_safe

METRICS_FILE = "metrics.json"
REQUIRED_METRICS = ("heldout_iou", "train_iou", "iterations")


@dataclass(frozen=True)
class BatchSettings:
    """How every object is loaded and fitted (the `softfit fit` options shared by the whole batch)."""

    params: dict = field(default_factory=dict)  # FitParams.to_dict() subset; {} = defaults
    cameras: str | None = None
    silhouette: str = "auto"
    image_size: int | None = 256
    init: str | None = None  # None: as `softfit fit` (hull, falling back to bbox, then sphere)
    polys: int | str | None = None  # None: as `softfit fit`
    radius: float = 0.5
    center: tuple[float, float, float] = (0.0, 0.0, 0.0)
    threads: int = 1  # torch threads per object when params leave it at 0
    allow_outside_paths: bool = False  # camera files may name images outside their dataset folder
    texture: bool = True  # bake each object's texture (mesh.glb, mesh.mtl, texture.png)
    texture_refine: bool = False  # refine it against the training photos (`softfit.texture.refine`)

    def __post_init__(self) -> None:
        object.__setattr__(self, "center", tuple(float(c) for c in self.center))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["center"] = list(self.center)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> BatchSettings:
        return cls(**d)


def completed_metrics(folder: Path) -> dict | None:
    """The metrics of a finished fit in `folder`, or None when it is missing, unreadable or partial."""
    try:
        metrics = json.loads((folder / METRICS_FILE).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(metrics, dict) or any(k not in metrics for k in REQUIRED_METRICS):
        return None
    if metrics.get("cancelled"):
        return None
    return metrics


def record_from_metrics(job: ObjectJob, metrics: dict, status: str, seconds: float | None) -> dict:
    """One summary row: the job, its status and the headline numbers of its metrics.json."""
    chamfer = metrics.get("chamfer") or {}
    return {
        **job.to_dict(), "status": status,
        "seconds": seconds if seconds is not None else metrics.get("wall_time"),
        "heldout_iou": metrics.get("heldout_iou"), "train_iou": metrics.get("train_iou"),
        "chamfer": chamfer.get("chamfer"), "chamfer_rel": chamfer.get("chamfer_rel"),
        "iterations": metrics.get("iterations"), "fit_time": metrics.get("fit_time"),
        "device": metrics.get("device"), "error": None, "error_type": None,
    }


def failure_record(job: ObjectJob, exc: BaseException | str, seconds: float | None, trace: str | None = None
                   ) -> dict:
    if isinstance(exc, BaseException):
        kind = "InputError" if isinstance(exc, InputError) else type(exc).__name__
        message = str(exc) or kind
    else:
        kind, message = "Error", exc
    rec = {**job.to_dict(), "status": "failed", "seconds": seconds, "heldout_iou": None, "train_iou": None,
           "chamfer": None, "chamfer_rel": None, "iterations": None, "fit_time": None, "device": None,
           "error": message, "error_type": kind}
    if trace:
        rec["traceback"] = trace
    return rec


def fit_object(job: ObjectJob, out_root: Path, settings: BatchSettings) -> dict:
    """Fit one object into out_root/<job.name>/ (written atomically); returns its summary record."""
    start = time.perf_counter()
    try:
        metrics = _fit(job, out_root, settings)
    except InputError as exc:
        return failure_record(job, exc, time.perf_counter() - start)
    except Exception as exc:  # a bug or a broken file: recorded with its traceback, the batch goes on
        return failure_record(job, exc, time.perf_counter() - start, traceback.format_exc(limit=8))
    return record_from_metrics(job, metrics, "done", time.perf_counter() - start)


def _fit(job: ObjectJob, out_root: Path, settings: BatchSettings) -> dict:
    from softfit.fit import FitParams
    from softfit.mesh.io import load_mesh
    from softfit.pipeline import InitSpec, Inputs, ReportSpec, run

    params = FitParams.from_dict(dict(settings.params))
    if params.threads == 0 and settings.threads > 0:
        params.threads = settings.threads
    inputs = Inputs(job.path, settings.cameras, settings.silhouette, settings.image_size, job.object_index,
                    settings.allow_outside_paths)
    init = InitSpec(settings.init, settings.polys, settings.radius, settings.center)
    run(inputs, init, params, load_mesh(job.gt_mesh) if job.gt_mesh else None,
        report=ReportSpec(out_root / job.name, force=True, texture=settings.texture,
                          texture_refine=settings.texture_refine),
        record={"gt_mesh": job.gt_mesh, "job": job.to_dict()})
    written = completed_metrics(out_root / job.name)
    if written is None:
        raise RuntimeError(f"{out_root / job.name}/{METRICS_FILE} was not written completely")
    return written


def run_json(job_json: str, out_root: str, settings_json: str) -> str:
    """`fit_object` with JSON text in and out: the function a Ray task runs."""
    job = ObjectJob.from_dict(json.loads(job_json))
    rec = fit_object(job, Path(out_root), BatchSettings.from_dict(json.loads(settings_json)))
    return json.dumps(json_safe(rec), allow_nan=False)

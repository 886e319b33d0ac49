"""`run_batch`: fit every object under a root as Ray tasks, resumably, and write the aggregate table.

Local Ray by default (as many CPUs as this machine gives the process), or an existing cluster with
`address` (its workers must have softfit installed and see the same paths). Objects whose output folder
already holds a complete metrics.json are skipped; a failing object is recorded and the others go on;
summary.json / summary.md are written at the end (also after Ctrl-C, for what finished)."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from softfit.batch.discover import ObjectJob, discover, places_photos
from softfit.batch.summary import write_summary
from softfit.batch.task import BatchSettings, completed_metrics, failure_record, record_from_metrics, run_json
from softfit.errors import InputError
from softfit.sysinfo import machine_cpus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchOutcome:
    records: list[dict]
    stats: dict
    summary_json: Path
    summary_md: Path


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """InputError unless something listens at a HOST:PORT or ray://HOST:PORT address: Ray itself keeps
    retrying an unreachable cluster for minutes. "auto" (the cluster started on this machine) passes."""
    rest = address.split("://", 1)[1] if "://" in address else address
    host, sep, port = rest.rstrip("/").rpartition(":")
    if address == "auto" or not sep:
        return
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except ValueError:
        raise InputError(f"Ray address must be auto, HOST:PORT or ray://HOST:PORT, got {address!r}") from None
    except OSError as exc:
        raise InputError(f"no Ray cluster answers at {address}: {exc.strerror or exc}") from None


def check_settings(settings: BatchSettings) -> None:
    """Fail before Ray starts when the shared options are wrong (every object would fail the same way)."""
    from softfit.fit import FitParams

    FitParams.from_dict(dict(settings.params))
    size = settings.image_size
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 8):
        raise InputError(f"image size must be an integer >= 8 pixels, got {settings.image_size!r}")
    if settings.threads < 0:
        raise InputError(f"threads per object must be >= 0, got {settings.threads}")


def _prepare_out(out: Path) -> Path:
    out = Path(out).expanduser().absolute()
    if out.exists() and not out.is_dir():
        raise InputError(f"batch output {out} exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the batch output folder {out}: {exc.strerror or exc}") from exc
    return out


def run_batch(root: str | Path, out: str | Path, settings: BatchSettings | None = None, *,
              address: str | None = None, num_cpus: int | None = None, cpus_per_task: float = 1.0,
              gpus_per_task: float = 0.0, force: bool = False,
              on_record: Callable[[dict, int, int], None] | None = None) -> BatchOutcome:
    """Fit every object under `root` into out/<name>/ and write out/summary.{json,md}.

    address: an existing Ray cluster ("auto", "host:port", "ray://..."); None starts a local Ray with
    `num_cpus` (default: this machine's). If Ray is already initialised in this process it is used as it
    is and left running. force=True refits objects that are already done. on_record(record, done, total)
    is called as each object finishes (progress output)."""
    settings = settings or BatchSettings()
    check_settings(settings)
    if cpus_per_task <= 0 or gpus_per_task < 0:
        raise InputError("cpus per task must be > 0 and gpus per task >= 0")
    if address is not None:
        check_reachable(address)
    out = _prepare_out(Path(out))
    jobs = discover(root, exclude=out, photos=places_photos(settings.cameras))
    records: dict[str, dict] = {}
    todo: list[ObjectJob] = []
    for job in jobs:
        metrics = None if force else completed_metrics(out / job.name)
        if metrics is None:
            todo.append(job)
        else:
            records[job.name] = record_from_metrics(job, metrics, "skipped", None)
    log.info("%d objects under %s: %d to fit, %d already done", len(jobs), root, len(todo), len(records))
    start = time.perf_counter()
    try:
        if todo:
            _run_ray(todo, out, settings, address, num_cpus, cpus_per_task, gpus_per_task, records,
                     lambda rec: on_record(rec, len(records), len(jobs)) if on_record else None)
    finally:
        ordered = [records.get(j.name) or failure_record(j, "interrupted before it finished", None)
                   for j in jobs]
        info = {"root": str(Path(root).expanduser().absolute()), "settings": settings.to_dict(),
                "address": address or "local", "seconds": time.perf_counter() - start}
        stats = write_summary(out, ordered, info)
    return BatchOutcome(ordered, stats, out / "summary.json", out / "summary.md")


def _run_ray(todo: list[ObjectJob], out: Path, settings: BatchSettings, address: str | None,
             num_cpus: int | None, cpus_per_task: float, gpus_per_task: float, records: dict[str, dict],
             notify: Callable[[dict], None]) -> None:
    import ray

    started = not ray.is_initialized()
    if started:
        kwargs: dict = {"include_dashboard": False, "log_to_driver": False}
        if address is None:
            kwargs["num_cpus"] = num_cpus or machine_cpus()
        else:
            kwargs["address"] = address
        try:
            ray.init(**kwargs)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            where = f" at {address}" if address else ""
            raise InputError(f"cannot start or reach Ray{where}: {exc}") from exc
    try:
        task = ray.remote(num_cpus=cpus_per_task, num_gpus=gpus_per_task, max_retries=1)(run_json)
        settings_json = json.dumps(settings.to_dict())
        pending = {task.remote(json.dumps(job.to_dict()), str(out), settings_json): job for job in todo}
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    job = pending.pop(ref)
                    try:
                        rec = json.loads(ray.get(ref))
                    except Exception as exc:  # the worker died (crash, out of memory) or Ray lost the task
                        rec = failure_record(job, f"the Ray task failed: {type(exc).__name__}: {exc}", None)
                    records[job.name] = rec
                    notify(rec)
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise
    finally:
        if started:
            ray.shutdown()

"""Many objects at once: `run_batch(root, out, settings)` fits every object under `root` as Ray tasks
(local Ray, or an existing cluster), resumably, and writes summary.json / summary.md.

`discover(root)` lists the objects; `fit_object` is one object's work (the same API as `softfit fit`).
Ray is imported only when there is something to fit."""

from softfit.batch.discover import ObjectJob, discover
from softfit.batch.run import BatchOutcome, machine_cpus, run_batch
from softfit.batch.summary import aggregate, write_summary
from softfit.batch.task import BatchSettings, completed_metrics, fit_object

__all__ = [
    "BatchOutcome", "BatchSettings", "ObjectJob", "aggregate", "completed_metrics", "discover", "fit_object",
    "machine_cpus", "run_batch", "write_summary",
]

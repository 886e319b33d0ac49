"""One pipeline for every front end: views -> split -> initial mesh (training views) -> fit -> Chamfer ->
report. `run` is the entry point; `initial_mesh` alone serves the server's `prepare` requests."""

from softfit.pipeline.initial import DEFAULT_POLYS, InitSpec, initial_mesh, make_init, training_views
from softfit.pipeline.run import Inputs, Metrics, Outcome, ReportSpec, run

__all__ = ["DEFAULT_POLYS", "InitSpec", "Inputs", "Metrics", "Outcome", "ReportSpec", "initial_mesh",
           "make_init", "run", "training_views"]

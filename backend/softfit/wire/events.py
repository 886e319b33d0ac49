"""What a client sees of a job: plain dataclasses built from `update` replies (numpy only)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Queued:
    """The job waits for a free worker, behind `position` other queued jobs (reported when it changes)."""

    position: int


@dataclass(frozen=True)
class Progress:
    """One iteration's state: what the fit engine passes to its callback after each optimiser step, and
    what a client gets back (the newest the server had when asked: a slow client skips iterations, never
    lags; vertices travel apart, as `VertexFrame`, so `verts` is None there).

    loss: total loss of the step; iou: mean soft IoU of the step's views; terms: unweighted loss terms
    ("silhouette" = 1 - soft IoU, then each active regulariser); verts: (V, 3) positions after the step;
    faces: (F, 3) the mesh's faces (they change when the fit remeshes); topology: a counter that moves
    whenever the faces change."""

    iteration: int
    iterations: int
    loss: float
    iou: float
    elapsed: float
    terms: dict = field(default_factory=dict)
    verts: np.ndarray | None = None
    faces: np.ndarray | None = None
    topology: int = 0


@dataclass(frozen=True)
class VertexFrame:
    """Current vertex positions (V, 3) float32 (read-only) at `iteration`: the newest, not a backlog.

    topology: the fit's topology counter (0 = the submitted mesh); `faces` (F, 3) int64 come with the
    first frame of a new topology (the fit remeshed): the client then replaces its mesh."""

    iteration: int
    verts: np.ndarray
    faces: np.ndarray | None = None
    topology: int = 0


@dataclass(frozen=True)
class Result:
    """The final mesh (verts (V, 3) float64, faces (F, 3) int64) and the fit's metrics. `cancelled` is
    True when the job was cancelled while running: the mesh is where the fit had got to. A finished fit
    of colour images also has its texture: `uv` (F, 3, 2) float32 per face corner (origin bottom-left)
    and `texture` (H, W, 3) uint8 sRGB, row 0 at the top."""

    verts: np.ndarray
    faces: np.ndarray
    metrics: dict
    cancelled: bool = False
    uv: np.ndarray | None = None
    texture: np.ndarray | None = None


@dataclass(frozen=True)
class JobError:
    """The job ended without a mesh: `code` is one of softfit.wire.errors.CODES."""

    code: str
    message: str


@dataclass(frozen=True)
class Prepared:
    """The reply to `Client.prepare`: the initial mesh (verts (V, 3) float32, faces (F, 3) int32, in the
    cameras' frame, built from the fit's training views; None when none was asked for), SfM cameras as
    transforms.json content (None when the cameras were sent), the server's description, and whether SfM
    fell back to an assumed turntable."""

    verts: np.ndarray | None
    faces: np.ndarray | None
    transforms: dict | None
    message: str
    fallback: bool = False


Event = Queued | Progress | VertexFrame | Result | JobError

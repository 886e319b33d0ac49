"""Starting a fit or a refinement from the active object: everything that can fail (input, mesh,
backend, request) happens before the scene changes; only then is the fit copy made."""

from __future__ import annotations

import bpy

from . import inputs, meshes, session
from .blend import mesh_object, settings, status
from .errors import InputError
from .geometry import check_mesh
from .preferences import backend_config
from .session import BackendConfig
from .streaming import FitJob


def start(context: bpy.types.Context, refine: bool = False, config: BackendConfig | None = None) -> FitJob:
    """Submit a fit of the active mesh object to the backend and return the running job. `config`
    defaults to the add-on preferences (scripts that did not enable the add-on pass their own)."""
    s = session.get()
    if s.job is not None and not s.job.finished:
        raise InputError("a fit is already running: cancel it first")
    sets = settings(context)
    source, _mesh = mesh_object(context.active_object)
    verts, faces = meshes.read_world(source)
    check_mesh(verts, faces, source.name)
    pinned = meshes.pinned_indices(source, sets.pin_group) if refine else None
    _views, data = inputs.load(sets)
    params = sets.fit_params(refine)
    s = session.connect(config if config is not None else backend_config(context))
    assert s.client is not None
    job_id = s.client.submit(data.silhouettes, data.images, data.transforms(), verts, faces, params,
                             pinned=pinned, silhouette_method=data.backend_method)
    try:
        copy = meshes.fit_copy(context, source)
    except BaseException:
        s.client.cancel(job_id)
        raise
    job = FitJob(s.client, job_id, copy.name, "refine" if refine else "fit")
    s.job = job
    st = status()
    if st is not None:
        st.running, st.error, st.object_name = True, False, copy.name
        st.iteration, st.iterations, st.frames = 0, params.get("iterations", sets.iterations), 0
        st.loss, st.iou, st.elapsed = 0.0, 0.0, 0.0
        st.message = f"{job.kind} submitted ({len(data.names)} views, {len(verts)} vertices)"
        st.backend = s.summary()
    return job

"""Starting a fit or a refinement from the active object without waiting on the main thread.

`start` reads everything it needs from Blender (mesh, views, settings: cheap, main thread), then hands
the connect + submit to a worker thread (tasks.py) and returns at once. When the backend has accepted the
job, `_begin` (main thread again) makes the fit copy and starts the JobPump; any failure before that
leaves the scene as it was. With a texture, the worker also reads the photos again at a larger size for
the backend's bake (`fitdata.texture_photos`), the image reads served by the main thread a few per tick."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import bpy
import numpy as np

from ..core.data.gather import Readers
from ..logic import session
from ..logic.errors import InputError, in_panel_terms
from ..logic.fitdata import texture_photos
from ..logic.geometry import check_mesh
from ..logic.session import BackendConfig
from ..wire.errors import WireError
from . import images, inputs, meshes, streaming, tasks
from .blend import mesh_object, settings, status
from .preferences import backend_config
from .streaming import FitJob, JobPump

TASK = "fit"


@dataclass
class Request:
    """What a fit sends, read from Blender on the main thread."""

    source: str
    source_uid: int
    verts: np.ndarray
    faces: np.ndarray
    pinned: np.ndarray | None
    params: dict
    data: object  # fitdata.FitInputs
    kind: str
    as_shape_key: bool
    texture: bool = True  # the backend bakes the result's texture from colour images
    views: object = None  # the input's RawViews (read again at a larger size for the texture)
    input_key: str = ""  # the settings key the views are cached under (and so their photos)
    texture_refine: bool = False  # the backend refines the baked texture against the photos


def pending() -> bool:
    """A fit is being started (backend starting, request on its way) or running."""
    return session.get().job is not None or tasks.busy(TASK) is not None


def read_request(context: bpy.types.Context, refine: bool = False) -> Request:
    """Everything the fit needs from Blender; InputError names what is missing (nothing changes)."""
    if pending():
        raise InputError("a fit is already running: cancel it first")
    sets = settings(context)
    source, mesh = mesh_object(context.active_object)
    verts, faces = meshes.read_world(source, context.evaluated_depsgraph_get())
    check_mesh(verts, faces, source.name)
    pinned = meshes.pinned_indices(source, sets.pin_group) if refine else None
    if pinned is not None and len(mesh.vertices) != len(verts):
        raise InputError(f"{source.name}'s modifiers change its vertices: apply them before pinning a group")
    views, data = inputs.load(sets)
    return Request(source.name, source.session_uid, verts, faces, pinned, sets.fit_params(refine), data,
                   "refine" if refine else "fit", bool(getattr(sets, "result_as_shape_key", False)),
                   bool(getattr(sets, "texture", True)), views, inputs.Request.of(sets).key,
                   bool(getattr(sets, "texture_refine", False)))


def _submit(req: Request, config: BackendConfig, read: Readers | None = None) -> tuple[session.Session, str]:
    """Worker thread: connect (starting a local backend if needed) and submit; returns the job id. A
    local backend found dead meanwhile (killed just before) is replaced once. `read`: image readers the
    worker may use (main-thread calls) for the texture's photos; None sends none."""
    try:
        return _submit_once(req, config, read)
    except WireError:
        if session.backend_died() is None:
            raise
        session.disconnect()
        return _submit_once(req, config, read)


def _photos(req: Request, s: session.Session, read: Readers | None) -> object:
    """The texture's photos for this fit (cached with the views), None when there are none to send. Read
    before taking the session lock: the reads wait on the main thread, which may want the lock."""
    if read is None or req.views is None:
        return None
    assert s.client is not None
    budget = s.client.limits.max_message_bytes // 2  # the views, the mesh and the header fit in the rest
    key = f"{req.input_key}\n{budget}"
    cache = s.photos
    if key not in cache:
        cache.clear()
        cache[key] = texture_photos(req.views, req.data, read, budget)  # type: ignore[arg-type]
    return cache[key]


def _submit_once(req: Request, config: BackendConfig, read: Readers | None = None
                 ) -> tuple[session.Session, str]:
    s = session.connect(config)
    data = req.data
    texture = req.texture and not req.as_shape_key
    photos = _photos(req, s, read) if texture else None
    with s.lock:
        assert s.client is not None
        silhouettes, images = data.silhouettes, data.images  # type: ignore[attr-defined]
        if texture and silhouettes is not None:  # the texture needs the colours: RGBA, alpha = silhouette
            silhouettes, images = None, data.rgba()  # type: ignore[attr-defined]
        job_id = s.client.submit(silhouettes, images, data.transforms(),  # type: ignore[attr-defined]
                                 req.verts, req.faces, req.params, pinned=req.pinned,
                                 silhouette_method=data.backend_method,  # type: ignore[attr-defined]
                                 texture=texture, photos=photos,  # type: ignore[arg-type]
                                 backdrop=data.backdrop,  # type: ignore[attr-defined]
                                 texture_refine=texture and req.texture_refine,
                                 segmentation=data.segmentation)  # type: ignore[attr-defined]
    return s, job_id


def start(context: bpy.types.Context, refine: bool = False, config: BackendConfig | None = None,
          on_end: Callable[[str], None] | None = None) -> tasks.Task:
    """Start a fit of the active mesh object; returns at once with the task that submits it. `config`
    defaults to the add-on preferences (scripts that did not enable the add-on pass their own);
    `on_end(error)` is called on the main thread if the fit could not be started."""
    req = read_request(context, refine)
    cfg = config if config is not None else backend_config(context)
    st = status()
    if st is not None:
        st.running, st.error, st.object_name, st.frames = True, False, req.source, 0
        st.iteration, st.iterations = 0, int(req.params.get("iterations", settings(context).iterations))
        st.loss, st.iou, st.elapsed = 0.0, 0.0, 0.0
        st.message = "starting the backend" if session.get().client is None else f"submitting the {req.kind}"

    def failed(exc: BaseException) -> None:
        message = in_panel_terms(f"the {req.kind} could not start: {exc}")
        if st is not None:
            st.running, st.error, st.message = False, True, message
        print(f"SoftFit: error: {message}")
        if on_end is not None:
            on_end(message)

    def accepted(result: tuple[session.Session, str]) -> None:
        s, job_id = result
        try:
            _begin(req, s, job_id)
        except Exception as exc:
            tasks.run("cancel", "cancelling", lambda: _cancel_quietly(s, job_id))
            failed(exc)

    calls = tasks.MainThreadCalls()  # the texture's photos are read through Blender's image loader
    total = len(getattr(req.views, "views", ()))
    read = Readers(calls.wrap(_counted(images.READERS.image, total, req.kind)),
                   calls.wrap(images.READERS.mask))
    return tasks.run(TASK, "starting the fit", lambda: _submit(req, cfg, read), accepted, failed, calls=calls)


def _counted(read: Callable, total: int, kind: str) -> Callable:
    """`read` (served on the main thread) that tells the artist how far the texture's photos are: 72 large
    photos take seconds to read, during which the panel would say only that the fit is being submitted."""
    done = 0

    def counted(*args: object) -> object:
        nonlocal done
        image = read(*args)
        done += 1
        st = status()
        if st is not None and st.running:
            st.message = (f"reading the photos for the texture ({done} of {total})" if done < total else
                          f"submitting the {kind} with {total} photos for the texture")
            streaming.tag_redraw()
        return image

    return counted


def _cancel_quietly(s: session.Session, job_id: str) -> None:
    with s.lock:
        if s.client is not None:
            s.client.cancel(job_id)


def _begin(req: Request, s: session.Session, job_id: str) -> FitJob:
    """Main thread, once the backend accepted the job: the copy, the pump thread, the timer."""
    source = bpy.data.objects.get(req.source)
    if source is None or source.session_uid != req.source_uid:
        raise InputError(f"{req.source} was deleted before the backend accepted the fit")
    context = bpy.context
    copy, hidden = meshes.fit_copy(context, source, context.evaluated_depsgraph_get())
    assert s.client is not None
    pump = JobPump(s, s.client, job_id, s.local)
    job = FitJob(pump, copy, source, meshes.base_name(source), hidden, req.kind, req.as_shape_key)
    s.job = job
    st = status()
    if st is not None:
        st.running, st.error, st.object_name = True, False, copy.name
        st.message = f"{req.kind} running ({len(req.verts)} vertices)"
        st.backend = s.summary()
    streaming.start_timer()
    return job


def start_blocking(context: bpy.types.Context, refine: bool = False, config: BackendConfig | None = None,
                   timeout: float = 600.0) -> FitJob:
    """`start` and wait until the job runs (background mode and scripts, where timers never fire)."""
    errors: list[str] = []
    task = start(context, refine, config, on_end=errors.append)
    if not tasks.wait(task, timeout):
        raise InputError(f"the backend did not accept the fit within {timeout:.0f} s")
    if errors:
        raise InputError(errors[0])
    job = session.get().job
    if job is None:
        raise InputError("the fit did not start")
    return job

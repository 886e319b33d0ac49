"""Operator: Initial Mesh: a UV sphere made here (numpy + `foreach_set`; a large one built over several
timer ticks), or the bbox / visual-hull mesh the backend builds from the scene's views (`Client.prepare`,
in a worker thread: the operator returns at once and the mesh appears when the backend sends it).

The default method, Auto, is the visual hull when the scene has views (it scores far better than a
sphere in the same time) and the sphere otherwise; the sphere is always one click away."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING

import bpy
import numpy as np
from bpy.props import EnumProperty

from ..logic import session
from ..logic.errors import InputError, in_panel_terms
from ..logic.geometry import mesh_topology
from ..logic.session import BackendConfig
from ..wire.errors import WireError
from ..wire.events import Prepared
from . import inputs, streaming, tasks
from .blend import mesh_object, settings, status
from .meshes import SphereArrays, add_initial, add_sphere, add_sphere_steps, sphere_arrays
from .preferences import backend_config

if TYPE_CHECKING:
    from bpy.stub_internal.rna_enums import OperatorReturnItems

BACKEND_METHODS = {"BBOX": ("bbox", "SoftFit BBox"), "HULL": ("hull", "SoftFit Hull")}
PREPARE_TIMEOUT = 300.0  # a hull from many large views takes a while on a CPU backend
TASK = "prepare"
SYNC_SPHERE_POLYS = 20_000  # larger spheres are computed in a worker thread


def resolve_method(method: str, has_views: bool) -> str:
    """AUTO -> HULL when the scene has views to build it from, else SPHERE."""
    if method == "AUTO":
        return "HULL" if has_views else "SPHERE"
    return method


def request_initial(context: bpy.types.Context, method: str, config: BackendConfig | None = None,
                    on_end: Callable[[bpy.types.Object | None, str], None] | None = None) -> tasks.Task:
    """Ask the backend for the `method` initial mesh of the scene's views in a worker thread; the object
    is added (main thread) only once the reply is in, so any failure leaves the scene as it was.
    `on_end(object or None, message)` runs on the main thread at the end."""
    init, name = BACKEND_METHODS[method]
    s = settings(context)
    _views, data = inputs.load(s)
    cfg = config if config is not None else backend_config(context)
    polys: int | str = "auto" if s.detail == "AUTO" else int(s.init_polys)  # auto: the backend's rule
    params = s.fit_params()  # the fit's held-out views must not shape its start

    def work() -> tuple[Prepared, tuple[np.ndarray, np.ndarray] | None]:
        sess = session.connect(cfg)
        with sess.lock:
            assert sess.client is not None
            reply = sess.client.prepare(data.silhouettes, data.images, data.transforms(), init=init,
                                        polys=polys, silhouette_method=data.backend_method,
                                        timeout=PREPARE_TIMEOUT, params=params, backdrop=data.backdrop,
                                        segmentation=data.segmentation)
        if reply.verts is None or reply.faces is None or len(reply.faces) == 0:
            return reply, None
        return reply, mesh_topology(reply.faces, len(reply.verts))  # here, not on the main thread

    def done(result: tuple[Prepared, tuple[np.ndarray, np.ndarray] | None]) -> None:
        reply, topology = result
        try:
            if reply.verts is None or reply.faces is None:
                raise InputError(f"the backend sent no {init} mesh")
            obj = add_initial(bpy.context, name, reply.verts, reply.faces, topology)
        except InputError as exc:
            failed(exc)
            return
        say(f"{reply.message}", False)
        if on_end is not None:
            on_end(obj, reply.message)

    def failed(exc: BaseException) -> None:
        say(f"{init} mesh: {exc}", True)
        if on_end is not None:
            on_end(None, str(exc))

    say(f"the backend is building the {init} mesh", False)
    return tasks.run(TASK, f"building the {init} mesh", work, done, failed)


def say(message: str, error: bool) -> None:
    """The outcome of background work, for the panel (status line) and the console."""
    message = in_panel_terms(message)
    st = status()
    if st is not None and not st.running:
        st.message, st.error = message, error
    print(f"SoftFit: {'error: ' if error else ''}{message}")
    streaming.tag_redraw()


def add_sphere_now(context: bpy.types.Context) -> bpy.types.Object:
    s = settings(context)
    center = (s.init_center[0], s.init_center[1], s.init_center[2])
    return add_sphere(context, s.init_polys, s.init_radius, center)


def request_sphere(context: bpy.types.Context) -> tasks.Task:
    """A large sphere: its arrays and topology are computed in a worker thread, the mesh is made on the
    main thread from them in bounded steps over timer ticks (attribute writes only)."""
    s = settings(context)
    center = (s.init_center[0], s.init_center[1], s.init_center[2])
    polys, radius = int(s.init_polys), float(s.init_radius)

    def done(arrays: SphereArrays) -> Generator[None, None, None]:
        """Main thread, one bounded step per timer tick (tasks.py): a large mesh is built over ticks."""
        try:
            obj = yield from add_sphere_steps(bpy.context, arrays, center)
            _obj, mesh = mesh_object(obj)
        except (InputError, ReferenceError, RuntimeError) as exc:  # e.g. undo freed the half-built mesh
            say(f"sphere: {exc}", True)
            return
        say(f"sphere with {len(mesh.vertices)} vertices, {len(mesh.polygons)} triangles", False)

    return tasks.run(TASK, "building the sphere", lambda: sphere_arrays(polys, radius), done,
                     lambda exc: say(f"sphere: {exc}", True))


METHODS = [("SETTINGS", "From Settings", "The method chosen in the panel"),
           ("SPHERE", "Sphere", "A UV sphere made here"),
           ("HULL", "Visual Hull", "The views' visual hull from the backend"),
           ("BBOX", "Bounding Box", "The views' bounding-box ellipsoid from the backend")]


class SOFTFIT_OT_initial_mesh(bpy.types.Operator):
    """Add the initial mesh: the views' visual hull or bounding-box ellipsoid from the backend, or a UV
    sphere"""

    bl_idname = "softfit.initial_mesh"
    bl_label = "Initial Mesh"
    bl_options = {"REGISTER", "UNDO"}
    if TYPE_CHECKING:
        method: str

    def execute(self, context: bpy.types.Context) -> set[OperatorReturnItems]:
        if context.mode != "OBJECT":
            bpy.ops.object.mode_set(mode="OBJECT")
        try:
            s = settings(context)
            chosen = s.init_method if self.method == "SETTINGS" else self.method
            method = resolve_method(chosen, bool(s.input_path))
            if method in BACKEND_METHODS:
                if tasks.busy(TASK) is not None:
                    raise InputError("the backend is still building the last initial mesh")
                request_initial(context, method)
                self.report({"INFO"}, f"SoftFit: the backend is building the {method.lower()} mesh")
                return {"FINISHED"}
            if s.init_polys > SYNC_SPHERE_POLYS:
                if tasks.busy(TASK) is not None:
                    raise InputError("the last initial mesh is still being built")
                request_sphere(context)
                self.report({"INFO"}, f"SoftFit: building a sphere of {s.init_polys} triangles")
                return {"FINISHED"}
            _obj, mesh = mesh_object(add_sphere_now(context))
        except (InputError, WireError) as exc:
            self.report({"ERROR"}, f"SoftFit: {in_panel_terms(str(exc))}")
            return {"CANCELLED"}
        self.report({"INFO"}, f"SoftFit: sphere with {len(mesh.vertices)} vertices, "
                              f"{len(mesh.polygons)} triangles")
        return {"FINISHED"}


SOFTFIT_OT_initial_mesh.__annotations__["method"] = EnumProperty(  # type: ignore[func-returns-value]
    name="Method", items=METHODS, default="SETTINGS")

CLASSES = (SOFTFIT_OT_initial_mesh,)

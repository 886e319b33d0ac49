"""The panel's settings (saved with the .blend, `Scene.softfit`) and the live fit status (not saved,
`WindowManager.softfit`).

No `from __future__ import annotations` here: Blender reads the property annotations as objects."""

import json

import bpy
from bpy.props import (
    BoolProperty,
    EnumProperty,
    FloatProperty,
    FloatVectorProperty,
    IntProperty,
    PointerProperty,
    StringProperty,
)

from ..logic.errors import InputError
from ..logic.views import InputOptions, Turntable

INPUT_KINDS = [
    ("AUTO", "Auto", "Detect from the path"),
    ("TRANSFORMS", "transforms.json", "A transforms.json (or a folder holding one) with its images"),
    ("ALOI", "ALOI object", "An ALOI object folder: <obj>_r<angle>.png, masks in ../../mask2/<obj>/"),
    ("FOLDER", "Image folder", "Plain images, cameras from the turntable preset"),
    ("SOFTRAS", "SoftRas", "SoftRas source.npy + camera.npy, or a ShapeNet .npz archive"),
]
CAMERA_SOURCES = [
    ("FILE", "From input", "transforms.json, SoftRas camera.npy, or ALOI's fixed turntable"),
    ("TURNTABLE", "Turntable", "Cameras on a circle around the origin (parameters below)"),
    ("SFM", "SfM (backend)", "Estimated from the images by the backend's structure from motion when the "
     "scene is set up (an evenly spaced turntable if that fails)"),
]
SILHOUETTES = [
    ("AUTO", "Auto", "Alpha channel, else mask files, else the backend's automatic segmentation"),
    ("ALPHA", "Alpha", "The images' alpha channel"),
    ("MASK", "Masks", "Mask images (mask_path, a masks/ or mask/ folder, <name>_mask files, or ALOI's "
                      "mask2/)"),
    ("THRESHOLD", "Threshold (backend)", "Backend segmentation: threshold + largest component"),
    ("GRABCUT", "GrabCut (backend)", "Backend segmentation: GrabCut"),
    ("BACKDROP", "Backdrop (backend)", "Backend segmentation against a photo of the empty scene taken with "
     "the same camera (Empty Scene below)"),
    ("DEEPLAB", "DeepLab (backend)", "Backend segmentation with a DeepLabv3 network (its 21 classes miss "
     "many everyday objects: for people, animals, vehicles, furniture, bottles)"),
]
DEEPLAB_WEIGHTS = [
    ("TORCHVISION", "torchvision's", "torchvision's published weights, fetched by the backend on first use "
     "into torch's hub cache (needs the network once; offline, the error names the file to put there)"),
    ("BACKEND", "Backend's file", "The file the backend's SOFTFIT_DEEPLAB_WEIGHTS environment variable names "
     "(with SOFTFIT_DEEPLAB_SHA256)"),
]
INIT_METHODS = [
    ("AUTO", "Auto", "The visual hull when the scene has views (it fits far better in the same time), "
     "else the sphere"),
    ("SPHERE", "Sphere", "A UV sphere made here (radius and center below)"),
    ("BBOX", "Bounding Box", "Ellipsoid in the 3-D box all views agree on, built by the backend"),
    ("HULL", "Visual Hull", "The views' visual hull, remeshed, built by the backend from the views"),
]
DETAILS = [
    ("FIXED", "Fixed", "The initial mesh's Triangles, kept through the fit (softfit fit --polys N)"),
    ("AUTO", "Auto", "The images decide: the fit remeshes itself, refining thin parts and where the outline "
     "misfits, then ends with the fewest triangles its views need (softfit fit --polys auto). A Refine keeps "
     "the mesh's own triangles"),
]
PRESETS = [
    ("QUICK", "Quick", "A first look in seconds: few iterations, small images, a coarse mesh"),
    ("BALANCED", "Balanced", "The default: good shapes in about a minute on a CPU backend"),
    ("DETAILED", "Detailed", "More iterations, larger images and a finer mesh: minutes"),
]
# What each preset sets; every value stays editable (Advanced shows the raw settings).
PRESET_VALUES = {
    "QUICK": {"iterations": 100, "image_size": 128, "init_polys": 1000},
    "BALANCED": {"iterations": 300, "image_size": 256, "init_polys": 2000},
    "DETAILED": {"iterations": 600, "image_size": 512, "init_polys": 5000},
}


def _apply_preset(self: "SOFTFIT_PG_settings", _context: bpy.types.Context) -> None:
    for name, value in PRESET_VALUES[self.preset].items():
        setattr(self, name, value)


DEVICES = [("auto", "Auto", "GPU when the backend has one"), ("cpu", "CPU", ""), ("cuda", "CUDA", "")]
FIT_SETTINGS = ("iterations", "lr", "views_per_step", "holdout", "seed", "device")  # FitParams fields


class SOFTFIT_PG_settings(bpy.types.PropertyGroup):
    """Everything the panel asks for; saved with the scene so a .blend remembers how it was fitted."""

    input_path: StringProperty(
        name="Input", subtype="FILE_PATH",
        description="Image folder, transforms.json, ALOI object folder or SoftRas file")
    input_kind: EnumProperty(name="Kind", items=INPUT_KINDS, default="AUTO")
    camera_source: EnumProperty(name="Cameras", items=CAMERA_SOURCES, default="FILE")
    tt_distance: FloatProperty(name="Distance", default=2.732, min=1e-3, unit="LENGTH")
    tt_elevation: FloatProperty(name="Elevation", default=0.0, min=-90.0, max=90.0, description="Degrees")
    tt_fov: FloatProperty(name="Field of View", default=60.0, min=1.0, max=179.0,
                          description="Degrees across the image's longer side")
    tt_start: FloatProperty(name="First Azimuth", default=0.0,
                            description="Degrees added to every view's azimuth")
    tt_clockwise: BoolProperty(name="Clockwise", default=False,
                               description="The object turned clockwise seen from above")
    object_index: IntProperty(name="Object", default=0, min=0,
                              description="Object in a ShapeNet .npz archive")
    allow_outside_paths: BoolProperty(
        name="Allow Outside Paths", default=False,
        description="Let the camera file name images outside its own folder (absolute or ../ paths). Off, "
                    "such a file is refused, so that a camera file cannot make SoftFit read any image on the "
                    "disk")
    silhouette: EnumProperty(name="Silhouette", items=SILHOUETTES, default="AUTO")
    backdrop_path: StringProperty(name="Empty Scene", subtype="FILE_PATH",
                                  description="A photo of the scene without the object, taken with the same "
                                              "camera and light (Backdrop segmentation)")
    deeplab_weights: EnumProperty(name="Weights", items=DEEPLAB_WEIGHTS, default="TORCHVISION")
    image_size: IntProperty(name="Image Size", default=256, min=0, max=4096,
                            description="Longer side of the working images in pixels (0: source size)")

    preset: EnumProperty(name="Preset", items=PRESETS, default="BALANCED", update=_apply_preset)
    result_as_shape_key: BoolProperty(
        name="Result as Shape Key", default=False,
        description="Write the fitted shape as the shape key \"SoftFit\" on the original object instead of "
                    "keeping a separate result object (when the vertex counts match)")
    init_method: EnumProperty(name="Method", items=INIT_METHODS, default="AUTO")
    detail: EnumProperty(name="Detail", items=DETAILS, default="FIXED")
    init_polys: IntProperty(name="Triangles", default=2000, min=8, max=2_000_000,
                            description="About how many triangles the initial mesh has")
    init_radius: FloatProperty(name="Radius", default=0.5, min=1e-4, unit="LENGTH")
    init_center: FloatVectorProperty(name="Center", size=3, default=(0.0, 0.0, 0.0), subtype="TRANSLATION")

    iterations: IntProperty(name="Iterations", default=300, min=1, max=1_000_000)
    refine_iterations: IntProperty(name="Refine Iterations", default=150, min=1, max=1_000_000)
    lr: FloatProperty(name="Learning Rate", default=0.05, min=1e-6, max=10.0, precision=4,
                      description="Step size relative to the mesh's size")
    views_per_step: IntProperty(name="Views per Step", default=4, min=1, max=1024)
    holdout: FloatProperty(name="Held-out Fraction", default=0.1, min=0.0, max=0.9)
    seed: IntProperty(name="Seed", default=0, min=0)
    device: EnumProperty(name="Device", items=DEVICES, default="auto")
    extra_params: StringProperty(name="More Parameters",
                                 description='Further fit parameters as JSON, e.g. {"w_laplacian": 0.1}')
    texture: BoolProperty(name="Texture", default=True,
                          description="The backend bakes a texture from the photos onto the result (colour "
                                      "images only); the result then has the fitted triangles")
    texture_refine: BoolProperty(
        name="Refine Texture", default=False,
        description="Then refine the baked texture by differentiable rendering against the training photos "
                    "(as softfit fit --texture-refine; on the texture benchmark it moved held-out PSNR by "
                    "-0.16 to +0.15 dB, so it is off by default)")
    quad_faces: IntProperty(name="Quad Faces", default=0, min=0, max=1_000_000,
                            description="Quads to aim for; 0: half the triangles, doubled until the result "
                                        "is within the tolerance")
    quad_tolerance: FloatProperty(name="Quad Tolerance %", default=0.5, min=0.01, max=10.0, precision=2,
                                  description="99 % of the quad surface must lie within this share of the "
                                              "object's size (bounding-box diagonal) from the source")
    pin_group: StringProperty(name="Pinned Group",
                              description="Vertices of this vertex group stay where they are during Refine")

    def input_options(self) -> InputOptions:
        return InputOptions(
            path=bpy.path.abspath(self.input_path) if self.input_path else "",
            kind=self.input_kind, camera_source=self.camera_source,
            turntable=Turntable(self.tt_distance, self.tt_elevation, self.tt_fov, self.tt_start,
                                self.tt_clockwise),
            object_index=self.object_index, allow_outside_paths=self.allow_outside_paths)

    def input_key(self) -> str:
        """Identifies the views these settings produce (the session caches loaded views by it)."""
        return json.dumps([repr(self.input_options()), self.silhouette, self.image_size, self.backdrop_file(),
                           self.silhouette_options()])

    def backdrop_file(self) -> str:
        """The empty scene's photo when the Backdrop method is chosen, else ""."""
        if self.silhouette != "BACKDROP" or not self.backdrop_path:
            return ""
        return bpy.path.abspath(self.backdrop_path)

    def silhouette_options(self) -> str:
        """Options sent with the backend's segmentation method (`method:options`)."""
        torchvision = self.silhouette == "DEEPLAB" and self.deeplab_weights == "TORCHVISION"
        return "weights=torchvision" if torchvision else ""

    def fit_params(self, refine: bool = False) -> dict:
        """The FitParams dict to send: only the settings the user changed (and a refinement's own step
        count), so the backend's FitParams defaults rule everything else; it validates what is sent and
        names any bad value. (The defaults shown here equal FitParams': tests/test_addon_lint.py.)"""
        params: dict = {"iterations": self.refine_iterations} if refine else {}
        for name in FIT_SETTINGS:
            if self.is_property_set(name) and not (refine and name == "iterations"):
                value = getattr(self, name)
                params[name] = _decimal(value) if isinstance(value, float) else value
        if self.extra_params.strip():
            try:
                extra = json.loads(self.extra_params)
            except json.JSONDecodeError as exc:
                raise InputError(f"More Parameters is not valid JSON: {exc}") from exc
            if not isinstance(extra, dict):
                raise InputError("More Parameters must be a JSON object")
            params.update(extra)
        if self.detail == "AUTO" and not refine:
            params.setdefault("remesh", "on")  # the server reads "auto" as off: the client gave the mesh
        return params


def _decimal(x: float) -> float:
    """A float property's value as typed (0.05, not float32's 0.05000000074505806)."""
    return float(f"{x:.6g}")


class SOFTFIT_PG_status(bpy.types.PropertyGroup):
    """What the panel and status bar show while a fit runs (window-manager data: never saved)."""

    running: BoolProperty(default=False)
    object_name: StringProperty()
    message: StringProperty()
    error: BoolProperty(default=False)
    iteration: IntProperty()
    iterations: IntProperty()
    loss: FloatProperty()
    iou: FloatProperty()
    elapsed: FloatProperty()
    frames: IntProperty(description="Vertex frames applied to the object during this fit")
    backend: StringProperty(description="Backend connection summary")


CLASSES = (SOFTFIT_PG_settings, SOFTFIT_PG_status)


POINTERS = ((bpy.types.Scene, "softfit", SOFTFIT_PG_settings), (bpy.types.WindowManager, "softfit",
                                                                SOFTFIT_PG_status))


def register() -> None:
    """Called after CLASSES are registered: `Scene.softfit`, `WindowManager.softfit`."""
    for owner, name, group in POINTERS:
        setattr(owner, name, PointerProperty(type=group))  # type: ignore[func-returns-value]  # stub says None


def unregister() -> None:
    for owner, name, _group in reversed(POINTERS):
        delattr(owner, name)

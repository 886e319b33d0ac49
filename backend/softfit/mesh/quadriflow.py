"""Quad remeshing of a fitted mesh with Blender's QuadriFlow, kept within a stated distance of the fit.

Why a child process: QuadriFlow takes seconds to minutes and, run from a script, blocks the process
that calls it (Blender runs it as a background job only when a person starts it from the menu). The
add-on therefore starts Blender itself (`blender --background --factory-startup --python THIS -- IN
OUT`) and polls; the CLI starts Python with the bpy module (`python THIS IN OUT`). Both run this one
file, so the remesh, the distance check and the retry rule are the same on both sides. Data goes through
.npz files of plain arrays (`allow_pickle=False` on both ends); nothing is pickled.

The shape is kept: after each remesh the child measures the two-sided distance between the fitted
surface and the quad surface (area-weighted samples on each, nearest point on the other via Blender's
BVH tree), relative to the fitted mesh's bounding-box diagonal. QuadriFlow sometimes leaves a few
small holes (seen on the demo at 1 500 and 2 098 target faces: 6-10 open edges); they are filled with
n-gons, and the result is checked to have exactly two faces on every edge. A run that fails or stays
open is redone with another seed; one whose 99th-percentile distance exceeds the tolerance with twice
the faces; at most MAX_TRIES runs.
The result is the best run (closed first, then within tolerance, then closest), with its figures and
whether it meets the tolerance: the caller warns when it does not.

Measured on the demo's fitted Suzanne (2 098 triangles): 1 049 quads (the default, same vertex count)
99th percentile 1.04 %, mean 0.15 % of the diagonal, 2.7 s; 2 098 quads 0.43 % / 0.07 %; 4 196 quads
0.27 % / 0.04 %. The fit itself is 0.54 % (Chamfer) from the true shape, so the 0.5 % default keeps the
remesh error below the fit's.

Stdlib and numpy at module level only: this file ships in the add-on's `core/` (bpy is imported inside
the child's entry point). The child is run by path, in a Blender that has no `softfit` package and no
package context, so it cannot import the backend: `surface_samples` does for it what
`metrics.sample_surface` does there; its one sibling, `quadtexture`, it imports by folder (`_sibling`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TOLERANCE = 0.005  # 99th-percentile distance / bbox diagonal (measured figures above)
MAX_TRIES = 3  # face count doubles on each retry
SAMPLES = 20_000  # points per surface for the distance check
MIN_FACES = 50
TIMEOUT_S = 600.0


@dataclass(frozen=True)
class QuadMesh:
    """The remeshed surface: verts (V, 3); polygons as `sizes` (P,) corners per face and `corners`
    (sum sizes,) vertex indices, as Blender stores them. Distances are relative to the input's bbox
    diagonal: `p99` and `mean` two-sided, `max_dist` the largest sample."""

    verts: np.ndarray
    sizes: np.ndarray
    corners: np.ndarray
    target_faces: int
    tries: int  # QuadriFlow runs made
    p99: float
    mean: float
    max_dist: float
    tolerance: float
    watertight: bool
    seconds: float
    uv: np.ndarray | None = None  # (sum sizes, 2) per polygon corner, when the source had a texture
    texture: np.ndarray | None = None  # (h, w, 3) uint8, row 0 at the top
    texture_info: dict | None = None  # its size and origin, or {"error": why there is none}

    @property
    def n_faces(self) -> int:
        return len(self.sizes)

    @property
    def quad_share(self) -> float:
        return float(np.mean(self.sizes == 4)) if len(self.sizes) else 0.0

    @property
    def within_tolerance(self) -> bool:
        return self.p99 <= self.tolerance

    def polygons(self) -> list[np.ndarray]:
        return np.split(self.corners, np.cumsum(self.sizes)[:-1])

    def summary(self) -> dict:
        """What metrics.json and the add-on's report say about it."""
        return {"faces": self.n_faces, "quads": round(self.quad_share, 4), "target_faces": self.target_faces,
                "tries": self.tries, "distance_p99": self.p99, "distance_mean": self.mean,
                "distance_max": self.max_dist, "tolerance": self.tolerance,
                "within_tolerance": self.within_tolerance, "watertight": self.watertight,
                "seconds": round(self.seconds, 2),
                **({"texture": self.texture_info} if self.texture_info else {}),
                "distance_unit": "fraction of the fitted mesh's bounding-box diagonal, two-sided, "
                                 f"{SAMPLES} area-weighted samples per surface"}


def describe(q: dict, source: str = "the fit") -> str:
    """One line on the quad remesh: its size and how far it is from `source`, or why there is none."""
    if "error" in q:
        return f"WARNING: no quad mesh: {q['error']}"
    line = (f"quad mesh: {q['faces']} faces ({100 * q['quads']:.1f} % quads), 99 % of its surface within "
            f"{100 * q['distance_p99']:.2f} % of the object's size from {source} (mean "
            f"{100 * q['distance_mean']:.2f} %, tolerance {100 * q['tolerance']:.2f} %)")
    if not q["within_tolerance"]:
        line = (f"WARNING: {line}: over the tolerance after {q['tries']} runs; ask for more faces "
                "(softfit fit --quads N, or Quad Faces in Blender)")
    if not q["watertight"]:
        line += "; WARNING: it has holes"
    tex = q.get("texture") or {}
    if "error" in tex:
        line += f"; WARNING: untextured: {tex['error']}"
    elif tex:
        line += f"; textured ({tex['size'][0]}x{tex['size'][1]}, carried over from {source}'s texture)"
    return line


class QuadriflowError(RuntimeError):
    """QuadriFlow could not run or gave no mesh (message says why and what to try)."""


def default_faces(n_triangles: int) -> int:
    """Quads for about the same vertex count as the triangle mesh (a quad mesh has ~V faces, a
    triangle mesh ~2V)."""
    return max(MIN_FACES, n_triangles // 2)


def write_request(path: Path, verts: np.ndarray, faces: np.ndarray, target_faces: int, tolerance: float,
                  seed: int = 0, texture: tuple[np.ndarray, np.ndarray] | None = None) -> None:
    """texture: the source's (F, 3, 2) UVs per triangle corner and (H, W, 3) uint8 image, to carry over."""
    extra = {} if texture is None else {
        "src_uv": np.asarray(texture[0], np.float64).reshape(len(faces), 3, 2),
        "src_image": np.asarray(texture[1], np.uint8)}
    np.savez(path, verts=np.asarray(verts, np.float64), faces=np.asarray(faces, np.int64),
             target_faces=np.int64(target_faces), tolerance=np.float64(tolerance), seed=np.int64(seed),
             **extra)


def read_result(path: Path) -> QuadMesh:
    """The child's answer; a failure it wrote becomes QuadriflowError."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if "error" in z:
                raise QuadriflowError(str(z["error"]))
            info = json.loads(str(z["texture_info"])) if "texture_info" in z else None
            return QuadMesh(z["verts"].astype(np.float64), z["sizes"].astype(np.int64),
                            z["corners"].astype(np.int64), int(z["target_faces"]), int(z["tries"]),
                            float(z["p99"]), float(z["mean"]), float(z["max"]), float(z["tolerance"]),
                            bool(z["watertight"]), float(z["seconds"]),
                            z["uv"].astype(np.float32) if "uv" in z else None,
                            z["texture"].astype(np.uint8) if "texture" in z else None, info)
    except (OSError, KeyError, ValueError) as exc:
        raise QuadriflowError(f"the QuadriFlow process left no readable result ({exc})") from None


def command(launcher: list[str], request: Path, result: Path, blender: bool = False) -> list[str]:
    """argv for the child: `launcher` is [Blender's binary] (blender=True) or [a Python with bpy]."""
    script = str(Path(__file__).resolve())
    if blender:
        return [*launcher, "--background", "--factory-startup", "--python", script, "--", str(request),
                str(result)]
    return [*launcher, "-P", script, str(request), str(result)]  # -P: mesh/io.py must not shadow io


def remesh(verts: np.ndarray, faces: np.ndarray, target_faces: int | None = None,
           tolerance: float = TOLERANCE, launcher: list[str] | None = None, blender: bool = False,
           timeout: float = TIMEOUT_S, texture: tuple[np.ndarray, np.ndarray] | None = None) -> QuadMesh:
    """Blocking remesh; the CLI runs it, the add-on runs it in a worker thread. By default the child is
    this Python with its bpy module; Blender passes its own binary (blender=True). texture: the source's
    UVs per triangle corner (F, 3, 2) and image (H, W, 3) uint8: the quads get UVs and that texture
    carried over (`quadtexture`); a failure there leaves the quads untextured, with the reason in
    `texture_info`."""
    target = default_faces(len(faces)) if target_faces is None else int(target_faces)
    with tempfile.TemporaryDirectory(prefix="softfit-quads-") as tmp:
        req, res = Path(tmp) / "request.npz", Path(tmp) / "result.npz"
        write_request(req, verts, faces, target, tolerance, texture=texture)
        argv = command(launcher or [sys.executable], req, res, blender)
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                                  env=os.environ | {"PYTHONNOUSERSITE": "1"})
        except subprocess.TimeoutExpired:
            raise QuadriflowError(f"QuadriFlow took over {timeout:.0f} s; ask for fewer faces") from None
        if not res.exists():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            hint = (" (quad remeshing needs Blender's bpy module: pip install 'softfit[blender]')"
                    if "ModuleNotFoundError" in (proc.stderr or "") else "")
            raise QuadriflowError("the QuadriFlow process failed: " + (" | ".join(tail) or
                                  f"exit code {proc.returncode}") + hint)
        return read_result(res)


# -- the child (runs inside Blender or with the bpy module) ----------------------------------------------

def surface_samples(verts: np.ndarray, tris: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n points spread over the triangles by area."""
    a, b, c = verts[tris[:, 0]], verts[tris[:, 1]], verts[tris[:, 2]]
    area = 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)
    pick = rng.choice(len(tris), size=n, p=area / area.sum())
    u, v = rng.random(n), rng.random(n)
    flip = u + v > 1
    u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
    return a[pick] + u[:, None] * (b[pick] - a[pick]) + v[:, None] * (c[pick] - a[pick])


def fan(sizes: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Polygons (Blender's sizes + corners) as triangles, fanned from each polygon's first corner."""
    return corners[_sibling().fan_loops(sizes)]


def _sibling():
    """The sibling module `quadtexture`, imported by folder: run by path, this file has no package.
    Appended to the path, not prepended: the folder's io.py must not shadow the standard library's."""
    folder = str(Path(__file__).resolve().parent)
    if folder not in sys.path:
        sys.path.append(folder)
    import quadtexture  # type: ignore[import-not-found]

    return quadtexture


def _distances(points: np.ndarray, verts: np.ndarray, tris: np.ndarray) -> np.ndarray:
    from mathutils.bvhtree import BVHTree

    tree = BVHTree.FromPolygons(verts.tolist(), tris.tolist(), all_triangles=True)
    return np.array([tree.find_nearest(p)[3] for p in points.tolist()])


def _mesh_arrays(mesh) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    v = np.zeros(len(mesh.vertices) * 3)
    mesh.vertices.foreach_get("co", v)
    sizes = np.zeros(len(mesh.polygons), np.int64)
    mesh.polygons.foreach_get("loop_total", sizes)
    corners = np.zeros(len(mesh.loops), np.int64)
    mesh.loops.foreach_get("vertex_index", corners)
    return v.reshape(-1, 3), sizes, corners


def _close_holes(mesh) -> bool:
    """Fill the small holes QuadriFlow sometimes leaves (a few boundary edges) with n-gons; True when
    every edge then has exactly two faces."""
    import bmesh

    bm = bmesh.new()
    bm.from_mesh(mesh)
    open_edges = [e for e in bm.edges if len(e.link_faces) == 1]
    if open_edges:
        bmesh.ops.holes_fill(bm, edges=open_edges, sides=0)
        bm.to_mesh(mesh)
    ok = len(bm.edges) > 0 and all(len(e.link_faces) == 2 for e in bm.edges)
    bm.free()
    return ok


def _remesh_once(verts: np.ndarray, faces: np.ndarray, target: int, seed: int):
    import bpy

    mesh = bpy.data.meshes.new("softfit_fit")
    mesh.from_pydata(verts.tolist(), [], faces.tolist())
    mesh.validate()
    obj = bpy.data.objects.new("softfit_fit", mesh)
    bpy.context.scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    obj.select_set(True)
    out = bpy.ops.object.quadriflow_remesh(mode="FACES", target_faces=int(target), seed=seed,
                                           use_mesh_symmetry=False, use_preserve_sharp=True,
                                           use_preserve_boundary=False, smooth_normals=True)
    result = obj.data
    ok = "FINISHED" in out and len(result.polygons) > 0
    tight = _close_holes(result) if ok else False
    arrays = _mesh_arrays(result) if ok else None
    bpy.data.objects.remove(obj)
    return arrays, tight


def _rank(attempt: tuple, tol: float) -> tuple:
    """Closed beats open, within tolerance beats outside, then the smaller distance."""
    p99, tight = attempt[5], attempt[8]
    return (not tight, p99 > tol, p99)


def child_main(request: Path, result: Path) -> int:
    import time

    import bpy

    t0 = time.perf_counter()
    with np.load(request, allow_pickle=False) as z:
        verts, faces = z["verts"], z["faces"]
        target, tol, seed = int(z["target_faces"]), float(z["tolerance"]), int(z["seed"])
        source_texture = (z["src_uv"], z["src_image"]) if "src_uv" in z else None
    bpy.ops.wm.read_factory_settings(use_empty=True)
    diag = float(np.linalg.norm(verts.max(0) - verts.min(0))) or 1.0
    rng = np.random.default_rng(seed)
    on_fit = surface_samples(verts, faces, SAMPLES, rng)
    best = None
    runs = 0
    for tries in range(1, MAX_TRIES + 1):
        runs = tries
        arrays, tight = _remesh_once(verts, faces, target, seed)
        if arrays is not None:
            qv, sizes, corners = arrays
            qt = fan(sizes, corners)
            d = np.concatenate([_distances(on_fit, qv, qt),
                                _distances(surface_samples(qv, qt, SAMPLES, rng), verts, faces)]) / diag
            attempt = (qv, sizes, corners, target, tries, float(np.percentile(d, 99)), float(d.mean()),
                       float(d.max()), tight)
            print(f"softfit-quads: run {tries}: {len(sizes)} faces (target {target}, seed {seed}), "
                  f"closed {tight}, p99 {attempt[5]:.4f}", file=sys.stderr)
            if best is None or _rank(attempt, tol) < _rank(best, tol):
                best = attempt
            if tight and attempt[5] <= tol:
                break
        if arrays is not None and tight:
            target *= 2  # closed but too far from the fit: more faces
        else:
            seed += 1  # QuadriFlow failed or left holes: another layout of the same size
    if best is None:
        np.savez(result, error=np.array(
            "QuadriFlow gave no mesh (it needs a closed, manifold surface; run the clean-up or ask for "
            "more faces)"))
        return 1
    qv, sizes, corners, target, _run, p99, mean, dmax, tight = best
    extra = ({} if source_texture is None
             else _carry_texture(qv, sizes, corners, verts, faces, *source_texture))
    np.savez(result, verts=qv, sizes=sizes, corners=corners, target_faces=np.int64(target),
             tries=np.int64(runs), p99=p99, mean=mean, max=dmax, tolerance=tol, watertight=tight,
             seconds=time.perf_counter() - t0, **extra)
    return 0


def _carry_texture(qv: np.ndarray, sizes: np.ndarray, corners: np.ndarray, verts: np.ndarray,
                   faces: np.ndarray, uv: np.ndarray, image: np.ndarray) -> dict:
    """The result's texture arrays, or only why there are none: the quads stand without a texture."""
    import time
    import traceback

    try:
        t0 = time.perf_counter()
        loop_uv, atlas, info = _sibling().texture_quads(qv, sizes, corners, verts, faces, uv, image)
        info["seconds"] = round(time.perf_counter() - t0, 2)
    except Exception as exc:  # noqa: BLE001  # a texture is a bonus: the quads are written all the same
        traceback.print_exc()
        return {"texture_info": json.dumps({"error": f"the texture could not be carried over ({exc})"})}
    print(f"softfit-quads: texture {info['size'][0]}x{info['size'][1]} in {info['seconds']} s",
          file=sys.stderr)
    return {"uv": loop_uv, "texture": atlas, "texture_info": json.dumps(info)}


if __name__ == "__main__":
    args = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]
    sys.exit(child_main(Path(args[0]), Path(args[1])))

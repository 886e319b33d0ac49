"""Fitting a mesh to multi-view silhouettes: `fit(data, init, params, callback, cancel, pinned)`.

One engine for the CLI, the server and the experiments. Per step it renders `views_per_step` training
views with the soft rasteriser, takes loss = mean over those views of 1 − Σ(A·T)/Σ(A + T − A·T) plus
the weighted regularisers, and moves the mesh with Adam. Held-out views (`holdout`, spread around the
object) never enter the loss; they are scored at the end with the hard rasteriser.

How the defaults were chosen (measured on Blender renders of Suzanne at two scales, a small off-centre
Suzanne, a torus, a cube, a bucket and a torus knot, 72 views on three rings at 256²; the same defaults
for all, nothing tuned to one object; figures in benchmarks/fit.md, `softfit bench fit`):

- σ anneals from 1e-4 to 1e-6 (NDC²) over the first 70 % of the steps. The soft silhouette of a closed
  mesh is fatter than the mesh (near the outline the front and back faces both add coverage), so the
  soft-IoU optimum lies *inside* the true shape: started at the ground-truth Suzanne, a fit at σ = 1e-4
  shrinks it from hard IoU 0.998 to 0.89, at 3e-5 to 0.94, at 1e-5 to 0.97, at 1e-6 only to 0.99.
  SoftRas' fixed 1e-4 therefore caps the fit near 0.90; ending at 1e-6 (0.016 px² at 256²) removes the
  bias, while the larger early σ gives gradients from farther away. Starting at 3e-4 deepened the early
  dip of a good initial mesh (held-out IoU 0.96 -> 0.88 instead of 0.92) for no final gain.
- Resolution schedule 64 → 128 → full size at 0 / 30 / 70 % of the steps: early steps are cheap, the
  last 30 % refine at full size. After 5 s the demo is at held-out IoU 0.985 with the schedule and 0.977
  at full size throughout (which reaches 0.986 after 9 s).
- Large Steps (u = (I + λL)x, λ = 5) with uniform Adam: smooth updates that keep the mesh clean
  without explicit regularisers (all weights default to 0; each is available and reported). On the
  demo, Adam on raw vertices ends at 0.943 with spikes (Chamfer 5.3 % of the size instead of 0.5 %),
  per-coordinate Adam on Large Steps at 0.977 (0.8 %). λ = 20 lost 2-3 IoU points; λ = 2 was within
  noise of 5 but rougher.
- lr = 0.05 of the initial mesh's bounding-box diagonal, decaying to a tenth: a unit-free step, so the
  same value works for a 10 cm and a 10 m object (a fixed lr of 0.1 fitted a radius-1 Suzanne well and
  a unit-box Suzanne badly).
- 4 views per step, 300 steps: 8 views gained 0.3 IoU points for twice the time; from the visual hull
  150 steps already reach 0.98 on the demo. Early stop after 60 final-stage steps without improvement.
- Adaptive resolution (`remesh`, on when the initial mesh's polys is "auto"; benchmarks/thin.md): at the
  start and middle of every resolution stage the mesh is remeshed towards per-vertex edge lengths (`sizing`:
  >= 1 render pixel, <= max(6 px, 8 % of the object's extent) where flat, shorter where curved or where the
  silhouette still misfits by more than a pixel), so thin parts get triangles and flat parts lose them;
  Adam's moments follow each new vertex's source (airplane at 64²: held-out IoU 0.943 carried, 0.935 reset).
  Off with pinned vertices (their indices must hold); "auto" is off for a given initial mesh (server jobs: a
  client asks with "remesh": "on", and its frames then carry the new faces, `wire.events.VertexFrame`).
- The initial mesh matters more than any of these: the visual hull (softfit.init) starts at IoU 0.9-0.97
  and has the object's topology (torus 0.93 -> 0.99, torus knot 0.75 -> 0.96 held-out IoU compared with
  an ellipsoid start), so the CLI defaults to it (falling back to the bbox ellipsoid, then a sphere).
"""

from softfit.fit.engine import FitResult, Progress, fit
from softfit.fit.params import FitParams

__all__ = ["FitParams", "FitResult", "Progress", "fit"]

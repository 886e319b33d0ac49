"""Section 3: initial meshes. The fixed sphere, the original 2-D bounding-box rule (bbox2d), the 3-D box
(bbox) and the visual hull (hull), each with `polys="auto"`, on a centred object and on the original
method's failure cases (a small off-centre object, an off-centre open-topped bucket, a detailed torus
knot); then polygon counts on the detailed object. Every fit runs the same fixed number of steps (no
early stop) so the IoU-vs-iteration curves compare like with like."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from softfit.experiments import figures, scenes
from softfit.experiments.context import Context, Section
from softfit.experiments.scoring import Scored, first_reaching, heldout, score_fit
from softfit.experiments.tables import md_table
from softfit.fit.params import POLISH_STEPS
from softfit.init import resolve_polys

INITS = ("sphere", "bbox2d", "bbox", "hull")
SOFTRAS_SPHERE_FACES = 2700  # SoftRas' demo sphere: 1 352 vertices, 2 700 faces
ORIGINAL_FACES = 1300  # "about 1 300 polygons": what the original method's sphere had at its image size


@dataclass(frozen=True)
class Case:
    key: str
    source: str
    label: str
    scale: float = 1.0
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)


CASES = (
    Case("centred", "suzanne", "Suzanne, centred"),
    Case("small_offcentre", "suzanne", "small off-centre Suzanne", 0.4, (0.45, -0.35, 0.15)),
    Case("offcentre_bucket", "bucket", "off-centre open-topped bucket", 0.6, (-0.4, 0.35, -0.1)),
    Case("detailed", "torus_knot", "torus knot (detailed)"),
)
QUICK_CASES = ("small_offcentre",)


def scene_for(case: Case, ctx: Context) -> scenes.Scene:
    s = ctx.settings
    opts = {"views": s.views, "size": s.fit_size, "scale": case.scale, "offset": case.offset}
    return scenes.Scene(f"init_{case.key}_{s.name}", case.source, opts)


def _fit(ctx: Context, data, gt, name: str, polys, **over) -> Scored:
    params = ctx.settings.fit_params(ctx.seed, plateau_patience=0, **over)
    return score_fit(data, name, params, gt, curve_every=ctx.settings.curve_every, polys=polys)


def run(ctx: Context) -> Section:
    s = ctx.settings
    cases = [c for c in CASES if s.name == "full" or c.key in QUICK_CASES]
    sec = Section(3, "Initial meshes", (
        "Each case is rendered with Blender (turntable, elevation 30°, "
        f"{s.views} views at {s.fit_size}² px, exact masks) and fitted for {s.iterations} steps from each "
        "initial mesh with `polys auto`; early stopping is off so every curve has the same length (each "
        "ends decimated and refitted for a few more steps: its last point is that mesh). "
        f"The held-out IoU (hard raster, {s.holdout:.3g} of the views held out) is recorded every "
        f"{s.curve_every} steps. *Reach* is the first recorded step at which a start reaches the fixed "
        "sphere's final held-out IoU on the same case (– : never within the budget); for the sphere itself "
        "(*ref.*) it is the step where its own curve first gets there, and *steps saved* count from it."))
    rows, data_rows, panels, overlay_rows, mesh_rows = [], [], [], [], []
    for case in cases:
        scene = scene_for(case, ctx)
        path = scenes.render(ctx.work, scene)
        data, gt = scenes.load(path, None), scenes.gt_mesh(path)
        auto = resolve_polys("auto", data.silhouettes)
        ctx.say(f"section 3: {case.key} (auto polys {auto})")
        fits = {name: _fit(ctx, data, gt, name, "auto") for name in INITS}
        ref = fits["sphere"].row["heldout_iou"]
        for name, f in fits.items():
            reach = first_reaching(f.curve, ref)
            r = {"case": case.key, "object": case.source, "init": name, "polys": "auto", **f.row,
                 "reach": reach}
            data_rows.append(r)
            shown = reach if name != "sphere" else f"{reach} (ref.)"
            rows.append([case.label, name, f.row["faces"], f.row["initial_iou"], shown, f.row["heldout_iou"],
                         100 * f.row["chamfer_rel"], f.row["init_seconds"], f.row["fit_seconds"]])
        panels.append((case.label, {n: f.curve for n, f in fits.items()}, ref))
        view = int(heldout(data, s.fit_params(ctx.seed))[0])
        cells = [("truth (held-out view)", (data.silhouettes[view] * 255).astype(np.uint8))]
        for name, f in fits.items():
            cells.append((f"{name} start", figures.overlay(f.init, data.silhouettes, data.cameras, view)))
            cells.append((f"{name} fit {f.row['heldout_iou']:.2f}",
                          figures.overlay(f.mesh, data.silhouettes, data.cameras, view)))
        overlay_rows.append((case.label, cells))
        mesh_rows.append((case.label, [("ground truth", figures.mesh_view(gt))] + [
            (f"{n}: IoU {f.row['heldout_iou']:.2f}", figures.mesh_view(f.mesh)) for n, f in fits.items()]))
        if case.key == "detailed":
            poly_rows, poly_curves = _polygon_study(ctx, data, gt, fits, auto)
            data_rows.extend(poly_rows)
            panels.append((f"{case.label}: polygon counts", poly_curves, None))
            sec.data["polys_rows"] = poly_rows

    sec.tables.append(("Initial meshes (held-out IoU, Chamfer as % of the ground truth's bounding-box "
                       "diagonal, times in seconds)",
                       md_table(["case", "init", "faces", "IoU at start", "reach", "final held-out IoU",
                                 "Chamfer %", "init s", "fit s"], rows)))
    if "polys_rows" in sec.data:
        pr = sec.data["polys_rows"]
        sec.tables.append(("Polygon counts on the torus knot (the same steps; `reach` against the fixed "
                           "auto-polys sphere)",
                           md_table(["init", "polys", "faces", "IoU at start", "reach", "final held-out IoU",
                                     "Chamfer %", "fit s"],
                                    [[r["init"], r["polys"], r["faces"], r["initial_iou"], r["reach"],
                                      r["heldout_iou"], 100 * r["chamfer_rel"], r["fit_seconds"]]
                                     for r in pr])))
    figures.curves_plot(ctx.out / "init_curves.png", panels)
    figures.image_grid(ctx.out / "init_overlays.png", overlay_rows, cell=1.6)
    figures.image_grid(ctx.out / "init_meshes.png", mesh_rows, cell=2.0)
    sec.figures += [("Held-out IoU against iteration for each start", "init_curves.png"),
                    ("A held-out view: each start and its fit against the true silhouette (green both, red "
                     "truth only, blue mesh only)", "init_overlays.png"),
                    ("Fitted meshes (shaded, same viewpoint)", "init_meshes.png")]
    sec.data["rows"] = data_rows
    sec.headline, sec.text = _summarise(data_rows, s.iterations)
    return sec


def _polygon_study(ctx: Context, data, gt, fits: dict, auto: int) -> tuple[list[dict], dict]:
    """The knot from the SoftRas sphere (2 700 faces), the hull at the original's ~1 300 faces, at auto
    and at four times auto."""
    ref = fits["sphere"].row["heldout_iou"]
    runs = [("sphere", SOFTRAS_SPHERE_FACES), ("hull", ORIGINAL_FACES), ("hull", "auto"), ("hull", 4 * auto)]
    rows, curves = [], {}
    for name, polys in runs:
        f = fits["hull"] if (name, polys) == ("hull", "auto") else _fit(ctx, data, gt, name, polys)
        label = f"{name} {polys if polys == 'auto' else f'{polys}'}"
        curves[label] = f.curve
        rows.append({"case": "detailed_polys", "object": "torus_knot", "init": name, "polys": str(polys),
                     **f.row, "reach": first_reaching(f.curve, ref)})
    return rows, curves


def _summarise(rows: list[dict], iterations: int) -> tuple[dict, list[str]]:
    """Headline numbers and the commentary, written from the measured rows."""
    main = [r for r in rows if r["case"] != "detailed_polys"]
    by = {(r["case"], r["init"]): r for r in main}
    cases = list(dict.fromkeys(r["case"] for r in main))
    text, head = [], {"iterations": iterations, "cases": {}}
    keys = ("initial_iou", "heldout_iou", "chamfer_rel", "reach")
    for c in cases:
        head["cases"][c] = {n: {k: by[(c, n)][k] for k in keys} for n in INITS if (c, n) in by}
        r = {n: by[(c, n)] for n in INITS}
        text.append(
            f"**{c}**: held-out IoU at the start / after {iterations} steps — "
            + ", ".join(f"{n} {r[n]['initial_iou']:.2f} / {r[n]['heldout_iou']:.3f}" for n in INITS)
            + f"; the sphere first reaches its final IoU at step {r['sphere']['reach']}, the others at: "
            + ", ".join(f"{n} {'never' if r[n]['reach'] is None else r[n]['reach']}" for n in INITS[1:])
            + f". Chamfer: sphere {100 * r['sphere']['chamfer_rel']:.2f} %, hull "
            f"{100 * r['hull']['chamfer_rel']:.2f} % of the diagonal.")
    base = {c: by[(c, "sphere")]["reach"] for c in cases}
    saved = {n: [base[c] - by[(c, n)]["reach"] for c in cases
                 if base[c] is not None and by[(c, n)]["reach"] is not None] for n in INITS[1:]}
    head["steps_saved"] = saved
    head["sphere_reach"] = base
    head["hull_steps_saved_mean"] = float(np.mean(saved["hull"])) if saved["hull"] else None
    dips = [(c, by[(c, "hull")]) for c in cases]
    dips = [(c, r, min(v for i, v in r["curve"] if 0 < i <= iterations // 3)) for c, r in dips]
    dips = [(c, r, low) for c, r, low in dips if low < r["initial_iou"] - 0.05]
    if dips:
        recovered = all(r["heldout_iou"] > r["initial_iou"] for _, r, _ in dips)
        text.append(
            "The hull start loses IoU in the first steps before it climbs ("
            + "; ".join(f"{c}: {r['initial_iou']:.2f} → {low:.2f}" for c, r, low in dips)
            + "): the engine's default schedule begins with a wide σ and small renders, which blur a start "
            "that is already close. "
            + ("It recovers and ends above its start in every case, so the dip costs steps, not the "
               "result; a schedule chosen from the initial mesh could save those steps too (not measured "
               "here)." if recovered else
               "It does not always climb back above its start within the budget."))
    diff = {c: by[(c, "bbox2d")]["heldout_iou"] - by[(c, "sphere")]["heldout_iou"] for c in cases}
    text.append(
        "The original 2-D bounding-box rule starts better than the fixed sphere but far below the 3-D box "
        "and the hull, and ends close to the sphere ("
        + ", ".join(f"{c} {d:+.3f}" for c, d in diff.items())
        + " final IoU against it): it scales the sphere to one view's box at the turntable centre's depth, "
        "which misplaces and misshapes it for the other views.")
    if "offcentre_bucket" in cases:
        text.append("No silhouette shows the bucket's cavity (its outline is the same with or without it), "
                    "so every start ends as a filled cylinder (see the mesh renders): what Chamfer distance "
                    "the bucket keeps is mostly that cavity, and no initialisation can fix it.")
    text += _polys_text(rows, iterations)
    summary = []
    if saved["hull"]:
        reached = [v for v in base.values() if v is not None]
        summary.append(
            f"Initial mesh: the fixed sphere first reaches its final held-out IoU after "
            f"{np.mean(reached):.0f} steps on average (the fit's {iterations}, then the {POLISH_STEPS} of "
            f"the refit after its decimation); from the visual hull the "
            f"fit gets there {np.mean(saved['hull']):.0f} steps sooner "
            f"({100 * np.mean(saved['hull']) / np.mean(reached):.0f} % of the steps saved, "
            f"{len(saved['hull'])} of {len(cases)} cases), from the 3-D box "
            + (f"{np.mean(saved['bbox']):.0f} steps sooner ({len(saved['bbox'])} of {len(cases)} cases)."
               if saved["bbox"] else "never."))
    off = [c for c in cases if "offcentre" in c]
    if off:
        head["offcentre"] = {c: {n: by[(c, n)]["heldout_iou"] for n in INITS} for c in off}
        summary.append("Off-centre objects, final held-out IoU (sphere / bbox2d / bbox / hull): " + "; ".join(
            f"{c} " + " / ".join(f"{by[(c, n)]['heldout_iou']:.3f}" for n in INITS) for c in off) + ".")
    head["summary"] = summary
    return head, text


def _polys_text(rows: list[dict], iterations: int) -> list[str]:
    pr = [r for r in rows if r["case"] == "detailed_polys"]
    if not pr:
        return []
    parts = ", ".join(f"{r['init']} with {r['faces']} faces {r['heldout_iou']:.3f} (Chamfer "
                      f"{100 * r['chamfer_rel']:.2f} %)" for r in pr)
    hulls = [r for r in pr if r["init"] == "hull"]
    best = max(hulls, key=lambda r: r["heldout_iou"])
    sphere = next(r for r in pr if r["init"] == "sphere")
    return [
        f"Polygon counts on the torus knot after {iterations} steps: {parts}. The best hull count here is "
        f"{best['faces']} faces. No sphere, whatever its count, can become a knot: a sphere has no hole, "
        "and a silhouette loss cannot tear one, so the SoftRas-like sphere ends at "
        f"{sphere['heldout_iou']:.3f}; the visual hull already carries the hole the silhouettes show.",
    ]

"""`softfit bench texture`: how well the textured result reproduces photos it was not made from.

Per object: `softfit dataset render` makes the test data (Cycles path tracing, `--texture paint`: smooth
colour blotches on the dataset's mostly diffuse material (Principled BSDF, roughness 0.6), on the
textured backdrop with two sun lights fixed in the world, so the object's shading stays put while the
camera moves, as for a matte object photographed in a room); `softfit fit` with its defaults fits the
exact masks of the training views, repairs the mesh and bakes its texture from the training photos only;
then Blender itself imports `mesh.glb` (its glTF importer wires the texture into the material) and
renders the held-out views with Workbench, flat light and texture colour (the texture already holds the
photos' light, so it is shown unlit, like an emission shader).

Scores, on held-out views only, against the true held-out photos (Cycles renders, not the program's
own guesses): PSNR over the pixels of the true object mask (the render is laid over black, so a missed
part of the object counts as an error) and SSIM (scikit-image, 7×7 window, per channel) averaged over
the same pixels. Side by side, in the same run: the ground-truth mesh textured by the same baker (what
the texture method gives with perfect geometry) and the fitted mesh in one flat colour (the mean colour
of the training photos inside their masks: what an untextured fit would show)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import ndimage

from softfit.bench import choose, machine_info, repo_root

SPEC = {"views": 40, "cameras": "rings", "size": 256, "scale": 1.0, "background": "backdrop",
        "engine": "cycles", "texture": "paint", "samples": 32}
OBJECTS: dict[str, dict] = {
    "suzanne": SPEC | {"source": "suzanne", "scale": 1.6},
    "torus": SPEC | {"source": "torus"},
    "cube": SPEC | {"source": "cube"},
}
PSNR_TARGET = 25.0


def masked_psnr(render: np.ndarray, photo: np.ndarray, mask: np.ndarray) -> float:
    """PSNR (dB, peak 255) over the pixels of `mask`, all three channels."""
    diff = render[mask].astype(np.float64) - photo[mask].astype(np.float64)
    mse = float(np.mean(diff ** 2)) if diff.size else 0.0
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0 ** 2 / mse)


def masked_ssim(render: np.ndarray, photo: np.ndarray, mask: np.ndarray) -> float:
    """Mean SSIM over the pixels of `mask` (scikit-image's SSIM map, 7×7 window, per channel)."""
    from skimage.metrics import structural_similarity

    _, full = structural_similarity(render, photo, channel_axis=2, data_range=255, full=True)
    return float(full[mask].mean()) if mask.any() else 1.0


def over_black(rgba: np.ndarray) -> np.ndarray:
    """(…, 4) straight-alpha RGBA laid over black, as uint8 RGB."""
    a = rgba[..., 3:4].astype(np.float64) / 255.0
    return np.round(rgba[..., :3] * a).astype(np.uint8)


def _blender_render(folder: Path, views: list[int], meshes: dict[str, Path], tmp: Path) -> dict:
    job = {"cameras": str(folder / "transforms.json"), "views": views,
           "meshes": {k: str(v) for k, v in meshes.items()}, "out": str(tmp / "renders.npz")}
    (tmp / "job.json").write_text(json.dumps(job))
    proc = subprocess.run([sys.executable, "-m", "softfit.bench.texture_render", str(tmp / "job.json")],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError("Blender render failed: " + (proc.stderr or proc.stdout)[-2000:])
    with np.load(tmp / "renders.npz") as z:
        return {k: z[k] for k in z.files}


def run_one(name: str, spec: dict, cache: Path, work: Path) -> dict:
    from softfit.dataset.cache import cached_dataset
    from softfit.fit import FitParams
    from softfit.fit.engine import FitResult
    from softfit.mesh.clean import check_mesh
    from softfit.mesh.io import load_mesh
    from softfit.pipeline import DEFAULT_POLYS, InitSpec, Inputs, ReportSpec, run
    from softfit.texture.export import save_textured
    from softfit.texture.finish import finish

    folder = cached_dataset(spec, cache, quiet=True)
    params = FitParams(device="cpu")
    load0 = os.getloadavg()[0]
    out = work / name
    outcome = run(Inputs(str(folder), image_size=spec["size"]), InitSpec(None, DEFAULT_POLYS), params,
                  report=ReportSpec(out / "fit"))
    m, data = outcome.metrics.raw, outcome.data
    if "skipped" in m["texture"]:
        raise RuntimeError(f"{name}: no texture ({m['texture']['skipped']})")
    held = [int(i) for i in outcome.held]
    train = outcome.train
    gt_result = FitResult(load_mesh(folder / "gt_mesh.obj"), {})
    gt_tex = finish(gt_result, data, params, train=train)  # same baker, same training views, true geometry
    save_textured(out / "gt", gt_tex)
    renders = _blender_render(folder, held, {"fit": out / "fit" / "mesh.glb", "gt": out / "gt" / "mesh.glb"},
                              out)
    masks = data.silhouettes[held] >= 0.5
    interior = ndimage.binary_erosion(masks, np.ones((1, 3, 3), bool))
    photos = data.images[held]
    tm = data.silhouettes[train] >= 0.5
    mean_color = data.images[train][tm].mean(axis=0)
    flat = (renders["fit"][..., 3:4] / 255.0 * mean_color).round().astype(np.uint8)
    scores: dict[str, dict] = {}
    for key, imgs in (("fit", over_black(renders["fit"])), ("gt_mesh", over_black(renders["gt"])),
                      ("flat", flat)):
        psnr = [masked_psnr(r, p, k) for r, p, k in zip(imgs, photos, masks, strict=True)]
        ssim = [masked_ssim(r, p, k) for r, p, k in zip(imgs, photos, masks, strict=True)]
        inner = [masked_psnr(r, p, k) for r, p, k in zip(imgs, photos, interior, strict=True)]
        scores[key] = {"psnr": float(np.mean(psnr)), "psnr_min": float(np.min(psnr)), "psnr_per_view": psnr,
                       "ssim": float(np.mean(ssim)), "ssim_per_view": ssim,
                       "psnr_interior": float(np.mean(inner)), "psnr_interior_per_view": inner}
    _save_strip(out / "heldout.png", photos, over_black(renders["fit"]), over_black(renders["gt"]))
    topo = check_mesh(load_mesh(out / "fit" / "mesh.obj")).to_dict()  # the written file, checked again
    return {"dataset": spec, "heldout_views": held, "fit_time": m["fit_time"], "texture": m["texture"],
            "heldout_iou": m["heldout_iou"], "topology": topo,
            "repair": {k: m["topology"][k] for k in ("steps", "max_displacement_rel")},
            "topology_before_repair_ok": m["topology"]["before"]["ok"],
            "scores": scores, "loadavg_before": load0, "strip": str(out / "heldout.png")}


def _save_strip(path: Path, photos: np.ndarray, fit: np.ndarray, gt: np.ndarray) -> None:
    """Rows: true held-out photo, textured fit, textured ground-truth mesh (first four held-out views)."""
    from PIL import Image

    k = min(4, len(photos))
    rows = [np.concatenate(list(x[:k]), axis=1) for x in (photos, fit, gt)]
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate(rows, axis=0)).save(path)


def markdown(results: dict, info: dict, command: str) -> str:
    lines = [
        "# Texture benchmark", "",
        f"Regenerate with `{command}`. How it is measured is written in the docstring of "
        "`backend/softfit/bench/texture.py`; in short: Cycles renders of matte-ish objects with a smooth "
        "painted texture under lights fixed in the world (40 views on three rings, 256x256, 32 samples); "
        "default `softfit fit`; texture baked from the training views only; Blender imports `mesh.glb` and "
        "renders the held-out views unlit (Workbench, flat, texture colour); scored against the **true "
        "held-out photos** over the true object mask (PSNR; SSIM averaged over the same pixels).", "",
        f"Machine: {info.get('cpu')}, {info.get('logical_cpus')} logical CPUs, torch {info.get('torch')}, "
        f"git {info.get('git', '?')}; load average at start {info.get('load_average_1min_at_start')}.", "",
        "PSNR is given over the whole true mask and over its interior (the mask less its outermost ring of "
        "pixels: those mix the object with the scene behind it, which the render lays over black and no "
        "texture can hold).", "",
        "| object | held-out views | held-out IoU | PSNR dB textured fit: mask | interior | (worst view) | "
        "SSIM | PSNR GT mesh, same baker: mask | interior | SSIM | PSNR fit, flat colour: mask | interior | "
        "SSIM | texture | seen | bake s | clean mesh |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---|",
    ]
    for name, r in results.items():
        s, t = r["scores"], r["texture"]
        lines.append(
            f"| {name} | {len(r['heldout_views'])} | {r['heldout_iou']:.4f} | **{s['fit']['psnr']:.2f}** | "
            f"**{s['fit']['psnr_interior']:.2f}** | {s['fit']['psnr_min']:.2f} | {s['fit']['ssim']:.3f} | "
            f"{s['gt_mesh']['psnr']:.2f} | {s['gt_mesh']['psnr_interior']:.2f} | "
            f"{s['gt_mesh']['ssim']:.3f} | "
            f"{s['flat']['psnr']:.2f} | {s['flat']['psnr_interior']:.2f} | {s['flat']['ssim']:.3f} | "
            f"{t['size'][0]}x{t['size'][1]} | {100 * t['seen_fraction']:.1f} % | {t['time']:.1f} | "
            f"{'yes' if r['topology']['ok'] else 'NO'} |")
    lines += ["", f"Target (issue 14): PSNR ≥ {PSNR_TARGET:g} dB on matte objects. \"seen\": texels that "
              "a training view shows (the rest are filled from their 3-D neighbours). \"clean mesh\": "
              "watertight, manifold, consistently outward, no self-intersections, no degenerate faces "
              "(`softfit.mesh.clean.check_mesh`).", "",
              "Held-out views (rows: true photo, textured fit, textured ground-truth mesh):", ""]
    lines += [f"- {name}: ![{name}](texture/{name}.png)" for name in results]
    lines.append("")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--objects", default=None, help="comma-separated subset of: " + ", ".join(OBJECTS))
    parser.add_argument("--cache", default=None, help="dataset cache (default: the demo's)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: <repo>/benchmarks)")


def run(args: argparse.Namespace) -> int:
    import shutil

    from softfit.dataset.cache import cache_root

    names = choose(args.objects, OBJECTS, "benchmark object(s)")
    info = machine_info()
    out = args.out or repo_root() / "benchmarks"
    (out / "texture").mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    results = {}
    with tempfile.TemporaryDirectory(prefix="softfit-bench-texture-") as tmp:
        for name in names:
            r = run_one(name, OBJECTS[name], cache_root(args.cache), Path(tmp))
            shutil.copyfile(r.pop("strip"), out / "texture" / f"{name}.png")
            s = r["scores"]
            print(f"{name}: held-out PSNR {s['fit']['psnr']:.2f} dB "
                  f"(interior {s['fit']['psnr_interior']:.2f}), "
                  f"SSIM {s['fit']['ssim']:.3f} "
                  f"(GT mesh {s['gt_mesh']['psnr']:.2f} dB, flat {s['flat']['psnr']:.2f} dB)", flush=True)
            results[name] = r
    command = "softfit bench texture" + (f" --objects {args.objects}" if args.objects else "")
    doc = {"command": command, "machine": info, "total_time": time.perf_counter() - t0, "results": results}
    (out / "texture.json").write_text(json.dumps(doc, indent=1))
    (out / "texture.md").write_text(markdown(results, info, command))
    print(f"wrote {out / 'texture.json'} and {out / 'texture.md'}")
    return 0

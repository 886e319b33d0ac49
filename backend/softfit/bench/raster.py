"""`softfit bench raster`: times the compiled soft rasteriser against the dense reference on ico
spheres that fill about half the image, and writes benchmarks/raster.json and benchmarks/raster.md.

Each figure is the median of several repeats after a warm-up. CPU rows are timed on one thread and on
all threads (interleaved call by call, so a change in the machine's load hits both alike) and report the
process's CPU time beside the wall time: CPU time ≈ threads × wall time shows the cores really worked.
Peak memory is the growth of the process's resident set (sampled every 2 ms) during the last timed
call, or the CUDA allocator's peak."""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import math
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import torch

from softfit.bench import machine_info, repo_root
from softfit.bench.raster_fit import fit_step_rows, kernel_isa
from softfit.bench.raster_fit import markdown as fit_markdown
from softfit.raster import dense_silhouette, rasterize_silhouette

SIGMA = 1e-4
FULL_FACES = (1280, 5120, 20480)
FULL_SIZES = (128, 256, 512)
FULL_VIEWS = (1, 8)
# The dense reference costs ~0.2 µs per pixel-face pair forward and ~0.45 µs forward+backward on the
# 2-core reference machine, so by default it runs only where B·F·H·W stays below this.
DENSE_MAX_PAIRS = 1.0e8
DENSE_BYTES_PER_PAIR = 96  # ~8 float32 (B, F, 3, H, W) intermediates if it were not chunked


def _midpoint(verts: list[list[float]], cache: dict[tuple[int, int], int], a: int, b: int) -> int:
    """Index of the (shared) midpoint of edge (a, b), appended to verts on first use."""
    key = (min(a, b), max(a, b))
    if key not in cache:
        cache[key] = len(verts)
        verts.append([(verts[a][i] + verts[b][i]) / 2.0 for i in range(3)])
    return cache[key]


def icosphere(subdivisions: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Unit ico sphere with 20·4^subdivisions faces: float64 (V, 3) vertices, int64 (F, 3) faces."""
    t = (1.0 + math.sqrt(5.0)) / 2.0
    verts = [
        [-1, t, 0],
        [1, t, 0],
        [-1, -t, 0],
        [1, -t, 0],
        [0, -1, t],
        [0, 1, t],
        [0, -1, -t],
        [0, 1, -t],
        [t, 0, -1],
        [t, 0, 1],
        [-t, 0, -1],
        [-t, 0, 1],
    ]
    faces = [
        (0, 11, 5),
        (0, 5, 1),
        (0, 1, 7),
        (0, 7, 10),
        (0, 10, 11),
        (1, 5, 9),
        (5, 11, 4),
        (11, 10, 2),
        (10, 7, 6),
        (7, 1, 8),
        (3, 9, 4),
        (3, 4, 2),
        (3, 2, 6),
        (3, 6, 8),
        (3, 8, 9),
        (4, 9, 5),
        (2, 4, 11),
        (6, 2, 10),
        (8, 6, 7),
        (9, 8, 1),
    ]
    for _ in range(subdivisions):
        cache: dict[tuple[int, int], int] = {}
        refined = []
        for a, b, c in faces:
            ab, bc, ca = (
                _midpoint(verts, cache, a, b),
                _midpoint(verts, cache, b, c),
                _midpoint(verts, cache, c, a),
            )
            refined += [(a, ab, ca), (b, bc, ab), (c, ca, bc), (ab, bc, ca)]
        faces = refined
    v = torch.tensor(verts, dtype=torch.float64)
    return v / v.norm(dim=1, keepdim=True), torch.tensor(faces, dtype=torch.int64)


def uv_sphere(segments: int, rings: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Unit UV sphere with 2·segments·(rings - 1) triangles (poles as fans), like SoftRas' test meshes."""
    theta = torch.linspace(0, math.pi, rings + 1, dtype=torch.float64)[1:-1]
    phi = torch.arange(segments, dtype=torch.float64) * (2 * math.pi / segments)
    sin_t, cos_t = theta.sin()[:, None], theta.cos()[:, None].expand(-1, segments)
    ring = torch.stack([sin_t * phi.cos(), sin_t * phi.sin(), cos_t], dim=-1).reshape(-1, 3)
    verts = torch.cat([torch.tensor([[0.0, 0.0, 1.0]]), ring, torch.tensor([[0.0, 0.0, -1.0]])])
    south = verts.shape[0] - 1
    faces = []
    for s in range(segments):
        n = (s + 1) % segments
        faces.append((0, 1 + s, 1 + n))
        for r in range(rings - 2):
            a, b = 1 + r * segments + s, 1 + r * segments + n
            c, d = a + segments, b + segments
            faces += [(a, c, b), (b, c, d)]
        base = 1 + (rings - 2) * segments
        faces.append((south, base + n, base + s))
    return verts, torch.tensor(faces, dtype=torch.int64)


def sphere_mesh(nfaces: int) -> tuple[torch.Tensor, torch.Tensor]:
    """An ico sphere when nfaces is 20·4^n, else the UV sphere of 48 segments that has nfaces."""
    n = round(math.log(nfaces / 20, 4))
    if 20 * 4**n == nfaces:
        return icosphere(n)
    rings = nfaces // 96 + 1
    if 96 * (rings - 1) != nfaces:
        raise ValueError(f"no benchmark sphere has {nfaces} faces (use 20·4^n or a multiple of 96)")
    return uv_sphere(48, rings)


def sphere_views(
    unit_verts: torch.Tensor, views: int, height: int, width: int, seed: int = 0
) -> torch.Tensor:
    """(views, V, 3) pixel-space vertices: randomly rotated spheres of radius 0.4·min(H, W), centred,
    covering about half the image, at depth 3 ± 1."""
    gen = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(views, 3, 3, generator=gen, dtype=torch.float64))
    rotated = unit_verts @ q.transpose(1, 2)
    radius = 0.4 * min(height, width)
    x = width / 2 + radius * rotated[..., 0]
    y = height / 2 + radius * rotated[..., 1]
    return torch.stack([x, y, 3.0 + rotated[..., 2]], dim=-1)


class PeakRSS:
    """Peak growth of the resident set while the block runs, sampled by a thread (torch frees the GIL)."""

    def __init__(self) -> None:
        self.peak_bytes = 0
        self._stop = threading.Event()

    @staticmethod
    def _rss() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _sample(self, base: int) -> None:
        while not self._stop.is_set():
            self.peak_bytes = max(self.peak_bytes, self._rss() - base)
            time.sleep(0.002)

    def __enter__(self) -> PeakRSS:
        # Hand freed heap back to the OS first, or a call reusing an earlier call's memory shows no growth.
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        self._thread = threading.Thread(target=self._sample, args=(self._rss(),), daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_time(
    fn: Callable[[], object],
    repeats: int,
    warmup: int,
    device: torch.device,
    memory: bool = False,
    threads: tuple[int, ...] = (0,),
) -> dict[int, dict[str, float]]:
    """Per thread count in `threads` (0 = leave torch's setting): median wall and CPU seconds of fn after
    `warmup` untimed calls, and (when `memory`) the peak extra bytes of the last call: the CUDA
    allocator's peak, or the resident-set growth on CPU. Thread counts alternate call by call."""
    default = torch.get_num_threads()
    out: dict[int, dict[str, float]] = {}
    walls: dict[int, list[float]] = {n: [] for n in threads}
    cpus: dict[int, list[float]] = {n: [] for n in threads}
    try:
        for n in threads:
            torch.set_num_threads(n or default)
            for _ in range(warmup):
                fn()
        _sync(device)
        for i in range(repeats):
            for n in threads:
                torch.set_num_threads(n or default)
                last = memory and i == repeats - 1 and n == threads[-1]
                if last and device.type == "cuda":
                    torch.cuda.reset_peak_memory_stats(device)
                    base = torch.cuda.memory_allocated(device)
                rss = PeakRSS() if last and device.type == "cpu" else None
                start, cpu_start = time.perf_counter(), time.process_time()
                if rss is not None:
                    with rss:
                        fn()
                else:
                    fn()
                _sync(device)
                walls[n].append(time.perf_counter() - start)
                cpus[n].append(time.process_time() - cpu_start)
                if rss is not None:
                    out.setdefault(n, {})["peak_bytes"] = rss.peak_bytes
                elif last:
                    out.setdefault(n, {})["peak_bytes"] = torch.cuda.max_memory_allocated(device) - base
    finally:
        torch.set_num_threads(default)
    for n in threads:
        out.setdefault(n, {}).update(wall_s=statistics.median(walls[n]), cpu_s=statistics.median(cpus[n]))
    return out


def measure(
    op: Callable[..., torch.Tensor],
    verts: torch.Tensor,
    faces: torch.Tensor,
    size: int,
    repeats: int,
    warmup: int,
    threads: tuple[int, ...] = (0,),
) -> dict[str, object]:
    """Forward and forward+backward median wall/CPU times (s) and the forward+backward peak memory
    (bytes), with torch's thread setting; plus, per extra thread count n > 0 in `threads`, the same
    times under "threads_n"."""
    device = verts.device

    def forward() -> None:
        with torch.no_grad():
            op(verts, faces, (size, size), sigma=SIGMA)

    def forward_backward() -> None:
        v = verts.detach().requires_grad_(True)
        op(v, faces, (size, size), sigma=SIGMA).sum().backward()

    fwd = median_time(forward, repeats, warmup, device, threads=threads)
    fwd_bwd = median_time(forward_backward, repeats, warmup, device, memory=True, threads=threads)
    result: dict[str, object] = {}
    for n in threads:
        times = {
            "forward_s": fwd[n]["wall_s"],
            "forward_cpu_s": fwd[n]["cpu_s"],
            "forward_backward_s": fwd_bwd[n]["wall_s"],
            "forward_backward_cpu_s": fwd_bwd[n]["cpu_s"],
        }
        if n == 0:
            result |= times | {"peak_bytes": fwd_bwd[0].get("peak_bytes", 0)}
        else:
            result[f"threads_{n}"] = times
    return result


def run_case(
    nfaces: int, size: int, views: int, device: torch.device, args: argparse.Namespace
) -> dict[str, object]:
    """One table row: the compiled kernel, and the dense reference unless it is over budget."""
    unit, faces = sphere_mesh(nfaces)
    verts = sphere_views(unit, views, size, size).to(device=device, dtype=torch.float32)
    faces = faces.to(device)
    row: dict[str, object] = {"device": device.type, "faces": nfaces, "size": size, "views": views}
    row["load_1min"] = round(os.getloadavg()[0], 2)
    # CPU: torch's thread setting (0) and one thread, interleaved, for the thread-scaling column.
    threads = (0, 1) if device.type == "cpu" and torch.get_num_threads() > 1 else (0,)
    compiled = measure(rasterize_silhouette, verts, faces, size, args.repeats, args.warmup, threads)
    row["compiled"] = compiled
    row["threads"] = torch.get_num_threads()
    if device.type == "cpu":
        # The same kernels compiled for any CPU, side by side: what the vectorised variant gains.
        from softfit import _C

        row["isa"] = _C.cpu_kernel_isa()
        if row["isa"] != "generic":
            with kernel_isa("generic"):
                row["generic"] = measure(rasterize_silhouette, verts, faces, size, args.repeats, args.warmup)
            row["speedup_vs_generic"] = row["generic"]["forward_backward_s"] / compiled["forward_backward_s"]
    if "threads_1" in compiled:
        one = compiled["threads_1"]
        row["scaling_forward"] = one["forward_s"] / compiled["forward_s"]
        row["scaling_forward_backward"] = one["forward_backward_s"] / compiled["forward_backward_s"]
    pairs = views * nfaces * size * size
    if device.type == "cpu" and pairs <= args.dense_max_pairs:
        dense = measure(dense_silhouette, verts, faces, size, args.dense_repeats, 0)
        row["dense"] = dense
        row["speedup_forward"] = dense["forward_s"] / row["compiled"]["forward_s"]
        row["speedup_forward_backward"] = dense["forward_backward_s"] / row["compiled"]["forward_backward_s"]
    elif device.type == "cpu":
        gigabytes = pairs * DENSE_BYTES_PER_PAIR / 1e9
        row["dense_skipped"] = (
            f"skipped (B·F·H·W = {pairs:.2g} pairs > budget {args.dense_max_pairs:.2g}; "
            f"unchunked it would need ~{gigabytes:.0f} GB)"
        )
    return row


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f}"


def _mb(nbytes: float) -> str:
    return f"{nbytes / 2**20:.0f}"


def markdown(rows: list[dict[str, object]], info: dict[str, object], command: str,
             steps: list[dict[str, object]] | None = None) -> str:
    """The results as a markdown page: machine, command, and one table per device."""
    lines = [
        "# Soft silhouette rasteriser benchmark",
        "",
        f"Regenerate with `{command}` (from the repository root, after `make extension`).",
        "",
        "Ico spheres (a UV sphere for 3 264 faces), rotated per view, of radius 0.4·size centred in a",
        f"square image (about half of it covered), σ = {SIGMA:g} (NDC²), eps = 1e-3, float32.",
        "Times are medians after warm-up; fwd+bwd is",
        "`alpha.sum().backward()`. CPU peak memory is the resident-set growth during the last fwd+bwd call;",
        "CUDA peak memory is the allocator's.",
        "",
        "CPU rows: wall time with all torch threads, the process's CPU time for the same calls, the wall",
        "time on 1 thread (timed call by call in turn with the all-threads one), and the scaling",
        "1 thread → all threads. The kernels run with the best instruction set this CPU has (`isa` below);",
        "`generic` is the same kernels compiled for any CPU, timed right after in the same process.",
        "`load` is the 1-minute load average when the row started: other processes",
        "on a shared machine slow every figure down and flatten the scaling (2 cores under a load of 4 leave",
        "about one core to this process). Speed-up vs dense compares with the dense pure-torch reference",
        "of the same formula, run on all threads in the same process.",
        "",
        "| machine | |",
        "|---|---|",
    ]
    lines += [f"| {key} | {value} |" for key, value in info.items()]
    for device in ("cpu", "cuda"):
        dev_rows = [r for r in rows if r["device"] == device]
        if not dev_rows:
            continue
        lines += ["", f"## {device.upper()}", ""]
        if device == "cpu":
            lines += [
                "| faces | size | views | load | fwd ms | fwd CPU ms | fwd+bwd ms | fwd+bwd CPU ms "
                "| 1-thread fwd ms | 1-thread fwd+bwd ms | scaling fwd | scaling fwd+bwd "
                "| generic fwd ms | generic fwd+bwd ms | vs generic fwd+bwd | peak MB "
                "| dense fwd ms | dense fwd+bwd ms | dense peak MB | vs dense fwd | vs dense fwd+bwd |",
                "|" + "---:|" * 21,
            ]
        else:
            lines += [
                "| faces | size | views | fwd ms | fwd+bwd ms | peak MB |",
                "|---:|---:|---:|---:|---:|---:|",
            ]
        for r in dev_rows:
            c = r["compiled"]
            cells = [f"{r['faces']:,}", f"{r['size']}²", str(r["views"])]
            if device == "cpu":
                one = c.get("threads_1", {})
                cells += [
                    f"{r['load_1min']:.1f}",
                    _ms(c["forward_s"]),
                    _ms(c["forward_cpu_s"]),
                    _ms(c["forward_backward_s"]),
                    _ms(c["forward_backward_cpu_s"]),
                    _ms(one["forward_s"]) if one else "",
                    _ms(one["forward_backward_s"]) if one else "",
                    f"{r['scaling_forward']:.2f}×" if one else "",
                    f"{r['scaling_forward_backward']:.2f}×" if one else "",
                ]
                gen = r.get("generic")
                cells += [_ms(gen["forward_s"]), _ms(gen["forward_backward_s"]),
                          f"{r['speedup_vs_generic']:.2f}×"] if gen else ["", "", ""]
            else:
                cells += [_ms(c["forward_s"]), _ms(c["forward_backward_s"])]
            cells.append(_mb(c["peak_bytes"]))
            if device == "cpu" and "dense" in r:
                d = r["dense"]
                cells += [
                    _ms(d["forward_s"]),
                    _ms(d["forward_backward_s"]),
                    _mb(d["peak_bytes"]),
                    f"{r['speedup_forward']:.0f}×",
                    f"{r['speedup_forward_backward']:.0f}×",
                ]
            elif device == "cpu":
                cells += [str(r["dense_skipped"]), "", "", "", ""]
            lines.append("| " + " | ".join(cells) + " |")
    lines += fit_markdown(steps or [])
    return "\n".join(lines) + "\n"


def _cases_arg(text: str) -> str:
    """Checks --cases: comma-separated FACESxSIZExVIEWS with positive integers and a benchmark sphere."""
    for case in text.split(","):
        parts = case.split("x")
        if len(parts) != 3 or not all(p.isdigit() and int(p) > 0 for p in parts):
            raise argparse.ArgumentTypeError(f"{case!r} is not FACESxSIZExVIEWS (e.g. 20480x512x8)")
        try:
            sphere_mesh(int(parts[0]))
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `softfit bench raster`."""
    parser.add_argument("--quick", action="store_true", help="5 120 faces at 128² and 256², 1 view only")
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats per figure (median)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed calls before timing")
    parser.add_argument("--dense-repeats", type=int, default=1, help="timed repeats of the dense reference")
    parser.add_argument(
        "--dense-max-pairs", type=float, default=DENSE_MAX_PAIRS, help="run the dense reference up to B·F·H·W"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--no-cuda", action="store_true", help="skip GPU timings even when a GPU exists")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: <repo>/benchmarks)")
    parser.add_argument("--cases", default=None, type=_cases_arg,
                        help="only these rows, as FACESxSIZExVIEWS,... (e.g. 20480x512x8)")
    parser.add_argument("--fit-data", type=Path, default=None,
                        help="dataset of the fit step rows (default: the demo dataset, rendered if missing)")
    parser.add_argument("--fit-faces", type=int, default=20000, help="initial-mesh faces of the fit steps")
    parser.add_argument("--fit-size", type=int, default=256, help="render size (long side) of the fit steps")


def _non_default_flags(args: argparse.Namespace) -> list[str]:
    """The options that changed the figures, as typed, so the page names the command that made it."""
    flags = ["--quick"] if args.quick else []
    defaults = {"repeats": 7, "warmup": 2, "dense_repeats": 1, "dense_max_pairs": DENSE_MAX_PAIRS,
                "threads": None, "fit_faces": 20000, "fit_size": 256, "fit_data": None, "cases": None}
    for name, default in defaults.items():
        value = getattr(args, name)
        if value != default:
            flags.append(f"--{name.replace('_', '-')} {value:g}" if isinstance(value, float) else
                         f"--{name.replace('_', '-')} {value}")
    return flags


def run(args: argparse.Namespace) -> int:
    """Runs the CPU table (and the GPU one where a GPU exists) and writes raster.json / raster.md."""
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.quick:
        faces_list, sizes, views_list = (5120,), (128, 256), (1,)
    else:
        faces_list, sizes, views_list = FULL_FACES, FULL_SIZES, FULL_VIEWS
    cases = [(f, s, v) for v in views_list for s in sizes for f in faces_list]
    if args.cases:  # FACESxSIZExVIEWS,...: only these rows (a short run for a short quiet spell)
        cases = [tuple(int(n) for n in c.split("x")) for c in args.cases.split(",")]
    devices = [torch.device("cpu")]
    if torch.cuda.is_available() and not args.no_cuda:
        devices.append(torch.device("cuda"))
    rows = []
    info = machine_info()  # before the runs: its load average is the one at the start
    from softfit import _C

    info["cpu_kernel_isa"] = _C.cpu_kernel_isa()
    started = time.perf_counter()
    for device in devices:
        dev_cases = list(cases)
        if device.type == "cuda":
            dev_cases += [(3264, 1024, 1), (20480, 1024, 1)]  # SoftRas' 1024² / ~3.3k-face figure
        for nfaces, size, views in dev_cases:
            row = run_case(nfaces, size, views, device, args)
            c = row["compiled"]
            dense = f", dense fwd+bwd {_ms(row['dense']['forward_backward_s'])} ms" if "dense" in row else ""
            scaling = f", 1→{row['threads']} threads {row['scaling_forward_backward']:.2f}×" if (
                "scaling_forward_backward" in row) else ""
            print(
                f"{device.type} {nfaces:>6} faces {size:>4}² x{views}: fwd {_ms(c['forward_s'])} ms, "
                f"fwd+bwd {_ms(c['forward_backward_s'])} ms{scaling}{dense} (load {row['load_1min']})",
                flush=True,
            )
            rows.append(row)
    fit_faces, fit_size = (2000, 64) if args.quick else (args.fit_faces, args.fit_size)
    steps = fit_step_rows(args.fit_data, fit_faces, fit_size, max(args.repeats, 1),
                          (1e-4,) if args.quick else (1e-4, 1e-5, 1e-6))
    for st in steps:
        ratio = f", {st['speedup_vs_generic']:.2f}× vs generic kernels" if "speedup_vs_generic" in st else ""
        wall, cpu = st[st["isa"] + "_wall_s"], st[st["isa"] + "_cpu_s"]
        print(f"fit step {st['faces']} faces {st['size']}² σ {st['sigma']:g}: {_ms(wall)} ms "
              f"({_ms(cpu)} CPU ms){ratio}", flush=True)
    info["load_average_at_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    info["duration_s"] = round(time.perf_counter() - started)
    command = " ".join(["softfit bench raster", *_non_default_flags(args)])
    out = args.out or repo_root() / "benchmarks"
    out.mkdir(parents=True, exist_ok=True)
    (out / "raster.json").write_text(
        json.dumps({"machine": info, "command": command, "sigma": SIGMA, "rows": rows, "fit_step": steps},
                   indent=2) + "\n"
    )
    (out / "raster.md").write_text(markdown(rows, info, command, steps))
    print(f"wrote {out / 'raster.json'} and {out / 'raster.md'}", file=sys.stderr)
    return 0

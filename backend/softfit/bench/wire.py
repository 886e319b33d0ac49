"""`softfit bench wire`: the ZeroMQ service over localhost, measured against its own baselines in one run.

1. Round-trip latency: `Client.ping` against a `softfit serve` process (median and 99th percentile).
2. Vertex-frame throughput for 1 k / 10 k / 100 k-vertex meshes: a server process whose worker emits
   frames as fast as it can (a synthetic frame source in place of the fit, so that the wire is what is
   measured), and one client pulling them with blocking polls. Reported: frames and MB per second
   received, the ratio to the frames produced (latest-only: the rest were skipped, not queued), and the
   age of a frame when it arrives.
3. Fit overhead: the same fit and finishing step (the repair every server job runs,
   `server.finishing`) called directly in this process and submitted to the `softfit serve` process
   (both one torch thread, frames streamed); the ratio wire / direct.

Writes benchmarks/wire.json and benchmarks/wire.md; the hardening section (softfit.bench.wire_hardening:
bursts before authentication, a vanished client, 50 000 fuzzed messages) writes wire_hardening.json/.md."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np

from softfit.bench import machine_info, repo_root

FRAME_SIZES = (1_000, 10_000, 100_000)
SOURCE_CODE = "from softfit.bench.wire import frame_source_main; frame_source_main()"


# ---------------------------------------------------------------------------------------------------
# The synthetic frame source (runs in its own process)


def _frame_source(data, init, params, callback=None, cancel=None, pinned=None):
    """Stands in for `softfit.fit.fit`: emits vertex frames as fast as the worker can until cancelled.
    `elapsed` carries the producer's monotonic clock so the client can age each frame."""
    verts = np.asarray(init.verts, dtype=np.float32).copy()
    i = 0
    while not cancel.is_set() and i < params.iterations:
        verts[i % len(verts)] += 1e-3
        callback(types.SimpleNamespace(iteration=i, iterations=params.iterations, loss=0.0, iou=0.0,
                                       elapsed=time.monotonic(), terms={}, verts=verts))
        i += 1
        time.sleep(0)  # let the socket loop take the GIL between frames
    return types.SimpleNamespace(mesh=init, metrics={"frames_produced": i}, cancelled=bool(cancel.is_set()))


def frame_source_main() -> None:
    from softfit.server import ServeConfig, Server

    server = Server(ServeConfig(parent_pid=os.getppid()), fit_fn=_frame_source,
                    device=("cpu", "synthetic frame source"))
    print(json.dumps(server.announcement()), flush=True)
    server.serve_forever()


# ---------------------------------------------------------------------------------------------------
# Measurements


def _scene(n_verts: int, size: int = 8) -> dict:
    """A minimal valid request around a mesh of n_verts vertices (the frame source ignores the views)."""
    from softfit.cameras import transforms_dict, turntable

    rng = np.random.default_rng(0)
    cams = turntable([0.0], width=size, height=size)
    return {"silhouettes": np.ones((1, size, size), np.float32), "images": None,
            "transforms": transforms_dict(cams, ["v0"]), "verts": rng.random((n_verts, 3)),
            "faces": np.array([[0, 1, 2]]), "params": {"iterations": 10**9, "plateau_patience": 0}}


def measure_pings(client, n: int) -> dict:
    for _ in range(min(50, n)):
        client.ping()
    rtts = sorted(client.ping() for _ in range(n))
    return {"pings": n, "median_ms": 1e3 * statistics.median(rtts), "p99_ms": 1e3 * rtts[int(0.99 * (n - 1))]}


def measure_frames(client, n_verts: int, duration: float) -> dict:
    from softfit.wire import Progress, Result, VertexFrame

    job = client.submit(**_scene(n_verts))
    frames, ages, t0, last, produced, cancelled = 0, [], None, None, 0, False
    for ev in client.events(job, timeout=duration + 60):
        now = time.monotonic()
        if isinstance(ev, VertexFrame):
            t0 = now if t0 is None else t0
            frames, last = frames + 1, now
            if now - t0 >= duration and not cancelled:
                client.cancel(job)
                cancelled = True
        elif isinstance(ev, Progress):
            ages.append(now - ev.elapsed)  # the source's monotonic clock: same machine, same clock
        elif isinstance(ev, Result):
            produced = int(ev.metrics.get("frames_produced", 0))
    span = max((last or 0) - (t0 or 0), 1e-9)
    rate = (frames - 1) / span
    mb = rate * n_verts * 12 / 1e6
    return {"verts": n_verts, "frames": frames, "seconds": span, "frames_per_s": rate, "mb_per_s": mb,
            "frames_produced": produced, "delivered_fraction": frames / max(produced, 1),
            "age_median_ms": 1e3 * statistics.median(ages) if ages else None}


def fit_case(views: int, size: int, iterations: int):
    """A real fit: an ellipsoid's hard silhouettes from a sphere of about 2 000 faces."""
    from softfit.cameras import transforms_dict, turntable
    from softfit.data.types import MultiViewData
    from softfit.mesh.sphere import uv_sphere
    from softfit.mesh.types import Mesh
    from softfit.metrics import render_silhouettes

    s = uv_sphere(4000, 0.5)
    target = Mesh(s.verts * np.array([1.3, 0.8, 1.0]), s.faces)
    cams = turntable(np.arange(views) * 360.0 / views, elevation_deg=20.0, width=size, height=size)
    sil = render_silhouettes(target, cams)
    data = MultiViewData(sil, cams, [f"v{i}" for i in range(views)])
    params = {"iterations": iterations, "resolutions": [[0.0, 0]], "plateau_patience": 0, "seed": 0}
    return data, uv_sphere(2000, 0.5), params, transforms_dict(cams, data.names)


def process_cpu(pid: int) -> float | None:
    """User + system CPU seconds of another process (Linux /proc), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def measure_fit(client, server_pid: int, views: int, size: int, iterations: int, repeats: int) -> dict:
    import torch

    from softfit.fit import FitParams, fit
    from softfit.server.finishing import finish_result
    from softfit.wire import Result, VertexFrame

    data, init, params, transforms = fit_case(views, size, iterations)
    torch.set_num_threads(1)

    def direct() -> tuple[float, float, np.ndarray]:
        t, c = time.perf_counter(), time.process_time()
        p = FitParams.from_dict(params)
        r = fit(data, init, p)
        finish_result(r, data, p, texture=True)  # what a server job does after the fit
        return time.perf_counter() - t, time.process_time() - c, r.mesh.verts

    def wire() -> tuple[float, float | None, np.ndarray, int]:
        t, c, s = time.perf_counter(), time.process_time(), process_cpu(server_pid)
        job = client.submit(data.silhouettes, None, transforms, init.verts, init.faces, params)
        frames, result = 0, None
        for ev in client.events(job, timeout=600):
            if isinstance(ev, VertexFrame):
                frames += 1
            elif isinstance(ev, Result):
                result = ev.verts
        s1 = process_cpu(server_pid)
        cpu = None if s is None or s1 is None else s1 - s + time.process_time() - c
        return time.perf_counter() - t, cpu, result, frames

    direct()  # warm-up (first use of the kernels) on both sides
    wire()
    rows = []
    for _ in range(repeats):  # interleaved, so that changing load on the machine hits both alike
        rows.append((*direct(), *wire()))
    med = {k: statistics.median(r[i] for r in rows) for i, k in ((0, "direct_s"), (1, "direct_cpu_s"),
                                                                  (3, "wire_s"), (6, "frames"))}
    wire_cpu = [r[4] for r in rows if r[4] is not None]
    med["wire_cpu_s"] = statistics.median(wire_cpu) if wire_cpu else None
    return {"views": views, "size": size, "iterations": iterations, "verts": init.n_verts,
            "faces": init.n_faces, "repeats": repeats, "direct_s": med["direct_s"], "wire_s": med["wire_s"],
            "ratio": med["wire_s"] / med["direct_s"], "direct_cpu_s": med["direct_cpu_s"],
            "wire_cpu_s": med["wire_cpu_s"],
            "cpu_ratio": None if med["wire_cpu_s"] is None else med["wire_cpu_s"] / med["direct_cpu_s"],
            "frames_streamed": med["frames"],
            "max_vertex_difference": max(float(np.abs(r[2] - r[5]).max()) for r in rows)}


# ---------------------------------------------------------------------------------------------------
# Report


def markdown(res: dict, info: dict, command: str) -> str:
    p, f = res["ping"], res["fit"]
    lines = [
        "# Wire benchmark (`softfit bench wire`)", "",
        f"Regenerate: `{command}`", "",
        "Machine: " + ", ".join(f"{k} {v}" for k, v in info.items()), "",
        "## Round trip (ping to `softfit serve` over its default local transport: ipc:// on POSIX, else "
        "127.0.0.1)", "",
        "| pings | median | p99 |", "|---:|---:|---:|",
        f"| {p['pings']} | {p['median_ms']:.3f} ms | {p['p99_ms']:.3f} ms |", "",
        "## Vertex frames (latest-only, one client pulling as fast as it can)", "",
        "A synthetic source emits frames as fast as the server's worker can (in place of a fit), so the",
        "wire is what is measured. *delivered* = frames received / frames produced: the rest were",
        "superseded by newer frames before the client asked, never queued. *age* = time from the",
        "producer's callback to the client's hands.", "",
        "| vertices | frame size | frames/s received | MB/s | delivered | median age |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in res["frames"]:
        age = f"{r['age_median_ms']:.2f} ms" if r["age_median_ms"] is not None else "–"
        lines.append(f"| {r['verts']:,} | {r['verts'] * 12 / 1e3:,.0f} kB | {r['frames_per_s']:,.0f} | "
                     f"{r['mb_per_s']:,.0f} | {r['delivered_fraction']:.2f} | {age} |")
    lines += [
        "", "## A fit and its finishing step (repair) over the wire versus the direct call "
            "(same run, one torch thread each)", "",
        f"{f['views']} views of {f['size']}², sphere of {f['verts']} vertices / {f['faces']} faces, "
        f"{f['iterations']} iterations, frames streamed; median of {f['repeats']}.", "",
        "CPU time counts the server process and the client together for the wire (Linux /proc), so",
        "it also shows the cost of the protocol when other work on the machine makes wall times noisy.", "",
        "| | direct | over the wire | ratio |", "|---|---:|---:|---:|",
        f"| wall time | {f['direct_s']:.2f} s | {f['wire_s']:.2f} s | {f['ratio']:.3f} |",
        f"| CPU time | {f['direct_cpu_s']:.2f} s | {_s(f['wire_cpu_s'])} | {_r(f['cpu_ratio'])} |", "",
        f"Frames streamed per fit: {f['frames_streamed']:.0f}; largest vertex difference between the two "
        f"results: {f['max_vertex_difference']:.1e}.", "",
    ]
    return "\n".join(lines)


def _s(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f} s"


def _r(x: float | None) -> str:
    return "–" if x is None else f"{x:.3f}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pings", type=int, default=2000, help="round trips timed")
    parser.add_argument("--duration", type=float, default=3.0, help="seconds of frames per mesh size")
    parser.add_argument("--fit-views", type=int, default=8)
    parser.add_argument("--fit-size", type=int, default=96)
    parser.add_argument("--fit-iterations", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5, help="fit timings (median)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: <repo>/benchmarks)")
    parser.add_argument("--only", choices=("all", "speed", "hardening"), default="all",
                        help="speed: sections 1-3 (wire.md); hardening: bursts before authentication, a "
                        "vanished client, fuzz (wire_hardening.md)")
    parser.add_argument("--fuzz-messages", type=int, default=50_000)
    parser.add_argument("--cancel-repeats", type=int, default=5)


def run(args: argparse.Namespace) -> int:
    out = args.out or repo_root() / "benchmarks"
    if args.only in ("all", "hardening"):
        from softfit.bench import wire_hardening

        command = "softfit bench wire --only hardening" + "".join(
            f" --{k.replace('_', '-')} {v}" for k, v in vars(args).items()
            if k in ("fuzz_messages", "cancel_repeats") and v != _defaults()[k])
        wire_hardening.run(out, args.fuzz_messages, args.cancel_repeats, command)
    if args.only == "hardening":
        return 0
    from softfit.wire import Client
    from softfit.wire.launcher import launch_local_backend

    res: dict = {}
    backend = launch_local_backend(sys.executable, ["--threads", "1"], timeout=180)
    source = subprocess.Popen([sys.executable, "-c", SOURCE_CODE], stdout=subprocess.PIPE, text=True)
    try:
        with backend.client(timeout=30) as c:
            res["server"] = c.handshake()
            res["ping"] = measure_pings(c, args.pings)
            print(f"ping: median {res['ping']['median_ms']:.3f} ms, p99 {res['ping']['p99_ms']:.3f} ms")
            res["fit"] = f = measure_fit(c, backend.process.pid, args.fit_views, args.fit_size,
                                         args.fit_iterations, args.repeats)
            print(f"fit: direct {f['direct_s']:.2f} s, wire {f['wire_s']:.2f} s, ratio {f['ratio']:.3f}; "
                  f"CPU ratio {f['cpu_ratio']}")
        info = json.loads(source.stdout.readline())
        res["frames"] = []
        with Client(info["address"], info["token"], timeout=30) as c:
            for n in FRAME_SIZES:
                r = measure_frames(c, n, args.duration)
                res["frames"].append(r)
                print(f"frames {n:>7,} verts: {r['frames_per_s']:,.0f}/s, {r['mb_per_s']:,.0f} MB/s, "
                      f"delivered {r['delivered_fraction']:.2f}")
    finally:
        source.terminate()
        source.wait(10)
        backend.stop()
    info = machine_info()
    info["load_average_1min_at_end"] = round(os.getloadavg()[0], 2)  # other work skews every figure here
    command = "softfit bench wire" + "".join(
        f" --{k.replace('_', '-')} {v}" for k, v in vars(args).items()
        if k in ("pings", "duration", "fit_views", "fit_size", "fit_iterations", "repeats")
        and v != _defaults()[k])
    out.mkdir(parents=True, exist_ok=True)
    (out / "wire.json").write_text(json.dumps({"machine": info, "command": command, **res}, indent=2) + "\n")
    (out / "wire.md").write_text(markdown(res, info, command))
    print(f"wrote {out / 'wire.json'} and {out / 'wire.md'}")
    return 0


def _defaults() -> dict:
    p = argparse.ArgumentParser()
    add_arguments(p)
    return vars(p.parse_args([]))

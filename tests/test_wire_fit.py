"""Real fits over real sockets: a `softfit serve` process on 127.0.0.1, small scenes, 30 iterations."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
from wire_support import LONG, PARAMS, SIZE, direct_fit, scene, shared_backend, submit

from softfit.wire import JobError, Progress, Queued, RequestRejected, Result, VertexFrame


@pytest.fixture
def backend():
    return shared_backend()


def test_wire_fit_equals_direct_fit_and_streams(backend):
    sc = scene()
    want = direct_fit(sc, PARAMS)
    with backend.client() as c:
        info = c.handshake()
        assert info["protocol"] == 1 and info["device"] == "cpu" and info["limits"]["max_vertices"] > 0
        job = submit(c, sc, PARAMS)
        events = list(c.events(job, timeout=120))
    progress = [e for e in events if isinstance(e, Progress)]
    frames = [e for e in events if isinstance(e, VertexFrame)]
    result = events[-1]
    assert isinstance(result, Result) and not result.cancelled
    assert progress and frames, "progress and vertex frames must stream during the fit"
    assert [p.iteration for p in progress] == sorted({p.iteration for p in progress})
    assert progress[-1].iteration == PARAMS["iterations"] - 1
    assert frames[0].verts.shape == sc.init.verts.shape and frames[0].verts.dtype == np.float32
    np.testing.assert_array_equal(result.faces, sc.init.faces)
    np.testing.assert_allclose(result.verts, want.mesh.verts, rtol=0, atol=1e-6)
    assert result.metrics["train_iou"] == pytest.approx(want.metrics["train_iou"], abs=1e-6)
    assert result.metrics["train_iou"] > 0.7  # it really fitted the ellipsoid
    # the last streamed frame is the mesh after the last streamed iteration (float32)
    if frames[-1].iteration == PARAMS["iterations"] - 1:
        np.testing.assert_allclose(frames[-1].verts, result.verts, atol=1e-6)


def test_cancel_stops_the_job_within_a_second(backend):
    sc = scene()
    with backend.client() as c:
        job = submit(c, sc, LONG)
        while not any(isinstance(e, Progress) for e in c.poll(job, timeout=5.0)):
            pass
        t0 = time.monotonic()
        c.cancel(job)
        result = c.wait(job, timeout=30)
        elapsed = time.monotonic() - t0
    assert result.cancelled and result.metrics["stop_reason"] == "cancelled"
    assert 0 < result.metrics["iterations"] < LONG["iterations"]
    assert elapsed < 1.0, f"cancel took {elapsed:.2f} s"


def test_cancel_of_a_queued_job_is_a_job_error(backend):
    sc = scene()
    with backend.client() as c:
        running = [submit(c, sc, LONG) for _ in range(2)]  # fill both workers
        for j in running:  # and wait until both have started
            while not any(isinstance(e, Progress) for e in c.poll(j, timeout=5.0)):
                pass
        queued = submit(c, sc, LONG)
        assert c.poll(queued, timeout=5.0) == [Queued(0)]
        c.cancel(queued)
        events = list(c.events(queued, timeout=10))
        for j in running:
            c.cancel(j)
            assert c.wait(j, timeout=10).cancelled
    assert isinstance(events[-1], JobError) and events[-1].code == "cancelled"


def test_eight_concurrent_clients_get_their_own_results(backend):
    scenes = [scene(1.0 + 0.1 * i, 0.8, 1.0 - 0.05 * i) for i in range(8)]
    params = [dict(PARAMS, seed=i) for i in range(8)]
    results: list = [None] * 8
    errors: list = []

    def one(i: int) -> None:
        try:
            with backend.client(timeout=20) as c:
                results[i] = c.wait(submit(c, scenes[i], params[i]), timeout=180)
        except Exception as exc:  # reported below, with the client's index
            errors.append((i, exc))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(240)
    assert not errors, errors
    for i in range(8):
        want = direct_fit(scenes[i], params[i])
        np.testing.assert_allclose(results[i].verts, want.mesh.verts, atol=1e-6, err_msg=f"client {i}")
    assert len({round(float(r.verts[:, 0].max()), 4) for r in results}) == 8  # 8 different meshes


CLIENT_SCRIPT = textwrap.dedent("""
    import json, sys, time
    import numpy as np
    from softfit.wire import Client, Progress
    address, token, data = sys.argv[1], sys.argv[2], np.load(sys.argv[3])
    transforms, params = json.loads(sys.argv[4]), json.loads(sys.argv[5])
    c = Client(address, token)
    jobs = [c.submit(data["sil"], None, transforms, data["verts"], data["faces"], params) for _ in range(2)]
    for j in jobs:
        while not any(isinstance(e, Progress) for e in c.poll(j, timeout=5.0)):
            pass
    print("running", flush=True)
    time.sleep(600)
""")


def test_killed_client_gets_its_jobs_cancelled_and_the_next_client_is_served(backend, tmp_path):
    import json

    sc = scene()
    np.savez(tmp_path / "scene.npz", sil=sc.silhouettes, verts=sc.init.verts, faces=sc.init.faces)
    proc = subprocess.Popen([sys.executable, "-c", CLIENT_SCRIPT, backend.address, backend.token,
                             str(tmp_path / "scene.npz"), json.dumps(sc.transforms), json.dumps(LONG)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "running"  # both workers busy with its endless jobs
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    with backend.client() as c:
        result = c.wait(submit(c, sc, PARAMS), timeout=120)
    assert not result.cancelled and result.metrics["iterations"] == PARAMS["iterations"]
    assert "cancelling its 2 job(s)" in backend.log_tail(20000)


def test_finished_fit_of_colour_images_comes_back_repaired_and_textured(backend):
    """What `softfit fit` writes, a client gets: the finishing step runs on the server, and the texture
    travels as per-corner UVs and an sRGB image (no files, no pickle)."""
    sc = scene()
    colour = np.array([200, 60, 30], np.uint8)
    alpha = (sc.silhouettes > 0.5).astype(np.uint8) * 255
    rgba = np.concatenate([np.broadcast_to(colour, (*alpha.shape, 3)), alpha[..., None]], axis=-1)
    with backend.client() as c:
        textured = c.wait(c.submit(None, np.ascontiguousarray(rgba), sc.transforms, sc.init.verts,
                                   sc.init.faces, PARAMS), timeout=120)
        plain = c.wait(c.submit(None, np.ascontiguousarray(rgba), sc.transforms, sc.init.verts,
                                sc.init.faces, PARAMS, texture=False), timeout=120)
    assert isinstance(textured, Result) and textured.uv is not None and textured.texture is not None
    assert textured.uv.shape == (len(textured.faces), 3, 2) and textured.uv.dtype == np.float32
    assert textured.uv.min() >= 0.0 and textured.uv.max() <= 1.0
    h, w, three = textured.texture.shape
    assert three == 3 and h > 8 and w > 8 and textured.texture.dtype == np.uint8
    # every texel is the object's colour: seen ones from the photos, the rest filled from neighbours
    assert np.abs(np.median(textured.texture.reshape(-1, 3), axis=0) - colour).max() <= 6
    assert textured.metrics["texture"]["baked_from"] == "training views"
    assert textured.metrics["topology"]["after"]["ok"], "the mesh was checked (and repaired) as for the CLI"
    assert plain.uv is None and plain.texture is None and "skipped" in plain.metrics["texture"]
    assert "refine" not in textured.metrics["texture"]  # refinement is asked for, never the default


def test_a_client_can_ask_for_the_texture_refined_against_the_photos(backend):
    """`texture_refine` does on the server what `softfit fit --texture-refine` does (the add-on's Refine
    Texture): the bake is refined by differentiable rendering against the training photos."""
    sc = scene()
    rng = np.random.default_rng(0)
    alpha = (sc.silhouettes > 0.5).astype(np.uint8)[..., None] * 255
    colour = np.clip(np.array([180, 90, 60]) + rng.normal(0, 20, (*alpha.shape[:3], 3)), 0, 255)
    rgba = np.ascontiguousarray(np.concatenate([colour.astype(np.uint8), alpha], axis=-1))
    with backend.client() as c:
        r = c.wait(c.submit(None, rgba, sc.transforms, sc.init.verts, sc.init.faces, PARAMS,
                            texture_refine=True), timeout=120)
    refine = r.metrics["texture"]["refine"]
    assert refine["steps"] > 0 and refine["loss_after"] < refine["loss_before"]
    assert r.texture is not None and r.uv is not None


def _rgba(silhouettes: np.ndarray, colour: np.ndarray) -> np.ndarray:
    alpha = (silhouettes > 0.5).astype(np.uint8) * 255
    return np.ascontiguousarray(np.concatenate([np.broadcast_to(colour, (*alpha.shape, 3)), alpha[..., None]],
                                               axis=-1))


def test_the_texture_is_baked_from_the_larger_photos_a_client_sends(backend):
    """The add-on sends the views at the working size and, for the texture, the same views at up to
    PHOTO_SIZE (as `softfit fit` reads its photos again): the bake uses those, with the cameras scaled."""
    from softfit.metrics import render_silhouettes

    sc = scene()
    colour = np.array([40, 170, 90], np.uint8)
    small = _rgba(sc.silhouettes, colour)
    big = _rgba(render_silhouettes(sc.target, sc.cameras.resized(4 * SIZE, 4 * SIZE)), colour)
    with backend.client() as c:
        sharp = c.wait(c.submit(None, small, sc.transforms, sc.init.verts, sc.init.faces, PARAMS, photos=big),
                       timeout=120)
        plain = c.wait(c.submit(None, small, sc.transforms, sc.init.verts, sc.init.faces, PARAMS),
                       timeout=120)
        rgb = c.wait(c.submit(None, small, sc.transforms, sc.init.verts, sc.init.faces, PARAMS,
                              photos=np.ascontiguousarray(big[..., :3])), timeout=120)
        with pytest.raises(RequestRejected, match="at a larger size"):  # the client's own check
            c.submit(None, small, sc.transforms, sc.init.verts, sc.init.faces, PARAMS, photos=big[:3])
        with pytest.raises(RequestRejected, match="need the colour 'images'"):
            c.submit(sc.silhouettes, None, sc.transforms, sc.init.verts, sc.init.faces, PARAMS, photos=big)
        with pytest.raises(RequestRejected, match="another aspect ratio"):  # the server's check
            c.submit(None, small, sc.transforms, sc.init.verts, sc.init.faces, PARAMS,
                     photos=np.ascontiguousarray(big[:, :, 16:]))
    t, p = sharp.metrics["texture"], plain.metrics["texture"]
    assert t["photo_size"] == [4 * SIZE, 4 * SIZE] and p["photo_size"] == [SIZE, SIZE]
    assert rgb.metrics["texture"]["photo_size"] == [4 * SIZE, 4 * SIZE]  # RGB: the masks upsampled
    assert t["texel"] < 0.5 * p["texel"]  # the texel follows the photos' pixel footprint
    area = [r.texture.shape[0] * r.texture.shape[1] for r in (sharp, plain)]
    assert area[0] > 2 * area[1]
    for r in (sharp, rgb):  # the object's colour, from the photos' pixels inside its silhouette
        assert np.abs(np.median(r.texture.reshape(-1, 3), axis=0) - colour).max() <= 6
    np.testing.assert_array_equal(sharp.verts, plain.verts)  # the fit itself saw the same views


def test_remeshing_fit_streams_new_faces_once_per_topology(backend):
    """A fit that remeshes ("remesh": "on") over the real socket: the first frame of each new topology
    carries its faces, the frames after it do not (faces travel once per remeshing), every frame's vertex
    count matches the faces the client holds, and the result has the last topology's faces."""
    sc = scene()
    params = dict(PARAMS, iterations=40, resolutions=[[0.0, 24], [0.5, 0]], remesh="on")
    with backend.client() as c:
        job = submit(c, sc, params)
        events = list(c.events(job, timeout=120))
    frames = [e for e in events if isinstance(e, VertexFrame)]
    result = events[-1]
    assert isinstance(result, Result) and not result.cancelled
    steps = result.metrics["remesh"]["steps"]
    assert result.metrics["remesh"]["enabled"] and len(steps) >= 3
    with_faces = [f for f in frames if f.faces is not None]
    assert with_faces, "a remeshed topology must reach the client with its faces"
    assert [f.topology for f in with_faces] == sorted({f.topology for f in with_faces})  # once each
    faces = sc.init.faces
    for f in frames:
        if f.faces is not None:
            faces = f.faces
        assert f.faces is None or f.topology > 0
        assert faces.max() == len(f.verts) - 1, "every frame must fit the faces the client holds"
    assert len(result.faces) != len(sc.init.faces)
    repaired = result.metrics["topology"]["steps"]  # the finishing step may merge, drop or flip faces
    if frames[-1].topology == with_faces[-1].topology and not any(repaired.values()):
        np.testing.assert_array_equal(result.faces, with_faces[-1].faces)


def test_a_fit_of_silhouettes_that_leave_the_frame_comes_back_warned(backend):
    """Over the wire as on the CLI: silhouettes cut off by the frame's bottom edge in every view (the same
    cameras, the image ending at row 26) fit, and the result's metrics carry the warning the add-on shows."""
    from dataclasses import replace

    from softfit.cameras import transforms_dict

    sc = scene()
    h = 26
    cams = replace(sc.cameras, height=h)
    sil = np.ascontiguousarray(sc.silhouettes[:, :h])
    assert (sil[:, -1] >= 0.5).any(1).all()
    tr = transforms_dict(cams, [f"view_{i:02d}.png" for i in range(len(sil))])
    with backend.client() as c:
        c.handshake()
        job = c.submit(sil, None, tr, sc.init.verts, sc.init.faces, PARAMS)
        result = list(c.events(job, timeout=120))[-1]
    assert isinstance(result, Result) and not result.cancelled
    warnings = result.metrics.get("silhouette_warnings")
    assert warnings and f"reach the image border in {len(sil)} of {len(sil)} views" in warnings[0], warnings
    with backend.client() as c:  # the whole object in view: no such warning
        c.handshake()
        whole = list(c.events(submit(c, sc, PARAMS), timeout=120))[-1]
    assert "silhouette_warnings" not in whole.metrics

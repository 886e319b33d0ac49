"""Wire hardening (issue 13): memory bounded before authentication, a vanished client's job cancelled by
the connection heartbeat, fair sharing of the workers between clients. Real `softfit serve` processes;
sizes are small here (`softfit bench wire` runs the 3.2 GB burst and times the figures)."""

from __future__ import annotations

import datetime
import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import zmq
from wire_support import LONG, PARAMS, launch, raw_dealer, rss_kb, scene, submit

from softfit.server.jobs import FairQueue, Job
from softfit.wire import Client, Progress, Queued
from softfit.wire.protocol import MAGIC


@pytest.fixture(scope="module")
def one_worker():
    """One worker, a long silence timeout (so only the connection heartbeat can cancel quickly), small
    messages (1 MiB) so that bursts stay cheap."""
    backend = launch("--workers", "1", "--client-timeout", "30", "--max-message-mb", "1")
    yield backend
    backend.stop()


def test_unauthenticated_burst_is_refused_before_it_is_buffered(one_worker):
    """Peers without the token's credential are refused in ZeroMQ's handshake, so their multipart
    messages never reach the server's buffers; an authenticated peer's oversized frame drops its own
    connection. Meanwhile a well-behaved client is served."""
    pid = one_worker.process.pid
    ctx = zmq.Context()
    good = Client(one_worker.address, one_worker.token, timeout=10)
    try:
        good.ping()
        before = rss_kb(pid)
        frame = b"\0" * (1 << 20)  # one shared buffer: the attacker's cost stays small too
        attackers = [raw_dealer(ctx, one_worker.address, None) for _ in range(2)]
        sent = [0] * len(attackers)
        for k, a in enumerate(attackers):
            for _ in range(8):  # 8 messages x 4 frames x 1 MiB per attacker
                try:
                    a.send_multipart([MAGIC, b"", frame, frame, frame, frame], copy=False)
                except zmq.Again:  # refused before it could queue them all: left with nowhere to send
                    break
                sent[k] += 1
        assert min(sent) >= 1, sent  # each queued at least one burst on its first connection
        insider = raw_dealer(ctx, one_worker.address, one_worker.token, 1000)
        insider.send_multipart([MAGIC, b"", b"{}", frame + frame], copy=False)  # frame over MAXMSGSIZE
        rtts = [good.ping() for _ in range(50)]
        time.sleep(1.0)  # reconnect attempts keep failing in the handshake
        rtts += [good.ping() for _ in range(50)]
        with pytest.raises(zmq.Again):
            insider.recv_multipart()  # dropped, not answered
        growth_mb = (rss_kb(pid) - before) / 1024
    finally:
        good.close()
        ctx.destroy(linger=0)
    assert one_worker.process.poll() is None
    # 64 MiB were sent unauthenticated; had the server buffered them, it would have grown by as much
    assert growth_mb < 16, f"server RSS grew by {growth_mb:.1f} MB"
    assert max(rtts) < 5.0


CLIENT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {tests!r})
    from wire_support import LONG, scene, submit
    from softfit.wire import Client, Progress
    c = Client({address!r}, {token!r}, timeout=10)
    job = submit(c, scene(), LONG)
    while not any(isinstance(e, Progress) for e in c.poll(job, timeout=5.0)):
        pass
    print("running", flush=True)
    sys.stdin.read()  # until killed
""")


def _log_time(line: str) -> float:
    stamp = re.search(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})", line).group(1)
    return datetime.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp()


def test_a_vanished_clients_job_is_cancelled_by_the_heartbeat(one_worker):
    """A client killed mid-fit: the server notices its connection is gone and cancels its job well before
    the 30 s silence timeout, and the next client's queued job starts."""
    code = CLIENT.format(tests=os.path.dirname(__file__), address=one_worker.address, token=one_worker.token)
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline().strip() == "running"
        with Client(one_worker.address, one_worker.token, timeout=10) as other:
            job = submit(other, scene(), PARAMS)
            assert other.poll(job, timeout=5.0) == [Queued(0)]  # behind the vanishing client's fit
            killed = time.time()
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            t0 = time.monotonic()
            while not any(isinstance(e, Progress) for e in other.poll(job, timeout=1.0)):
                assert time.monotonic() - t0 < 20, "the queued job never started"
            other.wait(job, timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    lines = [ln for ln in one_worker.log_tail(20000).splitlines() if "lost its connection" in ln]
    assert lines, one_worker.log_tail()
    latency = _log_time(lines[-1]) - killed
    print(f"cancelled {latency:.2f} s after the client was killed")
    assert latency < 2.0, f"cancelled {latency:.2f} s after the kill"


def test_one_client_cannot_starve_another(one_worker):
    """With one worker busy, a client that queued two more jobs does not hold back another client's job:
    the next to start is the job of the client with fewer jobs running."""
    sc = scene()
    with Client(one_worker.address, one_worker.token, timeout=10) as greedy, \
            Client(one_worker.address, one_worker.token, timeout=10) as modest:
        first = submit(greedy, sc, LONG)
        while not any(isinstance(e, Progress) for e in greedy.poll(first, timeout=5.0)):
            pass
        more = [submit(greedy, sc, LONG) for _ in range(2)]
        mine = submit(modest, sc, PARAMS)
        greedy.cancel(first)
        t0 = time.monotonic()
        while not any(isinstance(e, Progress) for e in modest.poll(mine, timeout=1.0)):
            assert time.monotonic() - t0 < 20
        for j in more:  # the greedy client's older jobs are still waiting
            assert not any(isinstance(e, Progress) for e in greedy.poll(j, 0.2))
        for j in more:
            greedy.cancel(j)
        assert modest.wait(mine, timeout=120).metrics["iterations"] == PARAMS["iterations"]


def test_fair_queue_takes_turns_between_sessions():
    q = FairQueue()
    jobs = [Job(f"{s}{i}", s, None, order) for order, (s, i) in
            enumerate([("a", 1), ("a", 2), ("a", 3), ("b", 1), ("c", 1), ("b", 2)])]
    for j in jobs:
        q.put(j)
    first = q.get()
    assert first.id == "a1"  # the oldest job; a now has one running
    second, third = q.get(), q.get()
    assert (second.id, third.id) == ("b1", "c1")  # sessions with nothing running go first, oldest first
    q.done(first)
    assert q.get().id == "a2"  # a, b and c each run one: a was served longest ago
    q.done(second)
    assert q.get().id == "b2"
    q.close()
    assert q.get() is None
    # a client served a moment ago waits behind one that has not been served, whatever the ages
    q = FairQueue()
    a1 = Job("a1", "a", None, 1)
    q.put(a1)
    assert q.get() is a1
    for j in (Job("a2", "a", None, 2), Job("a3", "a", None, 3), Job("b1", "b", None, 4)):
        q.put(j)
    q.done(a1)
    assert [q.get().id for _ in range(3)] == ["b1", "a2", "a3"]


def test_heartbeats_reach_clients_that_own_jobs_and_are_ignored(one_worker):
    """The server's probes are plain signed `heartbeat` messages without reply_to; a raw client sees them
    while it owns an unfinished job, and the library client drops them silently."""
    from softfit.wire.messages import REPLIES
    from softfit.wire.protocol import Limits, Message, decode, encode

    sc = scene()
    key = one_worker.token.encode()
    ctx = zmq.Context()
    sock = raw_dealer(ctx, one_worker.address, one_worker.token, 5000)
    try:
        arrays = {"silhouettes": sc.silhouettes, "verts": sc.init.verts, "faces": np.asarray(sc.init.faces)}
        msg = Message("submit", {"transforms": sc.transforms, "params": LONG}, arrays, session="hbtest",
                      job="hb1")
        sock.send_multipart(encode(msg, key))
        got = [decode(sock.recv_multipart(), key, REPLIES, Limits()) for _ in range(4)]
        assert got[0].type == "accepted"
        beats = [m for m in got[1:] if m.type == "heartbeat"]
        assert beats and all(m.reply_to is None for m in beats)
        sock.send_multipart(encode(Message("release", session="hbtest", job="hb1"), key))
    finally:
        sock.close(linger=0)
        ctx.term()

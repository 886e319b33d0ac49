"""Fuzzing the server with 10 000 malformed multipart messages from a seeded generator
(softfit.bench.wire_fuzz), sent over two connections with large and multi-frame payloads and signed pings
replayed on either connection: each gets the expected reply, the server keeps serving (ping), and its
memory does not keep growing. Then concurrent fuzzing connections beside a well-behaved client.
`softfit bench wire` sends 50 000."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import zmq
from wire_support import launch, rss_kb

from softfit.bench.wire_fuzz import EXPECTED_CODES, MAX_MESSAGE, Fuzzer, dealer, reply_code, run_fuzz
from softfit.wire import Client

MESSAGES = 10_000


@pytest.fixture(scope="module")
def backend():
    b = launch("--max-message-mb", str(MAX_MESSAGE >> 20), "--workers", "1")
    yield b
    b.stop()


def test_fuzzed_messages_each_get_an_error_and_the_server_survives(backend):
    pid = backend.process.pid
    rss: list[int] = []

    def sample(sent: int) -> None:
        if sent in (2000, MESSAGES):  # after warm-up (first-use allocations), and at the end
            rss.append(rss_kb(pid))

    codes = run_fuzz(backend.address, backend.token, MESSAGES, on_batch=sample)
    assert sum(codes.values()) == MESSAGES
    assert set(codes) == EXPECTED_CODES, codes
    assert backend.process.poll() is None
    with Client(backend.address, backend.token, timeout=5) as c:
        assert c.ping() > 0
    growth_mb = (rss[1] - rss[0]) / 1024
    print(f"server RSS {rss[0] / 1024:.1f} -> {rss[1] / 1024:.1f} MB after {MESSAGES - 2000} more; {codes}")
    assert growth_mb < 16, f"server RSS grew by {growth_mb:.1f} MB over {MESSAGES - 2000} messages"


def test_concurrent_fuzzing_clients_and_a_well_behaved_one(backend):
    """Four fuzzing connections on threads of their own and a real client fitting meanwhile: every fuzzed
    message is answered as expected and the fit's result is the same as alone."""
    from wire_support import PARAMS, direct_fit, scene, submit

    errors: list[str] = []

    def fuzz_thread(seed: int) -> None:
        fuzz = Fuzzer(backend.token, seed)
        ctx = zmq.Context()
        sock = dealer(ctx, backend.address, backend.token, 30_000)
        try:
            for n in range(400):
                frames, want = fuzz()
                sock.send_multipart(frames, copy=False)
                code, message = reply_code(sock.recv_multipart(), fuzz.key)
                if code not in want:
                    errors.append(f"seed {seed} message {n}: {code} ({message}), wanted {want}")
        except Exception as exc:  # reported below, with the others
            errors.append(f"seed {seed}: {type(exc).__name__}: {exc}")
        finally:
            sock.close()
            ctx.term()

    threads = [threading.Thread(target=fuzz_thread, args=(100 + i,)) for i in range(4)]
    for t in threads:
        t.start()
    sc = scene()
    with Client(backend.address, backend.token, timeout=10) as c:
        result = c.wait(submit(c, sc, PARAMS), timeout=300)
    for t in threads:
        t.join(300)
    assert not errors, errors[:5]
    np.testing.assert_allclose(result.verts, direct_fit(sc, PARAMS).mesh.verts, rtol=0, atol=1e-6)

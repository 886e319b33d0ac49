"""Faults: the server killed mid-fit, restarted at the same address, stopped by signal or by the death of
its parent process. Real `softfit serve` processes on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from wire_support import LONG, PARAMS, free_port, launch, scene, submit

from softfit.wire import Client, JobError, Progress, ServerGone
from softfit.wire.launcher import launch_local_backend
from softfit.wire.messages import MAX_WAIT
from softfit.wire.protocol import new_token

pytestmark = pytest.mark.slow  # minutes, not seconds: `make test-fast` leaves it out, CI runs it

TIMEOUT = 2.0


def test_server_killed_mid_fit_then_restarted(tmp_path):
    sc = scene()
    port, token = free_port(), new_token()
    first = launch("--port", str(port), env={"SOFTFIT_TOKEN": token})
    client = Client(first.address, token, timeout=TIMEOUT)
    try:
        job = submit(client, sc, LONG)
        while not any(isinstance(e, Progress) for e in client.poll(job, timeout=5.0)):
            pass
        os.kill(first.process.pid, signal.SIGKILL)
        first.process.wait()
        t0 = time.monotonic()
        with pytest.raises(ServerGone):
            for _ in client.events(job, timeout=60):
                pass
        gone_after = time.monotonic() - t0
        first.stop()
        # the client reports the loss within its heartbeat timeout (plus one long-poll wait), never hangs
        assert gone_after < TIMEOUT + MAX_WAIT + 1.0, gone_after

        second = launch("--port", str(port), env={"SOFTFIT_TOKEN": token})
        try:
            assert client.handshake()["protocol"] == 1  # the same client object reconnects
            events = client.poll(job, timeout=5.0)  # the old job died with the old server
            assert isinstance(events[-1], JobError) and events[-1].code == "unknown_job"
            result = client.wait(submit(client, sc, PARAMS), timeout=120)
            assert result.metrics["iterations"] == PARAMS["iterations"]
            announce = second.workdir / "announce.json"
            assert announce.exists()
            assert second.stop() == 0  # SIGTERM: a clean exit ...
            assert not announce.exists()  # ... that removes its announce file
        finally:
            second.stop()
    finally:
        client.close()


def test_client_of_a_dead_address_raises_server_gone():
    with Client(f"tcp://127.0.0.1:{free_port()}", new_token(), timeout=0.5) as c, pytest.raises(ServerGone):
        c.handshake()


def test_server_exits_when_its_parent_dies(tmp_path):
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    announce = tmp_path / "announce.json"
    server = subprocess.Popen([sys.executable, "-m", "softfit", "serve", "--parent-pid", str(parent.pid),
                               "--announce", str(announce)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        info = json.loads(server.stdout.readline())  # the server prints its announcement first
        assert info["pid"] == server.pid and info["address"].startswith("ipc://")
        assert announce.exists() and oct(announce.stat().st_mode & 0o777) == "0o600"
        parent.kill()
        parent.wait()
        assert server.wait(timeout=30) == 0
        assert "parent process" in server.stderr.read().decode()
    finally:
        for p in (parent, server):
            if p.poll() is None:
                p.kill()
                p.wait()


def test_launcher_reports_a_backend_that_cannot_start():
    from softfit.wire import WireError

    with pytest.raises(WireError, match="refusing to bind 0.0.0.0"):
        launch_local_backend(sys.executable, ["--bind", "0.0.0.0"], timeout=60)

"""Security: signatures with the per-launch token, replay protection, loopback-only without CURVE, and
CURVE keys that lock out clients lacking the server's public key. In-process servers on real sockets."""

from __future__ import annotations

import json
import os
import stat
import sys
import threading
import time
from contextlib import contextmanager

import pytest
import zmq
from wire_support import raw_dealer
from zmq.auth.thread import ThreadAuthenticator

from softfit.cli import main
from softfit.errors import InputError
from softfit.server import ServeConfig, Server
from softfit.wire import BadToken, Client, ProtocolMismatch, RequestRejected, ServerGone, WireError
from softfit.wire import errors as E
from softfit.wire.launcher import launch_local_backend
from softfit.wire.messages import REPLIES, REQUESTS
from softfit.wire.protocol import (
    MAGIC,
    Limits,
    Message,
    decode,
    encode,
    new_token,
    unsigned_error,
    zap_password,
)


@contextmanager
def serving(**config):
    server = Server(ServeConfig(**config))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop()
        thread.join(10)


@contextmanager
def raw_socket(address: str, token: str | None, timeout_ms: int = 5000):
    ctx = zmq.Context()
    sock = raw_dealer(ctx, address, token, timeout_ms)
    try:
        yield sock
    finally:
        sock.close()
        ctx.term()


def test_wrong_or_missing_token_is_rejected():
    with serving(bind="127.0.0.1") as server:
        t0 = time.monotonic()
        with Client(server.address, new_token(), timeout=5) as c, pytest.raises(BadToken, match="token"):
            c.handshake()  # refused in the ZeroMQ handshake by the authenticator: reported, not a timeout
        assert time.monotonic() - t0 < 2.5
        with pytest.raises(BadToken):
            Client(server.address, "")
        with raw_socket(server.address, None, 1000) as sock:  # no credential: never gets a message in
            sock.send_multipart(encode(Message("ping", {}), server.token.encode()))
            with pytest.raises(zmq.Again):
                sock.recv_multipart()
        with raw_socket(server.address, server.token) as sock:
            ping = encode(Message("ping", {}), b"")  # unsigned: empty signature frame
            assert ping[1] == b""
            sock.send_multipart(ping)
            reply = sock.recv_multipart()
            assert reply[1] == b""  # the error to an unauthenticated peer is unsigned
            head = json.loads(reply[2])
            assert head["type"] == "error" and head["body"]["code"] == E.BAD_SIGNATURE
            # tampering with a signed message's buffer breaks its signature
            frames = encode(Message("ping", {"echo": "hi"}), server.token.encode())
            frames[2] = bytes(frames[2]).replace(b"hi", b"ho")
            sock.send_multipart(frames)
            assert json.loads(sock.recv_multipart()[2])["body"]["code"] == E.BAD_SIGNATURE
        with Client(server.address, server.token, timeout=3) as c:
            assert c.handshake()["version"]


def test_refusals_before_verification_are_unsigned():
    """bad_frames and too_large are decided before the signature is checked: their replies carry no
    signature and no reply_to, so a peer without the token learns nothing signed with it."""
    limits = Limits(max_message_bytes=2**16, max_header_bytes=2**12)
    with serving(limits=limits) as server, raw_socket(server.address, server.token) as sock:
        key = server.token.encode()
        for frames, code in (([b"junk"], E.BAD_FRAMES),
                             ([MAGIC, b"", b"{}", *[b""] * 20], E.TOO_LARGE),
                             ([MAGIC, b"", b"x" * 5000], E.TOO_LARGE),
                             ([MAGIC, b"", b"{}", b"x" * 40_000, b"x" * 40_000], E.TOO_LARGE)):
            sock.send_multipart(frames)
            reply = sock.recv_multipart()
            assert reply[1] == b"" and unsigned_error(reply)[0] == code
            head = json.loads(reply[2])
            assert "reply_to" not in head and "job" not in head
        sock.send_multipart(encode(Message("ping", {}), key))  # still served
        assert decode(sock.recv_multipart(), key, REPLIES, Limits()).type == "pong"
        # a frame over the largest legitimate frame closes the connection while it arrives: no reply
        sock.send_multipart([MAGIC, b"", b"{}", b"x" * (limits.max_frame_bytes() + 1)])
        with pytest.raises(zmq.Again):
            sock.recv_multipart()


def test_client_reports_unsigned_refusals():
    with serving(bind="127.0.0.1") as server, Client(server.address, server.token, timeout=3) as c:
        c.handshake()
        c._sock().send_multipart([MAGIC, b"", b"{}", *[b""] * 20])
        with pytest.raises(RequestRejected, match="too_large"):
            for _ in range(3):
                c._receive(2.0)


def test_replayed_message_is_rejected_on_any_socket():
    with serving() as server, raw_socket(server.address, server.token) as sock, \
            raw_socket(server.address, server.token) as other:
        key = server.token.encode()
        frames = [bytes(f) for f in encode(Message("ping", {}), key)]
        sock.send_multipart(frames)
        assert decode(sock.recv_multipart(), key, REPLIES, Limits()).type == "pong"
        for s in (sock, other):  # the same signed message again, on the same or another connection
            s.send_multipart(frames)
            reply = decode(s.recv_multipart(), key, REPLIES, Limits())
            assert reply.type == "error" and reply.body["code"] == E.REPLAYED


def test_non_loopback_bind_without_curve_is_refused(capsys):
    assert main(["serve", "--bind", "0.0.0.0"]) == 2
    err = capsys.readouterr().err
    assert "refusing to bind 0.0.0.0" in err and "--curve-keys" in err
    with pytest.raises(InputError, match="refusing to bind"):
        Server(ServeConfig(bind="192.0.2.1"))


def test_tokens_are_long_hex_and_never_on_the_command_line(tmp_path, capsys, monkeypatch):
    for bad in ("0123456789abcdef", "z" * 40, "0" * 31):
        with pytest.raises(InputError, match="32 to 256 hexadecimal"):
            Server(ServeConfig(token=bad))
    assert main(["serve", "--token", new_token()]) == 2
    assert "visible to every user" in capsys.readouterr().err
    token_file = tmp_path / "token"
    token_file.write_text("abc123\n")
    token_file.chmod(0o600)
    assert main(["serve", "--token-file", str(token_file)]) == 2
    assert "32 to 256 hexadecimal" in capsys.readouterr().err
    token_file.write_text(new_token() + "\n")
    token_file.chmod(0o644)
    assert main(["serve", "--token-file", str(token_file)]) == 2
    assert "readable or writable by other users" in capsys.readouterr().err
    monkeypatch.setenv("SOFTFIT_TOKEN", "short")
    assert main(["serve"]) == 2
    assert "$SOFTFIT_TOKEN" in capsys.readouterr().err


def test_token_from_a_file_or_the_environment_reaches_the_server(tmp_path):
    token = new_token()
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    token_file.chmod(0o600)
    for args, env in ((["--token-file", str(token_file)], {}), ([], {"SOFTFIT_TOKEN": token})):
        backend = launch_local_backend(sys.executable, ["--threads", "1", *args], timeout=120,
                                       env={**os.environ, **env})
        try:
            assert backend.token == token
            with Client(backend.address, token, timeout=5) as c:
                assert c.ping() > 0
        finally:
            backend.stop()


@pytest.mark.skipif(os.name != "posix", reason="ipc:// and folder permissions are POSIX")
def test_local_server_listens_on_ipc_in_a_private_folder():
    with serving() as server:
        assert server.address.startswith("ipc://")
        folder = server.runtime_dir
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        with Client(server.address, server.token, timeout=3) as c:
            assert c.ping() > 0
    assert not folder.exists()  # removed on exit


def test_curve_needs_the_server_key_and_an_allow_listed_client_key(tmp_path, capsys):
    keys, other = tmp_path / "keys", tmp_path / "other"
    assert main(["serve", "--generate-keys", str(keys)]) == 0
    assert main(["keys", "server", str(other)]) == 0
    assert oct((keys / "server.key_secret").stat().st_mode & 0o777) == "0o600"
    assert main(["serve", "--generate-keys", str(keys)]) == 2  # never overwrites a key pair
    with pytest.raises(InputError, match="no client keys"):  # an empty allow-list admits nobody
        Server(ServeConfig(curve_keys=keys))
    assert main(["keys", "client", str(keys), "laptop"]) == 0
    assert main(["keys", "client", str(keys), "laptop"]) == 2  # already listed
    capsys.readouterr()
    assert main(["keys", "list", str(keys)]) == 0
    listing = capsys.readouterr().out
    laptop_secret = keys / "issued" / "laptop" / "laptop.key_secret"
    assert (keys / "clients" / "laptop.key").is_file() and laptop_secret.is_file()
    assert oct(laptop_secret.stat().st_mode & 0o777) == "0o600"
    assert "client laptop " in listing and "server " in listing
    assert main(["keys", "client", str(other), "stranger"]) == 0
    stranger = other / "issued" / "stranger" / "stranger.key_secret"
    with serving(curve_keys=keys) as server:
        assert server.public_key and server.announcement()["public_key"] == server.public_key
        with Client(server.address, server.token, keys / "server.key", timeout=3,
                    client_key=str(laptop_secret)) as c:
            assert c.handshake()["protocol"] == 1
            assert c.ping() > 0
        for client_key in (None, str(stranger)):  # ephemeral or unlisted key: refused by the allow-list
            with Client(server.address, server.token, keys / "server.key", timeout=3,
                        client_key=client_key) as c, pytest.raises(BadToken, match="allow-list"):
                c.handshake()
        with Client(server.address, server.token, timeout=1) as c, pytest.raises(ServerGone):
            c.handshake()  # plain-text client: the CURVE handshake never completes
        with Client(server.address, server.token, other / "server.key", timeout=1,
                    client_key=str(laptop_secret)) as c, pytest.raises(ServerGone):
            c.handshake()  # the wrong server key
    # a CURVE server may bind beyond loopback
    Server(ServeConfig(bind="0.0.0.0", curve_keys=keys)).close()
    # secret keys that other users can read are refused, on both sides
    (keys / "server.key_secret").chmod(0o644)
    with pytest.raises(InputError, match="readable or writable by other users"):
        Server(ServeConfig(curve_keys=keys))
    laptop_secret.chmod(0o640)
    with pytest.raises(WireError, match="readable or writable by other users"):
        Client("tcp://127.0.0.1:1", new_token(), keys / "server.key", client_key=str(laptop_secret))


def test_client_detects_a_protocol_mismatch():
    """A stand-in server that speaks protocol 2: the client refuses with ProtocolMismatch."""
    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    router.setsockopt(zmq.LINGER, 0)
    token = new_token()
    auth = ThreadAuthenticator(ctx)  # the stand-in admits our credential as the real server would
    auth.start()
    auth.configure_plain(domain="softfit", passwords={"softfit": zap_password(token).decode()})
    router.plain_server, router.zap_domain = True, b"softfit"
    port = router.bind_to_random_port("tcp://127.0.0.1")

    def answer(version: int, body_protocol: int) -> None:
        ident, *frames = router.recv_multipart()
        req = decode(frames, token.encode(), REQUESTS, Limits())
        reply = Message("welcome", {"protocol": body_protocol, "version": "9", "device": "cpu",
                                    "device_name": "x", "limits": {}, "heartbeat": 1.0, "client_timeout": 4.0,
                                    "workers": 1}, reply_to=req.id, version=version)
        router.send_multipart([ident, *encode(reply, token.encode())])

    try:
        for version, body_protocol in ((2, 2), (1, 2)):
            with Client(f"tcp://127.0.0.1:{port}", token, timeout=3) as c:
                t = threading.Thread(target=answer, args=(version, body_protocol))
                t.start()
                with pytest.raises(ProtocolMismatch):
                    c.handshake()
                t.join(5)
    finally:
        auth.stop()
        router.close()
        ctx.term()

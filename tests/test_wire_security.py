"""Security: signatures with the per-launch token, replay protection, loopback-only without CURVE, and
CURVE keys that lock out clients lacking the server's public key. In-process servers on real sockets."""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager

import pytest
import zmq

from softfit.cli import main
from softfit.errors import InputError
from softfit.server import ServeConfig, Server
from softfit.wire import BadToken, Client, ProtocolMismatch, ServerGone
from softfit.wire import errors as E
from softfit.wire.messages import REPLIES, REQUESTS
from softfit.wire.protocol import Limits, Message, decode, encode, new_token


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
def raw_socket(address: str):
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, 5000)
    sock.connect(address)
    try:
        yield sock
    finally:
        sock.close()
        ctx.term()


def test_wrong_or_missing_token_is_rejected():
    with serving() as server:
        with Client(server.address, new_token(), timeout=3) as c, pytest.raises(BadToken):
            c.handshake()
        with pytest.raises(BadToken):
            Client(server.address, "")
        with raw_socket(server.address) as sock:
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


def test_replayed_message_is_rejected():
    with serving() as server, raw_socket(server.address) as sock:
        key = server.token.encode()
        frames = [bytes(f) for f in encode(Message("ping", {}), key)]
        sock.send_multipart(frames)
        assert decode(sock.recv_multipart(), key, REPLIES, Limits()).type == "pong"
        sock.send_multipart(frames)
        reply = decode(sock.recv_multipart(), key, REPLIES, Limits())
        assert reply.type == "error" and reply.body["code"] == E.REPLAYED


def test_non_loopback_bind_without_curve_is_refused(capsys):
    assert main(["serve", "--bind", "0.0.0.0"]) == 2
    err = capsys.readouterr().err
    assert "refusing to bind 0.0.0.0" in err and "--curve-keys" in err
    with pytest.raises(InputError, match="refusing to bind"):
        Server(ServeConfig(bind="192.0.2.1"))


def test_curve_locks_out_clients_without_the_server_key(tmp_path):
    keys, other = tmp_path / "keys", tmp_path / "other"
    assert main(["serve", "--generate-keys", str(keys)]) == 0
    assert main(["serve", "--generate-keys", str(other)]) == 0
    assert oct((keys / "server.key_secret").stat().st_mode & 0o777) == "0o600"
    assert main(["serve", "--generate-keys", str(keys)]) == 2  # never overwrites a key pair
    with serving(curve_keys=keys) as server:
        assert server.public_key and server.announcement()["public_key"] == server.public_key
        with Client(server.address, server.token, keys / "server.key", timeout=3) as c:
            assert c.handshake()["protocol"] == 1
            assert c.ping() > 0
        with Client(server.address, server.token, timeout=1) as c, pytest.raises(ServerGone):
            c.handshake()  # plain-text client: the CURVE handshake never completes
        with Client(server.address, server.token, other / "server.key", timeout=1) as c, \
                pytest.raises(ServerGone):
            c.handshake()  # the wrong server key
    # a CURVE server may bind beyond loopback
    Server(ServeConfig(bind="0.0.0.0", curve_keys=keys)).close()


def test_client_detects_a_protocol_mismatch():
    """A stand-in server that speaks protocol 2: the client refuses with ProtocolMismatch."""
    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    router.setsockopt(zmq.LINGER, 0)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    token = new_token()

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
        router.close()
        ctx.term()

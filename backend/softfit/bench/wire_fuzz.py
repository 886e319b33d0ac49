"""The wire fuzzer shared by tests/test_wire_fuzz.py (10 000 messages) and `softfit bench wire` (50 000):
a seeded generator of malformed multipart messages, each with the reply codes it may get, and a driver
that sends them over two connections with valid signed pings and their replays mixed in, checking every
reply and sampling the server's memory."""

from __future__ import annotations

import json
import random
from collections.abc import Callable

import numpy as np
import zmq

from softfit.wire import errors as E
from softfit.wire.messages import REPLIES
from softfit.wire.protocol import MAGIC, ZAP_USER, Limits, decode, signature, unsigned_error, zap_password

REPLAY_WINDOW = 100  # recent answered pings kept for replaying (about 2 000 messages back)
MAX_MESSAGE = 1 << 20  # the fuzz server runs with --max-message-mb 1, so that large payloads stay cheap
EXPECTED_CODES = {E.BAD_FRAMES, E.BAD_SIGNATURE, E.BAD_HEADER, E.PROTOCOL_MISMATCH, E.UNKNOWN_TYPE,
                  E.BAD_BODY, E.BAD_ARRAY, E.TOO_LARGE, E.BAD_REQUEST, E.UNKNOWN_JOB, E.REPLAYED, "pong"}


class FuzzMismatch(AssertionError):
    """A reply that is not what the fuzzed message must get."""


BAD_PARAMS = [{"lr": -1}, {"iterations": "many"}, {"no_such_param": 1}, {"betas": [0.9]},
              {"sigma": [0, 1]}, {"holdout": 1.5}, {"device": "tpu"}, {"resolutions": []}]
BAD_TRANSFORMS = [{"frames": "x"}, {"frames": [1, 2, 3]}, {},
                  {"camera_angle_x": 0.5, "frames": [{"transform_matrix": [[1, 0], [0, 1]]}] * 3},
                  {"frames": [{"transform_matrix": np.eye(4).tolist()}] * 3},  # no focal length
                  {"camera_angle_x": "wide", "frames": [{"transform_matrix": np.eye(4).tolist()}] * 3},
                  {"camera_angle_x": 0.0, "frames": [{"transform_matrix": np.eye(4).tolist()}] * 3},
                  {"camera_angle_x": 0.5, "frames": [{"transform_matrix": np.eye(4).tolist()}] * 2}]


class Fuzzer:
    """Builds one malformed message per call: (frames, acceptable error codes)."""

    def __init__(self, token: str, seed: int = 1234):
        self.key = token.encode()
        self.r = random.Random(seed)
        self.seed = seed
        self.n = 0

    def rid(self) -> str:
        self.n += 1
        return f"fz{self.seed}-{self.n}"  # unique across fuzzers: equal messages would be replays

    def sign(self, header, bufs=()) -> list[bytes]:
        head = header if isinstance(header, bytes) else json.dumps(header).encode()
        bufs = [bytes(b) for b in bufs]
        return [MAGIC, signature(self.key, [head, *bufs]), head, *bufs]

    def submit(self):
        """A valid submit: 3 views of 8x8, a tetrahedron; callers break it."""
        tr = {"camera_angle_x": 0.8, "frames": [{"file_path": f"v{i}", "transform_matrix": np.eye(4).tolist()}
                                                 for i in range(3)]}
        arrays = {"silhouettes": np.ones((3, 8, 8), np.float32) * 0.5,
                  "verts": np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float64),
                  "faces": np.array([[0, 1, 2], [0, 1, 3], [0, 2, 3], [1, 2, 3]], np.int64)}
        header = {"v": 1, "type": "submit", "id": self.rid(), "session": "fuzz", "job": f"j{self.n}",
                  "body": {"transforms": tr, "params": {}}, "buffers": []}
        return header, arrays

    def bad_prepare(self):
        """A `prepare` (initial mesh from the views) broken in one way: (frames, acceptable codes)."""
        r = self.r
        h, a = self.submit()
        del h["job"], a["verts"], a["faces"]
        h["type"] = "prepare"
        h["body"] = {"transforms": h["body"]["transforms"], "init": "hull", "polys": None}
        what = r.randrange(6)
        if what == 0:
            h["body"]["init"] = r.choice(["sphere", "", 3, "x" * 300])
            return self.pack(h, a), {E.BAD_BODY}
        if what == 1:
            h["body"]["polys"] = r.choice([0, -5, "many", 1.5, True, 10**9])
            return self.pack(h, a), {E.BAD_BODY}
        if what == 2:
            h["body"]["transforms"] = r.choice(BAD_TRANSFORMS)
            return self.pack(h, a), {E.BAD_REQUEST}
        if what == 3:  # no or two image sources; nothing asked for; SfM without images or with transforms
            choice = r.randrange(5)
            if choice == 0:
                del a["silhouettes"]
            elif choice == 1:
                a["images"] = np.zeros((3, 8, 8, 3), np.uint8)
            elif choice == 2:
                h["body"]["init"] = None
            elif choice == 3:
                h["body"]["cameras"] = "sfm"
            else:
                h["body"]["cameras"] = "sfm"
                a = {"images": np.zeros((3, 8, 8, 3), np.uint8)}
            return self.pack(h, a), {E.BAD_REQUEST}
        if what == 4:
            a["verts"] = np.zeros((3, 3), np.float32)  # a prepare carries no mesh
            return self.pack(h, a), {E.BAD_ARRAY}
        del h["session"]
        return self.pack(h, a), {E.BAD_HEADER}

    def pack(self, header, arrays, specs=None):
        header["buffers"] = specs if specs is not None else [
            {"name": k, "dtype": a.dtype.str, "shape": list(a.shape)} for k, a in arrays.items()]
        return self.sign(header, [a.tobytes() for a in arrays.values()])

    def ping(self):
        return {"v": 1, "type": "ping", "id": self.rid(), "body": {}, "buffers": []}

    def large(self):
        """Over the message budget in frames each within the largest legitimate frame (a bigger frame
        drops the connection while it arrives instead of being answered)."""
        r = self.r
        if r.random() < 0.5:
            part = b"\0" * (MAX_MESSAGE // 2 - r.randrange(100))
            return [MAGIC, b"", b"{}", *[part] * r.randrange(3, 6)], {E.TOO_LARGE}
        biggest = Limits(max_message_bytes=MAX_MESSAGE).max_frame_bytes()
        return [MAGIC, b"", b" " * biggest, b"\0" * r.randrange(100, 1000)], {E.TOO_LARGE}

    def multi_frame(self):
        """A signed request followed by more frames than its header declares, or more than allowed."""
        r = self.r
        n = r.randrange(1, 14)
        f = self.sign(self.ping(), [r.randbytes(r.randrange(0, 64)) for _ in range(n)])
        return f, {E.TOO_LARGE} if len(f) > Limits().max_frames else {E.BAD_HEADER}

    def __call__(self):
        r = self.r
        kind = r.randrange(27)
        if kind == 25:
            return self.large()
        if kind == 26:
            return self.multi_frame()
        if kind == 0:  # random frames
            return [r.randbytes(r.randrange(0, 48)) for _ in range(r.randrange(1, 6))], {E.BAD_FRAMES}
        if kind == 1:  # wrong or missing signature
            f = self.sign(self.ping())
            good = f[1]
            flipped = good[:-1] + (b"1" if good[-1:] == b"0" else b"0")
            f[1] = r.choice([b"", r.randbytes(32).hex().encode(), flipped, good[:10], good + b"0"])
            return f, {E.BAD_SIGNATURE}
        if kind == 2:  # not JSON / not UTF-8
            return self.sign(r.randbytes(r.randrange(1, 64)) + b"\xff"), {E.BAD_HEADER}
        if kind == 3:  # truncated JSON
            h = json.dumps(self.ping()).encode()
            return self.sign(h[: r.randrange(1, len(h) - 1)]), {E.BAD_HEADER}
        if kind == 4:  # JSON, but not an object
            return self.sign(r.choice([b"[]", b"1", b'"x"', b"null", b"[1,2]"])), {E.BAD_HEADER}
        if kind == 5:  # wrong protocol version
            h = self.ping()
            h["v"] = r.choice([0, 2, "1", True, 1.0, None, [1]])
            if r.random() < 0.3:
                del h["v"]
            return self.sign(h), {E.PROTOCOL_MISMATCH}
        if kind == 6:  # unknown type
            h = self.ping()
            h["type"] = r.choice(["pong", "welcome", "update", "", "x" * 100, 5, None, "exec"])
            return self.sign(h), {E.UNKNOWN_TYPE}
        if kind == 7:  # bad ids
            h = self.ping()
            h["id"] = r.choice(["", "x" * 65, "a b", "ü", 7, None, ["x"]])
            return self.sign(h), {E.BAD_HEADER}
        if kind == 8:  # unknown header field
            h = self.ping()
            h[r.choice(["token", "pickle", "extra"])] = 1
            return self.sign(h), {E.BAD_HEADER}
        if kind == 9:  # NaN / Infinity / overflowing numbers in the JSON
            h = json.dumps({"v": 1, "type": "poll", "id": self.rid(), "session": "s", "job": "j",
                            "body": {"after": 0, "frames": True, "wait": 0.0}, "buffers": []})
            bad = r.choice(["NaN", "Infinity", "-Infinity", "1e999"])
            return self.sign(h.replace('"wait": 0.0', f'"wait": {bad}').encode()), {E.BAD_HEADER}
        if kind == 10:  # bad body fields
            h = {"v": 1, "type": "poll", "id": self.rid(), "session": "s", "job": "j", "buffers": [],
                 "body": r.choice([[], {"after": "x", "frames": True, "wait": 0.0},
                                   {"after": 0, "frames": 1, "wait": 0.0}, {"after": 0, "frames": True},
                                   {"after": 0, "frames": True, "wait": 99.0},
                                   {"after": 0, "frames": True, "wait": 0.0, "more": 1}])}
            return self.sign(h), {E.BAD_BODY}
        if kind == 11:  # poll / cancel of a job that does not exist
            h = {"v": 1, "type": r.choice(["poll", "cancel"]), "id": self.rid(), "session": "nobody",
                 "job": f"none{self.n}", "buffers": [],
                 "body": {"after": -1, "frames": True, "wait": 0.0}}
            if h["type"] == "cancel":
                h["body"] = {}
            return self.sign(h), {E.UNKNOWN_JOB}
        if kind == 12:  # too many frames
            return [MAGIC, b"", b"{}", *[b""] * r.randrange(10, 20)], {E.TOO_LARGE}
        if kind == 24:
            return self.bad_prepare()
        h, a = self.submit()
        if kind == 13:  # buffer list does not match the frames
            f = self.pack(h, a)
            head, bufs = json.loads(f[2]), f[3:]
            choice = r.randrange(3)
            if choice == 0:
                bufs = bufs[:-1]  # a buffer frame missing
            elif choice == 1:
                head["buffers"] = head["buffers"][:-1]  # a buffer not declared
            else:
                bufs = [*bufs, b"extra"]
            return self.sign(head, bufs), {E.BAD_HEADER}
        if kind == 14:  # truncated or padded buffer
            f = self.pack(h, a)
            i = r.randrange(3, len(f))
            bufs = list(f[3:])
            bufs[i - 3] = bufs[i - 3][:-r.randrange(1, 5)] if r.random() < 0.5 else bufs[i - 3] + b"\0"
            return self.sign(json.loads(f[2]), bufs), {E.BAD_ARRAY}
        if kind == 15:  # huge declared shapes
            specs = [{"name": k, "dtype": v.dtype.str, "shape": list(v.shape)} for k, v in a.items()]
            s = r.choice(specs)
            s["shape"][0] = r.choice([10**12, 2**62, 10**30, 5_000_000])
            return self.pack(h, a, specs), {E.TOO_LARGE}
        if kind == 16:  # wrong dtypes, dimensions, names
            specs = [{"name": k, "dtype": v.dtype.str, "shape": list(v.shape)} for k, v in a.items()]
            s = r.choice(specs)
            what = r.randrange(5)
            if what == 0:
                s["dtype"] = r.choice(["<f2", ">f4", "object", "O", 5, None, "<c8", "|b1"])
            elif what == 1:
                s["shape"] = s["shape"][:-1]
            elif what == 2:
                s["shape"][0] = r.choice([-1, True, 1.5, "3", None])
            elif what == 3:
                s["name"] = r.choice(["weights", "pickle", 3, ""])
            else:
                specs.append(dict(specs[0]))
                a = {**a, "dup": a[specs[0]["name"]]}
            return self.pack(h, a, specs), {E.BAD_ARRAY}
        if kind == 17:  # NaN / Inf in the vertices or silhouettes
            k = r.choice(["verts", "silhouettes"])
            a[k] = a[k].copy()
            a[k].flat[r.randrange(a[k].size)] = r.choice([np.nan, np.inf, -np.inf])
            return self.pack(h, a), {E.BAD_ARRAY}
        if kind == 18:  # face or pinned indices out of range
            if r.random() < 0.5:
                a["faces"] = a["faces"].copy()
                a["faces"].flat[r.randrange(12)] = r.choice([-1, 4, 2**40])
            else:
                a["pinned"] = np.array([0, r.choice([-3, 4, 99])], np.int64)
            return self.pack(h, a), {E.BAD_REQUEST}
        if kind == 19:  # two image sources, or none, or a missing mesh
            choice = r.randrange(3)
            if choice == 0:
                a["images"] = np.zeros((3, 8, 8, 3), np.uint8)
                return self.pack(h, a), {E.BAD_REQUEST}
            if choice == 1:
                del a["silhouettes"]
                return self.pack(h, a), {E.BAD_REQUEST}
            del a[r.choice(["verts", "faces"])]
            return self.pack(h, a), {E.BAD_ARRAY}
        if kind == 20:  # transforms that do not fit the views
            h["body"]["transforms"] = r.choice(BAD_TRANSFORMS)
            return self.pack(h, a), {E.BAD_REQUEST}
        if kind == 21:  # bad fit parameters
            h["body"]["params"] = r.choice(BAD_PARAMS)
            return self.pack(h, a), {E.BAD_REQUEST}
        if kind == 22:  # silhouettes out of range, empty dimensions, images with 2 channels
            choice = r.randrange(3)
            if choice == 0:
                a["silhouettes"] = a["silhouettes"] * r.choice([3.0, -1.0])  # base is 0.5
                return self.pack(h, a), {E.BAD_REQUEST}
            if choice == 1:
                a["silhouettes"] = np.zeros((3, 0, 8), np.float32)
                return self.pack(h, a), {E.BAD_REQUEST}
            del a["silhouettes"]
            a["images"] = np.zeros((3, 8, 8, 2), np.uint8)
            return self.pack(h, a), {E.BAD_ARRAY}
        # kind 23: a missing session or job on a request that needs one
        del h[r.choice(["session", "job"])]
        return self.pack(h, a), {E.BAD_HEADER}


def reply_code(frames: list[bytes], key: bytes) -> tuple[str, str]:
    """(code, message) of an error reply; signed replies must verify, unsigned ones are refusals made
    before the signature was checked (bad_frames, too_large, bad_signature)."""
    assert frames[0] == MAGIC
    if frames[1] == b"":
        refused = unsigned_error(frames)
        if refused is None:
            raise FuzzMismatch(f"an unsigned reply that is not a refusal: {bytes(frames[2][:200])!r}")
        return refused
    msg = decode(frames, key, REPLIES, Limits())
    if msg.type == "pong":
        return "pong", ""
    if msg.type != "error":
        raise FuzzMismatch(f"expected an error reply, got {msg.type}")
    return msg.body["code"], msg.body["message"]



def dealer(ctx: zmq.Context, address: str, token: str, timeout_ms: int = 20_000) -> zmq.Socket:
    """A bare DEALER holding the transport credential (the fuzzer plays a peer that has the token's
    credential but sends garbage)."""
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, timeout_ms)
    sock.plain_username, sock.plain_password = ZAP_USER, zap_password(token)
    sock.connect(address)
    return sock


def run_fuzz(address: str, token: str, messages: int, seed: int = 1234, batch: int = 250,
             on_batch: Callable[[int], None] | None = None) -> dict[str, int]:
    """Send `messages` fuzzed messages over two connections, 1 in 20 a valid signed ping and 1 in 20 a
    replay of an answered one (on either connection); check each reply; return the count per code.
    `on_batch(sent)` runs after each answered batch (memory sampling)."""
    fuzz = Fuzzer(token, seed)
    ctx = zmq.Context()
    socks = [dealer(ctx, address, token) for _ in range(2)]
    codes: dict[str, int] = {}
    answered_pings: list[list[bytes]] = []
    try:
        for start in range(0, messages, batch):
            todo: list[tuple[int, list[bytes], set[str]]] = []
            fresh = []
            for _ in range(min(batch, messages - start)):
                k = fuzz.r.randrange(20)
                if k == 0:  # a valid signed ping: answered, and remembered for replaying
                    frames, want = fuzz.sign(fuzz.ping()), {"pong"}
                    fresh.append(frames)
                elif k == 1 and answered_pings:  # a replay of an answered ping, on either connection
                    frames, want = fuzz.r.choice(answered_pings), {E.REPLAYED}
                else:
                    frames, want = fuzz()
                todo.append((fuzz.r.randrange(2), frames, want))
            for i, frames, _ in todo:
                socks[i].send_multipart(frames, copy=False)
            for n, (i, _, want) in enumerate(todo):
                code, message = reply_code(socks[i].recv_multipart(), fuzz.key)
                if code not in want:
                    raise FuzzMismatch(f"message {start + n}: got {code} ({message}), wanted {want}")
                codes[code] = codes.get(code, 0) + 1
            # replayed from the next batch on (the originals have been answered), while the server still
            # holds their signatures: it remembers the last 4 096 of the messages it decoded
            answered_pings = (answered_pings + fresh)[-REPLAY_WINDOW:]
            if on_batch is not None:
                on_batch(start + len(todo))
    finally:
        ctx.destroy(linger=0)
    return codes

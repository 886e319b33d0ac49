"""The wire format: multipart messages of a magic frame, an HMAC signature, a JSON header and raw
little-endian buffers; signing, encoding and validating decoding. Both ends use this one module.

Frames (after the ROUTER's routing id): [MAGIC, signature, header, buffer0, buffer1, ...]

- signature: hex HMAC-SHA256, keyed with the per-launch token, over the header and every buffer in order
  (as Jupyter signs its frames; the token itself never travels). Checked before the header is parsed.
- header: a JSON object {v, type, id, session?, job?, reply_to?, body, buffers}; `buffers` lists
  {name, dtype, shape} for each following frame. NaN/Infinity are not JSON and are refused.
- buffers: C-contiguous little-endian arrays; their byte length must equal prod(shape) * itemsize.

Which types, body fields and buffers each message may carry is in `messages.py`; the prose spec with
every field and error code is docs/protocol.md. Never pickle: only JSON and raw numbers cross the wire.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import math
import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from . import errors as E

SOFTFIT_VERSION = "0.1.0"  # the add-on ships this package: a test keeps it equal to softfit.__version__
PROTOCOL_VERSION = 1
MAGIC = b"SOFTFIT"
SIGNATURE_LEN = 64  # hex digits of SHA-256
ID_RE = re.compile(r"[A-Za-z0-9_.:-]{1,64}\Z")
TOKEN_RE = re.compile(r"[0-9A-Fa-f]{32,256}\Z")  # >= 128 bits of hex: guessing one is hopeless
ZAP_USER = b"softfit"
HEADER_KEYS = frozenset({"v", "type", "id", "session", "job", "reply_to", "body", "buffers"})
DTYPES: dict[str, np.dtype] = {s: np.dtype(s) for s in ("|u1", "<i4", "<i8", "<f4", "<f8")}


@dataclass(frozen=True)
class Limits:
    """What a server accepts; sent in the handshake so the client can refuse early with a clear error.

    ZeroMQ applies MAXMSGSIZE to each frame, so the server sets it to `max_frame_bytes()`, the largest
    frame a legitimate request can hold; messages and frame counts are bounded after receipt, and peers
    without the token never get that far (docs/security.md)."""

    max_message_bytes: int = 256 * 2**20
    max_header_bytes: int = 4 * 2**20
    max_frames: int = 12
    max_views: int = 1024
    max_side: int = 4096
    max_vertices: int = 2_000_000
    max_faces: int = 4_000_000
    max_jobs: int = 32
    max_jobs_per_client: int = 8

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"limit {f.name} must be a positive integer, got {v!r}")

    def max_frame_bytes(self) -> int:
        """The largest legitimate frame: a header or one buffer of a message within max_message_bytes (which
        also holds the magic and signature frames)."""
        return max(1, self.max_message_bytes - len(MAGIC) - SIGNATURE_LEN)

    def to_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: Any) -> Limits:
        """Limits from a peer's handshake; unknown keys (a newer peer) are ignored, bad values refused."""
        if not isinstance(d, dict):
            raise E.ProtocolError(E.BAD_BODY, "limits must be a JSON object")
        known = {f.name for f in fields(cls)}
        try:
            return cls(**{k: v for k, v in d.items() if k in known})
        except ValueError as exc:
            raise E.ProtocolError(E.BAD_BODY, str(exc)) from exc


# ---------------------------------------------------------------------------------------------------
# Schemas: what each message type may carry.


@dataclass(frozen=True)
class Field:
    """A body field: kind is str|int|float|bool|object|list; `null` allows JSON null; lo/hi bound numbers
    and `max_len` bounds strings."""

    kind: str
    required: bool = True
    null: bool = False
    lo: float | None = None
    hi: float | None = None
    max_len: int = 256
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ArraySpec:
    """A buffer: allowed dtypes and one entry per dimension: an int (exact size), a tuple of ints (one of
    these sizes) or the name of the `Limits` attribute bounding it. `finite` refuses NaN/Inf."""

    dtypes: tuple[str, ...]
    dims: tuple[int | str | tuple[int, ...], ...]
    required: bool = True
    finite: bool = True


@dataclass(frozen=True)
class Schema:
    body: dict[str, Field] = field(default_factory=dict)
    arrays: dict[str, ArraySpec] = field(default_factory=dict)
    session: bool = False  # header `session` required
    job: bool = False  # header `job` required


@dataclass
class Message:
    """A decoded (or to-be-encoded) message. `arrays` hold read-only views into the received frames."""

    type: str
    body: dict = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    id: str = ""
    session: str | None = None
    job: str | None = None
    reply_to: str | None = None
    version: int = PROTOCOL_VERSION

    def __post_init__(self) -> None:
        if not self.id:
            self.id = new_id()


# `softfit serve` (before torch loads) and the server itself refuse such a bind with this message.
NON_LOOPBACK = ("refusing to bind {bind}: a non-loopback address would expose the server to the network "
                "unencrypted; give --curve-keys DIR (create it with `softfit serve --generate-keys DIR`) or "
                "bind 127.0.0.1")


def is_loopback(host: str) -> bool:
    """Only loopback addresses may go without CURVE encryption."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # "*", a hostname or an interface name


def new_id() -> str:
    return secrets.token_hex(8)


def new_token() -> str:
    """A per-launch key: 256 random bits as hex."""
    return secrets.token_hex(32)


def check_token(token: str) -> str:
    """A token must be at least 32 hex digits (128 bits): short or guessable ones are refused."""
    if not isinstance(token, str) or not TOKEN_RE.match(token.strip()):
        raise ValueError("a token must be 32 to 256 hexadecimal digits (make one with "
                         "`python -c 'import secrets; print(secrets.token_hex(32))'`)")
    return token.strip()


def zap_password(token: str) -> bytes:
    """The transport-level credential derived from the token (ZeroMQ PLAIN, checked by the server's ZAP
    handler before any message is accepted): a MAC of a constant, so the token itself never travels."""
    return hmac.new(token.encode("utf-8"), b"softfit-zap-v1", hashlib.sha256).hexdigest().encode("ascii")


# ---------------------------------------------------------------------------------------------------
# Signing and encoding


def signature(key: bytes, parts: Sequence[bytes | memoryview]) -> bytes:
    """Hex HMAC-SHA256 of the header and buffers; the header declares every buffer's length, so
    concatenation is unambiguous."""
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for p in parts:
        mac.update(p)
    return mac.hexdigest().encode("ascii")


def _wire_array(name: str, a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    if a.dtype.kind not in "uif" or a.dtype.itemsize not in (1, 4, 8):
        raise ValueError(f"array {name!r} has unsupported dtype {a.dtype}")
    a = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<"))
    if a.dtype.str not in DTYPES:
        raise ValueError(f"array {name!r} has unsupported dtype {a.dtype}")
    return a


def json_safe(x: Any) -> Any:
    """Plain JSON types only (messages and metrics.json alike): numpy scalars/arrays become Python numbers
    and lists, non-finite floats null (JSON has no NaN), paths strings."""
    if isinstance(x, dict):
        return {str(k): json_safe(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [json_safe(v) for v in x]
    if isinstance(x, np.ndarray):
        return json_safe(x.tolist())
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, os.PathLike):
        return os.fspath(x)
    return x


def encode(msg: Message, key: bytes) -> list[bytes | memoryview]:
    """The frames of `msg`, signed with `key` (an empty key sends an empty signature)."""
    arrays = {k: _wire_array(k, v) for k, v in msg.arrays.items()}
    header: dict[str, Any] = {"v": msg.version, "type": msg.type, "id": msg.id, "body": json_safe(msg.body),
                              "buffers": [{"name": k, "dtype": a.dtype.str, "shape": list(a.shape)}
                                          for k, a in arrays.items()]}
    for k in ("session", "job", "reply_to"):
        if getattr(msg, k) is not None:
            header[k] = getattr(msg, k)
    head = json.dumps(header, separators=(",", ":"), allow_nan=False).encode("utf-8")
    bufs = [memoryview(a).cast("B") for a in arrays.values()]
    sig = signature(key, [head, *bufs]) if key else b""
    return [MAGIC, sig, head, *bufs]


# ---------------------------------------------------------------------------------------------------
# Decoding: every check happens before any value is used.


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(s: str) -> float:
    v = float(s)
    if not math.isfinite(v):
        raise ValueError(f"number {s[:20]} overflows")
    return v


def parse_json(raw: bytes) -> Any:
    """Strict JSON: UTF-8, no NaN/Infinity, no overflowing numbers, bounded nesting."""
    return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant, parse_float=_finite_float)


def _check_id(h: dict, key: str, required: bool, mid: str | None) -> str | None:
    v = h.get(key)
    if v is None and not required:
        return None
    if not isinstance(v, str) or not ID_RE.match(v):
        raise E.ProtocolError(E.BAD_HEADER, f"header field {key!r} must be 1-64 characters of "
                              "[A-Za-z0-9_.:-]", mid)
    return v


def check_body(body: Any, spec: dict[str, Field], mid: str | None = None, job: str | None = None) -> dict:
    """Validate a body against its field specs; raise ProtocolError(BAD_BODY) naming the bad field."""
    if not isinstance(body, dict):
        raise E.ProtocolError(E.BAD_BODY, "body must be a JSON object", mid, job)
    unknown = sorted(set(body) - set(spec))
    if unknown:
        raise E.ProtocolError(E.BAD_BODY, f"unknown body field(s): {', '.join(map(str, unknown))[:200]}",
                              mid, job)
    for name, f in spec.items():
        if name not in body:
            if f.required:
                raise E.ProtocolError(E.BAD_BODY, f"body field {name!r} is missing", mid, job)
            continue
        v = body[name]
        if v is None and f.null:
            continue
        bad = _field_problem(v, f)
        if bad:
            raise E.ProtocolError(E.BAD_BODY, f"body field {name!r} {bad}", mid, job)
    return body


def _field_problem(v: Any, f: Field) -> str | None:
    if f.kind == "str":
        if not isinstance(v, str):
            return "must be a string"
        if len(v) > f.max_len:
            return f"is longer than {f.max_len} characters"
        if f.choices is not None and v not in f.choices:
            return f"must be one of {', '.join(f.choices)}"
        return None
    if f.kind == "bool":
        return None if isinstance(v, bool) else "must be true or false"
    if f.kind in ("int", "float"):
        ok = isinstance(v, int) if f.kind == "int" else isinstance(v, int | float)
        if isinstance(v, bool) or not ok:
            return f"must be {'an integer' if f.kind == 'int' else 'a number'}"
        if (f.lo is not None and v < f.lo) or (f.hi is not None and v > f.hi):
            return f"must lie in [{f.lo}, {f.hi}]"
        return None
    if f.kind == "object":
        return None if isinstance(v, dict) else "must be a JSON object"
    if f.kind == "list":
        return None if isinstance(v, list) else "must be a JSON list"
    return "has an unknown kind"  # pragma: no cover - schema bug


def _check_buffers(h: dict, frames: Sequence[bytes], schema: Schema, limits: Limits,
                   mid: str, job: str | None) -> dict[str, np.ndarray]:
    specs = h.get("buffers", [])
    if not isinstance(specs, list) or len(specs) != len(frames) - 3:
        raise E.ProtocolError(E.BAD_HEADER, f"header 'buffers' must list the {len(frames) - 3} buffer "
                              "frame(s) that follow it", mid, job)
    out: dict[str, np.ndarray] = {}
    for i, spec in enumerate(specs):
        if not isinstance(spec, dict) or set(spec) != {"name", "dtype", "shape"}:
            raise E.ProtocolError(E.BAD_HEADER, f"buffer {i} must be {{name, dtype, shape}}", mid, job)
        name, dtype, shape = spec["name"], spec["dtype"], spec["shape"]
        if not isinstance(name, str) or name not in schema.arrays:
            raise E.ProtocolError(E.BAD_ARRAY, f"buffer {i} has an unexpected name {str(name)[:40]!r}",
                                  mid, job)
        if name in out:
            raise E.ProtocolError(E.BAD_ARRAY, f"buffer {name!r} appears twice", mid, job)
        a = schema.arrays[name]
        if not isinstance(dtype, str) or dtype not in a.dtypes:
            raise E.ProtocolError(E.BAD_ARRAY, f"buffer {name!r} dtype must be one of {', '.join(a.dtypes)}",
                                  mid, job)
        if not isinstance(shape, list) or len(shape) != len(a.dims):
            raise E.ProtocolError(E.BAD_ARRAY, f"buffer {name!r} must have {len(a.dims)} dimensions",
                                  mid, job)
        for d, (n, rule) in enumerate(zip(shape, a.dims, strict=True)):
            if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                raise E.ProtocolError(E.BAD_ARRAY, f"buffer {name!r} dimension {d} must be an integer >= 0",
                                      mid, job)
            if isinstance(rule, int) and n != rule:
                raise E.ProtocolError(E.BAD_ARRAY, f"buffer {name!r} dimension {d} must be {rule}", mid, job)
            if isinstance(rule, tuple) and n not in rule:
                raise E.ProtocolError(E.BAD_ARRAY, f"buffer {name!r} dimension {d} must be one of {rule}",
                                      mid, job)
            if isinstance(rule, str) and n > getattr(limits, rule):
                raise E.ProtocolError(E.TOO_LARGE, f"buffer {name!r} dimension {d} is {n}, over the limit "
                                      f"{rule} = {getattr(limits, rule)}", mid, job)
        nbytes = math.prod(shape) * DTYPES[dtype].itemsize
        if nbytes != len(frames[3 + i]):
            raise E.ProtocolError(E.BAD_ARRAY, f"buffer {name!r} declares {nbytes} bytes but its frame has "
                                  f"{len(frames[3 + i])}", mid, job)
        arr = np.frombuffer(frames[3 + i], dtype=DTYPES[dtype]).reshape(shape)
        if a.finite and arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise E.ProtocolError(E.BAD_ARRAY, f"buffer {name!r} contains NaN or Inf", mid, job)
        out[name] = arr
    missing = [n for n, a in schema.arrays.items() if a.required and n not in out]
    if missing:
        raise E.ProtocolError(E.BAD_ARRAY, f"missing buffer(s): {', '.join(missing)}", mid, job)
    return out


def decode(frames: Sequence[bytes], key: bytes, schemas: dict[str, Schema], limits: Limits) -> Message:
    """Validate and decode one message; raise ProtocolError with the first problem found.

    Order: frame count and magic, sizes, signature (before any parsing), JSON, protocol version, type,
    ids, body fields, then each buffer's name, dtype, shape, limits and byte length."""
    if len(frames) < 3 or frames[0] != MAGIC:
        raise E.ProtocolError(E.BAD_FRAMES, "not a SoftFit message: expected [MAGIC, signature, header, "
                              "buffers...]", unverified=True)
    if len(frames) > limits.max_frames:
        raise E.ProtocolError(E.TOO_LARGE, f"{len(frames)} frames, over the limit of {limits.max_frames}",
                              unverified=True)
    total = sum(len(f) for f in frames)
    if total > limits.max_message_bytes:
        raise E.ProtocolError(E.TOO_LARGE, f"message of {total} bytes, over the limit of "
                              f"{limits.max_message_bytes}", unverified=True)
    if len(frames[2]) > limits.max_header_bytes:
        raise E.ProtocolError(E.TOO_LARGE, f"header of {len(frames[2])} bytes, over the limit of "
                              f"{limits.max_header_bytes}", unverified=True)
    sig = bytes(frames[1])
    if not key or len(sig) != SIGNATURE_LEN or not hmac.compare_digest(sig, signature(key, frames[2:])):
        raise E.ProtocolError(E.BAD_SIGNATURE, "missing or invalid signature: wrong token", unverified=True)
    try:
        h = parse_json(frames[2])
    except (ValueError, RecursionError) as exc:
        raise E.ProtocolError(E.BAD_HEADER, f"header is not valid JSON: {str(exc)[:120]}") from None
    if not isinstance(h, dict):
        raise E.ProtocolError(E.BAD_HEADER, "header must be a JSON object")
    mid = h.get("id") if isinstance(h.get("id"), str) and ID_RE.match(h["id"]) else None
    v = h.get("v")
    if type(v) is not int or v != PROTOCOL_VERSION:
        raise E.ProtocolError(E.PROTOCOL_MISMATCH, f"protocol version {str(v)[:20]} is not supported; this "
                              f"side speaks version {PROTOCOL_VERSION}", mid)
    unknown = set(h) - HEADER_KEYS
    if unknown:
        names = ", ".join(sorted(map(str, unknown)))[:200]
        raise E.ProtocolError(E.BAD_HEADER, f"unknown header field(s): {names}", mid)
    mid = _check_id(h, "id", True, mid)
    mtype = h.get("type")
    if not isinstance(mtype, str) or mtype not in schemas:
        raise E.ProtocolError(E.UNKNOWN_TYPE, f"unknown message type {str(mtype)[:40]!r}", mid)
    schema = schemas[mtype]
    session = _check_id(h, "session", schema.session, mid)
    job = _check_id(h, "job", schema.job, mid)
    reply_to = _check_id(h, "reply_to", False, mid)
    body = check_body(h.get("body"), schema.body, mid, job)
    arrays = _check_buffers(h, frames, schema, limits, mid, job)
    return Message(mtype, body, arrays, mid, session, job, reply_to, v)


def error_frames(key: bytes, code: str, message: str, reply_to: str | None = None, job: str | None = None,
                 signed: bool = True) -> list[bytes | memoryview]:
    """An `error` message; unsigned (empty signature) when answering a peer whose message was refused
    before its signature was verified: that peer may not hold the token, and must not get a MAC made
    with it. Unsigned errors never carry reply_to/job (they would echo unverified input)."""
    if not signed:
        reply_to = job = None
    msg = Message("error", {"code": code, "message": message[:1000]}, reply_to=reply_to, job=job)
    return encode(msg, key if signed else b"")


UNSIGNED_CODES = (E.BAD_FRAMES, E.BAD_SIGNATURE, E.TOO_LARGE)


def unsigned_error(frames: Sequence[bytes]) -> tuple[str, str] | None:
    """(code, message) of an unsigned `error` reply (the server refused our message before verifying its
    signature), or None when `frames` is not one. Nothing else is ever trusted unsigned."""
    if len(frames) != 3 or frames[0] != MAGIC or frames[1] != b"" or len(frames[2]) > 4096:
        return None
    try:
        h = parse_json(frames[2])
    except (ValueError, RecursionError):
        return None
    body = h.get("body") if isinstance(h, dict) else None
    if not isinstance(body, dict) or h.get("type") != "error" or body.get("code") not in UNSIGNED_CODES:
        return None
    return body["code"], str(body.get("message", ""))[:1000]

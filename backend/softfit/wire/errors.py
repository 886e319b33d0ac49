"""Exceptions of the wire client, and the error codes both sides put in `error` messages.

Everything the client raises derives from `WireError`, so a caller (the Blender panel) can catch one type
and show its one-line message."""

from __future__ import annotations

# Error codes carried in `error` messages and `JobError` events (documented in docs/protocol.md).
BAD_FRAMES = "bad_frames"  # wrong frame count or magic frame: not a SoftFit message
BAD_SIGNATURE = "bad_signature"  # missing or wrong HMAC signature: the peer does not hold the token
REPLAYED = "replayed"  # a signature seen before: a replayed message
BAD_HEADER = "bad_header"  # header is not a JSON object, or a header field is missing or malformed
PROTOCOL_MISMATCH = "protocol_mismatch"  # header `v` differs from this side's PROTOCOL_VERSION
UNKNOWN_TYPE = "unknown_type"  # `type` is not a request this side understands
BAD_BODY = "bad_body"  # a body field is missing, unknown or of the wrong type/range
BAD_ARRAY = "bad_array"  # a buffer's name, dtype, shape or byte length is wrong, or it holds NaN/Inf
TOO_LARGE = "too_large"  # over a limit: message bytes, header bytes, frames, views, side, vertices, faces
BAD_REQUEST = "bad_request"  # well-formed but unusable request (bad cameras/params/mesh), with the reason
UNKNOWN_JOB = "unknown_job"  # no job of that id belongs to this client
BUSY = "busy"  # the job queue or this client's job quota is full
CANCELLED = "cancelled"  # the job was cancelled before it started
FIT_FAILED = "fit_failed"  # the fitting engine raised an unexpected error
SHUTDOWN = "server_shutdown"  # the server is shutting down
INTERNAL = "internal"  # a server bug; the server keeps serving

CODES = (BAD_FRAMES, BAD_SIGNATURE, REPLAYED, BAD_HEADER, PROTOCOL_MISMATCH, UNKNOWN_TYPE, BAD_BODY,
         BAD_ARRAY, TOO_LARGE, BAD_REQUEST, UNKNOWN_JOB, BUSY, CANCELLED, FIT_FAILED, SHUTDOWN, INTERNAL)


class WireError(Exception):
    """Base of every client-side error."""


class ProtocolError(WireError):
    """A message that breaks the protocol; `code` is one of CODES, `msg_id`/`job` are set when known."""

    def __init__(self, code: str, message: str, msg_id: str | None = None, job: str | None = None,
                 unverified: bool = False):
        super().__init__(message)
        self.code, self.message, self.msg_id, self.job = code, message, msg_id, job
        # raised before the signature was verified: the peer may not hold the token, so the reply to it
        # is sent unsigned (signing it would hand an unauthenticated peer a MAC made with our key)
        self.unverified = unverified


class ServerGone(WireError):
    """The server did not answer within the heartbeat timeout (it died, or the network is down)."""


class ProtocolMismatch(WireError):
    """Client and server speak different protocol versions."""


class BadToken(WireError):
    """The server rejected our signature or our connection credentials, or its replies do not verify: the
    token is wrong (or, with CURVE, this client's key is not on the server's allow-list)."""


class RequestRejected(WireError):
    """The server answered a request with an error (e.g. a malformed or oversized fit request)."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


class JobFailed(WireError):
    """A job ended with an error instead of a result."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


class WireTimeout(WireError, TimeoutError):
    """The caller's own deadline passed while the server was still alive and working."""

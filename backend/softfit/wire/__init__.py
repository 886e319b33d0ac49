"""SoftFit's wire protocol and client over ZeroMQ (numpy + pyzmq only, relative imports only: this
package is copied verbatim into the Blender add-on). The server lives in `softfit.server`."""

from .client import Client
from .errors import BadToken, JobFailed, ProtocolMismatch, RequestRejected, ServerGone, WireError, WireTimeout
from .events import Event, JobError, Prepared, Progress, Queued, Result, VertexFrame
from .protocol import PROTOCOL_VERSION, SOFTFIT_VERSION, Limits

__version__ = SOFTFIT_VERSION

__all__ = [
    "PROTOCOL_VERSION", "BadToken", "Client", "Event", "JobError", "JobFailed", "Limits", "Prepared",
    "Progress", "ProtocolMismatch", "Queued", "RequestRejected", "Result", "ServerGone", "VertexFrame",
    "WireError", "WireTimeout",
]

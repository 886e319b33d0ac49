"""`softfit serve`: the ZeroMQ fitting server (ROUTER socket, job queue, fits in worker threads).
The protocol and client live in `softfit.wire`; docs/protocol.md describes both."""

from softfit.server.loop import ServeConfig, Server

__all__ = ["ServeConfig", "Server"]

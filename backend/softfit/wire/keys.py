"""CURVE keys for a backend on another machine: `server.key` (public, give it to clients) and
`server.key_secret` (stays on the server), in ZeroMQ's certificate format (zmq.auth)."""

from __future__ import annotations

import os
from pathlib import Path

import zmq
import zmq.auth

from .errors import WireError

SERVER_NAME = "server"


def curve_available() -> bool:
    return bool(zmq.has("curve"))


def generate_keys(directory: str | os.PathLike) -> tuple[Path, Path]:
    """Create a server key pair in `directory` (made if needed); refuse to overwrite an existing pair."""
    if not curve_available():
        raise WireError("this libzmq was built without CURVE support")
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    public, secret = d / f"{SERVER_NAME}.key", d / f"{SERVER_NAME}.key_secret"
    if public.exists() or secret.exists():
        raise WireError(f"{d} already holds {SERVER_NAME}.key/.key_secret; delete them to make new keys")
    zmq.auth.create_certificates(d, SERVER_NAME)
    os.chmod(secret, 0o600)
    return public, secret


def load_server_keys(directory: str | os.PathLike) -> tuple[bytes, bytes]:
    """(public, secret) Z85 keys from a folder made by `generate_keys`."""
    secret_file = Path(directory) / f"{SERVER_NAME}.key_secret"
    if not secret_file.is_file():
        raise WireError(f"no {secret_file.name} in {directory}: create keys with "
                        "`softfit serve --generate-keys DIR`")
    try:
        public, secret = zmq.auth.load_certificate(secret_file)
    except (OSError, ValueError) as exc:
        raise WireError(f"cannot read CURVE keys from {secret_file}: {exc}") from exc
    if not secret:
        raise WireError(f"{secret_file} holds no secret key")
    return public, secret


def load_public_key(source: str | bytes | os.PathLike) -> bytes:
    """A server's public key from a `server.key` file, or the 40-character Z85 key itself."""
    if isinstance(source, bytes):
        key = source
    elif isinstance(source, str) and len(source) == 40 and not os.path.exists(source):
        key = source.encode("ascii")
    else:
        try:
            key, _ = zmq.auth.load_certificate(source)
        except (OSError, ValueError) as exc:
            raise WireError(f"cannot read a CURVE public key from {source}: {exc}") from exc
    if len(key) != 40:
        raise WireError("a CURVE public key is 40 Z85 characters")
    return key

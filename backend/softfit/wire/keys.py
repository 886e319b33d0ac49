"""CURVE keys for a backend on another machine, in ZeroMQ's certificate format (zmq.auth).

A key folder (`softfit keys server DIR`) holds `server.key` (public: give it to clients),
`server.key_secret` (stays on the server, mode 0600) and `clients/`, the allow-list: one `NAME.key`
public certificate per client that may connect (`softfit keys client DIR NAME`). The server's ZAP
handler (zmq.auth) refuses any other client during the CURVE handshake, before it can send a message.
Secret-key files that other users can read are refused: a key others may have copied proves nothing."""

from __future__ import annotations

import os
import re
import shutil
import stat
from pathlib import Path

import zmq
import zmq.auth

from .errors import WireError

SERVER_NAME = "server"
CLIENTS_DIR = "clients"
NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}\Z")


def curve_available() -> bool:
    return bool(zmq.has("curve"))


def check_private(path: str | os.PathLike, what: str = "secret key") -> None:
    """Refuse a file that users other than its owner may read or write (POSIX permissions)."""
    if os.name != "posix":
        return  # Windows ACLs: the user profile is private by default
    mode = Path(path).stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise WireError(f"{path} ({what}) is readable or writable by other users (mode "
                        f"{oct(mode & 0o777)}): run `chmod 600 {path}` and, if others may have read it, "
                        "make new keys")


def _secure_dir(d: Path) -> None:
    d.mkdir(parents=True, exist_ok=True)
    if os.name == "posix":
        os.chmod(d, 0o700)


def generate_keys(directory: str | os.PathLike) -> tuple[Path, Path]:
    """Create a server key pair and an empty client allow-list in `directory` (made if needed); refuse to
    overwrite an existing pair."""
    if not curve_available():
        raise WireError("this libzmq was built without CURVE support")
    d = Path(directory)
    _secure_dir(d)
    public, secret = d / f"{SERVER_NAME}.key", d / f"{SERVER_NAME}.key_secret"
    if public.exists() or secret.exists():
        raise WireError(f"{d} already holds {SERVER_NAME}.key/.key_secret; delete them to make new keys")
    zmq.auth.create_certificates(d, SERVER_NAME)
    os.chmod(secret, 0o600)
    _secure_dir(d / CLIENTS_DIR)
    return public, secret


def generate_client_keys(directory: str | os.PathLike, name: str,
                         out: str | os.PathLike | None = None) -> tuple[Path, Path]:
    """A key pair for client `name`: its public certificate joins the allow-list `DIR/clients/NAME.key`;
    the secret one goes to `out` (default `DIR/issued/NAME/`) with a copy of `server.key`, the folder to
    hand to that client. Returns (allow-listed public file, secret file)."""
    if not NAME_RE.match(name) or name == SERVER_NAME:
        raise WireError(f"a client name is 1-64 characters of [A-Za-z0-9_.-] (not {SERVER_NAME!r}), "
                        f"got {name!r}")
    d = Path(directory)
    server_public = d / f"{SERVER_NAME}.key"
    if not server_public.is_file():
        raise WireError(f"no {server_public.name} in {d}: create the server keys first with "
                        "`softfit keys server DIR`")
    allowed = d / CLIENTS_DIR / f"{name}.key"
    if allowed.exists():
        raise WireError(f"client {name!r} is already on the allow-list ({allowed}); remove that file to "
                        "replace its key")
    target = Path(out) if out is not None else d / "issued" / name
    _secure_dir(target)
    if (target / f"{name}.key_secret").exists():
        raise WireError(f"{target / (name + '.key_secret')} exists; choose another --out")
    public, secret = zmq.auth.create_certificates(target, name)
    os.chmod(secret, 0o600)
    shutil.copyfile(server_public, target / f"{SERVER_NAME}.key")
    _secure_dir(d / CLIENTS_DIR)
    shutil.copyfile(public, allowed)
    return allowed, Path(secret)


def list_keys(directory: str | os.PathLike) -> tuple[str | None, list[tuple[str, str]]]:
    """(server public key or None, [(client name, public key)] on the allow-list)."""
    d = Path(directory)
    server = None
    if (d / f"{SERVER_NAME}.key").is_file():
        server = load_public_key(d / f"{SERVER_NAME}.key").decode("ascii")
    clients = []
    for f in sorted((d / CLIENTS_DIR).glob("*.key")) if (d / CLIENTS_DIR).is_dir() else []:
        clients.append((f.stem, load_public_key(f).decode("ascii")))
    return server, clients


def allowed_clients_dir(directory: str | os.PathLike) -> Path:
    """The allow-list folder of a key folder; WireError when it names no client (nobody could connect)."""
    d = Path(directory) / CLIENTS_DIR
    if not d.is_dir() or not any(d.glob("*.key")):
        raise WireError(f"no client keys in {d}: add one with `softfit keys client {directory} NAME` (only "
                        "listed clients may connect)")
    return d


def load_server_keys(directory: str | os.PathLike) -> tuple[bytes, bytes]:
    """(public, secret) Z85 keys from a folder made by `generate_keys`."""
    return load_secret_keys(Path(directory) / f"{SERVER_NAME}.key_secret")


def load_secret_keys(secret_file: str | os.PathLike) -> tuple[bytes, bytes]:
    """(public, secret) Z85 keys from a `.key_secret` certificate only its owner can read."""
    secret_file = Path(secret_file)
    if not secret_file.is_file():
        raise WireError(f"no {secret_file.name} in {secret_file.parent}: create keys with "
                        "`softfit keys server DIR` (server) or `softfit keys client DIR NAME` (client)")
    check_private(secret_file)
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

"""`softfit serve`: run the fitting server for Blender (or any wire client).

By default it binds ipc:// in a fresh 0700 folder (POSIX; TCP 127.0.0.1 on a free port elsewhere or with
--port) with a fresh token, prints {address, token, pid} as one JSON line and, with --announce FILE,
writes the same JSON there (mode 0600). A chosen token comes from --token-file or $SOFTFIT_TOKEN, never
the command line (every user sees it in `ps`). A non-loopback --bind needs CURVE keys and a client
allow-list: `softfit keys server DIR`, `softfit keys client DIR NAME` per client, start with
--curve-keys DIR (docs/security.md)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from pathlib import Path

from softfit.errors import InputError

TOKEN_ENV = "SOFTFIT_TOKEN"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from softfit.wire.protocol import Limits

    d = Limits()
    p.add_argument("--bind", default="auto", help="auto (ipc:// in a private folder on POSIX, else "
                   "127.0.0.1), ipc, or an address (non-loopback needs --curve-keys)")
    p.add_argument("--port", type=int, default=0, help="TCP port (0 = a free one; with --bind auto, a "
                   "port means TCP on 127.0.0.1)")
    p.add_argument("--token", default=None, help=argparse.SUPPRESS)  # refused: visible in `ps`
    p.add_argument("--token-file", type=Path, default=None, help="file holding the token (>= 32 hex "
                   f"digits, readable by its owner only); else ${TOKEN_ENV}; else a random one")
    p.add_argument("--announce", type=Path, default=None, help="write {address, token, pid} JSON here")
    p.add_argument("--curve-keys", type=Path, default=None, help="key folder from `softfit keys server` "
                   "(server.key_secret; clients/ is the allow-list)")
    p.add_argument("--allow-clients", type=Path, default=None, metavar="DIR",
                   help="allow-list folder of client public keys (default: CURVE-KEYS/clients)")
    p.add_argument("--generate-keys", type=Path, default=None, metavar="DIR",
                   help="create a CURVE key pair in DIR and exit (same as `softfit keys server DIR`)")
    p.add_argument("--workers", type=int, default=0, help="fits run at the same time, shared fairly "
                   "between clients (0 = one per GPU, or one on a CPU)")
    p.add_argument("--parent-pid", type=int, default=None, help="exit when this process dies")
    p.add_argument("--client-timeout", type=float, default=10.0,
                   help="seconds of client silence after which its jobs are cancelled")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="device reported "
                   "and checked at start (each fit's params pick theirs)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = cores / workers); "
                   "requests cannot change it")
    p.add_argument("--max-message-mb", type=int, default=d.max_message_bytes // 2**20,
                   help="largest request (MAXMSGSIZE)")
    p.add_argument("--max-views", type=int, default=d.max_views)
    p.add_argument("--max-side", type=int, default=d.max_side, help="largest image side in pixels")
    p.add_argument("--max-vertices", type=int, default=d.max_vertices)
    p.add_argument("--max-faces", type=int, default=d.max_faces)
    p.add_argument("--max-jobs", type=int, default=d.max_jobs, help="jobs held (queued, running, unread)")
    p.add_argument("--max-jobs-per-client", type=int, default=d.max_jobs_per_client,
                   help="jobs one client may hold at once")
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))


def run(args: argparse.Namespace) -> int:
    from softfit.wire.errors import WireError
    from softfit.wire.keys import generate_keys

    if args.generate_keys is not None:
        try:
            public, secret = generate_keys(args.generate_keys)
        except WireError as exc:
            raise InputError(str(exc)) from None
        print(f"public key (give to clients): {public}\nsecret key (keep on the server): {secret}")
        return 0

    from softfit.wire.protocol import NON_LOOPBACK, Limits, is_loopback

    if args.bind not in ("auto", "ipc") and not is_loopback(args.bind) and args.curve_keys is None:
        raise InputError(NON_LOOPBACK.format(bind=args.bind))  # before torch is imported: fail fast
    token = read_token(args)
    from softfit.server import ServeConfig, Server

    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="softfit serve %(asctime)s %(levelname)s %(message)s")
    try:
        limits = Limits(max_message_bytes=args.max_message_mb * 2**20, max_views=args.max_views,
                        max_side=args.max_side, max_vertices=args.max_vertices, max_faces=args.max_faces,
                        max_jobs=args.max_jobs, max_jobs_per_client=args.max_jobs_per_client)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if args.threads < 0:
        raise InputError(f"--threads must be >= 0, got {args.threads}")
    if args.port < 0 or args.port > 65535:
        raise InputError(f"--port must lie in [0, 65535], got {args.port}")
    if args.workers < 0:
        raise InputError(f"--workers must be >= 0 (0 = automatic), got {args.workers}")
    workers = args.workers
    if workers == 0:
        from softfit.server.device import device_info
        from softfit.server.loop import default_workers

        workers = default_workers(device_info(args.device)[0])
    config = ServeConfig(bind=args.bind, port=args.port, token=token, announce=args.announce,
                         curve_keys=args.curve_keys, allow_clients=args.allow_clients, workers=workers,
                         parent_pid=args.parent_pid, client_timeout=args.client_timeout, device=args.device,
                         limits=limits)
    server = Server(config)
    import torch

    torch.set_num_threads(args.threads or max(1, torch.get_num_threads() // config.workers))
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: server.stop(signal.Signals(signum).name))
    if args.announce is not None:
        server.write_announce(args.announce)
    print(json.dumps(server.announcement()), flush=True)
    logging.getLogger("softfit.server").info("serving on %s (%s: %s, %d worker(s))", server.address,
                                             server.device, server.device_name, config.workers)
    server.serve_forever()
    return 0


def read_token(args: argparse.Namespace) -> str | None:
    """The token from --token-file or $SOFTFIT_TOKEN (None: the server makes a random one). Never from the
    command line, where every local user can read it; a token file others can read is refused."""
    from softfit.wire.errors import WireError
    from softfit.wire.keys import check_private
    from softfit.wire.protocol import check_token

    if args.token is not None:
        raise InputError(f"--token is not accepted: the command line is visible to every user (`ps`); put "
                         f"the token in a file only you can read and pass --token-file FILE, or set "
                         f"${TOKEN_ENV}")
    if args.token_file is not None:
        try:
            check_private(args.token_file, "token file")
            text = args.token_file.read_text(encoding="utf-8")
        except WireError as exc:
            raise InputError(str(exc)) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read the token file {args.token_file}: {exc}") from None
        source = str(args.token_file)
    elif os.environ.get(TOKEN_ENV):
        text, source = os.environ[TOKEN_ENV], f"${TOKEN_ENV}"
    else:
        return None
    try:
        return check_token(text)
    except ValueError as exc:
        raise InputError(f"{source}: {exc}") from None

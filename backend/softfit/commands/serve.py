"""`softfit serve`: run the fitting server for Blender (or any wire client).

By default it binds 127.0.0.1 on a free port with a fresh token, prints {address, token, pid} as one
JSON line and, with --announce FILE, writes the same JSON there (mode 0600). A non-loopback --bind needs
CURVE keys: create them once with `softfit serve --generate-keys DIR`, start with --curve-keys DIR and
give clients DIR/server.key."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from pathlib import Path

from softfit.errors import InputError


def add_arguments(p: argparse.ArgumentParser) -> None:
    from softfit.wire.protocol import Limits

    d = Limits()
    p.add_argument("--bind", default="127.0.0.1", help="address to bind (non-loopback needs --curve-keys)")
    p.add_argument("--port", type=int, default=0, help="TCP port (0 = a free one)")
    p.add_argument("--token", default=None, help="per-launch key clients sign with (default: random)")
    p.add_argument("--announce", type=Path, default=None, help="write {address, token, pid} JSON here")
    p.add_argument("--curve-keys", type=Path, default=None, help="folder with server.key_secret (CURVE)")
    p.add_argument("--generate-keys", type=Path, default=None, metavar="DIR",
                   help="create a CURVE key pair in DIR and exit")
    p.add_argument("--workers", type=int, default=1, help="fits run at the same time")
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

    if not is_loopback(args.bind) and args.curve_keys is None:  # before torch is imported: fail fast
        raise InputError(NON_LOOPBACK.format(bind=args.bind))
    from softfit.server import ServeConfig, Server

    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="softfit serve %(asctime)s %(levelname)s %(message)s")
    try:
        limits = Limits(max_message_bytes=args.max_message_mb * 2**20, max_views=args.max_views,
                        max_side=args.max_side, max_vertices=args.max_vertices, max_faces=args.max_faces,
                        max_jobs=args.max_jobs)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if args.threads < 0:
        raise InputError(f"--threads must be >= 0, got {args.threads}")
    if args.port < 0 or args.port > 65535:
        raise InputError(f"--port must lie in [0, 65535], got {args.port}")
    config = ServeConfig(bind=args.bind, port=args.port, token=args.token, announce=args.announce,
                         curve_keys=args.curve_keys, workers=args.workers, parent_pid=args.parent_pid,
                         client_timeout=args.client_timeout, device=args.device,
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

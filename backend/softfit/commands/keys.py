"""`softfit keys`: CURVE keys for a remote backend and its client allow-list (docs/security.md).

    softfit keys server DIR          server key pair + empty allow-list DIR/clients/
    softfit keys client DIR NAME     a client key pair; its public key joins DIR/clients/, the secret one
                                     (with server.key) goes to DIR/issued/NAME/ (or --out) for that client
    softfit keys list DIR            the server's public key and every allow-listed client

Remove a client by deleting DIR/clients/NAME.key and restarting the server."""

from __future__ import annotations

import argparse

from softfit.errors import InputError


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    s = sub.add_parser("server", help="create the server's key pair and an empty client allow-list")
    s.add_argument("dir")
    c = sub.add_parser("client", help="create a client key pair and add it to the allow-list")
    c.add_argument("dir")
    c.add_argument("name", help="client name: 1-64 characters of [A-Za-z0-9_.-]")
    c.add_argument("--out", default=None, help="folder for the client's secret key (default DIR/issued/NAME)")
    ls = sub.add_parser("list", help="show the server's public key and the allow-listed clients")
    ls.add_argument("dir")


def run(args: argparse.Namespace) -> int:
    from softfit.wire.errors import WireError
    from softfit.wire.keys import generate_client_keys, generate_keys, list_keys

    try:
        if args.keys_command == "server":
            public, secret = generate_keys(args.dir)
            print(f"public key (give to clients): {public}\nsecret key (keep on the server): {secret}\n"
                  f"add clients with: softfit keys client {args.dir} NAME")
        elif args.keys_command == "client":
            allowed, secret = generate_client_keys(args.dir, args.name, args.out)
            print(f"allow-listed: {allowed}\nclient secret key (give to {args.name} with server.key, "
                  f"keep private): {secret}")
        else:
            server, clients = list_keys(args.dir)
            print(f"server {server or '(no server.key)'}")
            for name, key in clients:
                print(f"client {name} {key}")
            if not clients:
                print("no allow-listed clients: nobody can connect to a CURVE server using this folder")
    except WireError as exc:
        raise InputError(str(exc)) from None
    return 0

"""``python -m examples.acme_cloud``: serve the Acme cloud; the first line printed is its URL."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import signal
import socket
import sys
from pathlib import Path

import uvicorn

from .app import create_app
from .config import DEFAULT_PORT, OAuthClient, Settings
from .store import AcmeStore


def parse_args(argv: list[str] | None = None) -> Settings:
    parser = argparse.ArgumentParser(prog="python -m examples.acme_cloud", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="0 picks a free port (printed)"
    )
    parser.add_argument(
        "--auto-approve",
        action="store_true",
        help="skip the consent page: /oauth/authorize redirects with a code at once",
    )
    parser.add_argument(
        "--client",
        action="append",
        metavar="ID:SECRET[:REDIRECT_URI_PREFIX]",
        help="a registered OAuth client (repeatable; default acme-client:acme-secret)",
    )
    parser.add_argument("--seed-file", type=Path, help="JSON seed of users and devices")
    parser.add_argument("--state-file", type=Path, help="keep all state in this JSON file")
    parser.add_argument("--access-token-ttl", type=float, default=3600.0, metavar="SECONDS")
    parser.add_argument(
        "--refresh-token-ttl",
        type=float,
        default=30 * 86400.0,
        metavar="SECONDS",
        help="0: refresh tokens never expire",
    )
    parser.add_argument("--code-ttl", type=float, default=60.0, metavar="SECONDS")
    parser.add_argument(
        "--rotate-refresh-tokens",
        action="store_true",
        help="every refresh returns a new refresh token and retires the old one",
    )
    parser.add_argument("--access-log", action="store_true")
    args = parser.parse_args(argv)
    try:
        clients = tuple(OAuthClient.parse(text) for text in args.client or ())
    except ValueError as exc:
        parser.error(str(exc))
    settings = Settings(
        host=args.host,
        port=args.port,
        auto_approve=args.auto_approve,
        access_token_ttl=args.access_token_ttl,
        refresh_token_ttl=args.refresh_token_ttl,
        code_ttl=args.code_ttl,
        rotate_refresh_tokens=args.rotate_refresh_tokens,
        seed_file=args.seed_file,
        state_file=args.state_file,
        access_log=args.access_log,
    )
    return dataclasses.replace(settings, clients=clients) if clients else settings


def main(argv: list[str] | None = None) -> None:
    settings = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        store = AcmeStore(settings)
    except (OSError, ValueError) as exc:
        print(f"acme-cloud: {exc}", file=sys.stderr)
        sys.exit(2)
    # Bind before printing, so that --port 0 reports the real port.
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.host, settings.port))
    except OSError as exc:
        print(
            f"acme-cloud: cannot listen on {settings.host}:{settings.port}: {exc}", file=sys.stderr
        )
        sys.exit(1)
    sock.listen(128)
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    print(f"acme-cloud listening on http://{host}:{sock.getsockname()[1]}", flush=True)
    clients = ", ".join(f"{c.client_id}:{c.client_secret}" for c in settings.clients)
    print(f"oauth clients: {clients}; users: {', '.join(store.users)}", flush=True)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, store),
            log_level="warning",
            access_log=settings.access_log,
            timeout_graceful_shutdown=5,
        )
    )
    # uvicorn re-raises the stop signal after shutting down; exit 0 instead of dying by it.
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, lambda *_: None)
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()

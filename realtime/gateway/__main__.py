"""python -m realtime.gateway [--demo] [--port 8000] [--redis-url URL] … (see --help)
python -m realtime.gateway token --role viewer --sub 7 [--scan ID …] [--ttl 1d]"""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from realtime import auth, debug
from realtime.gateway.running import bind
from realtime.gateway.server import Gateway
from realtime.options import DebugOptions, GatewayOptions, add_arguments, from_args, from_env


def token(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m realtime.gateway token",
        description="Mint a signed token with the gateway's secret (BUGHUNT_SECRET or BUGHUNT_SECRET_FILE).")
    parser.add_argument("--role", required=True, choices=auth.ROLES)
    parser.add_argument("--sub", required=True, help="user id: a viewer may join user_<sub>")
    parser.add_argument("--scan", action="append", help="limit to this scan (repeat): a read-only link")
    parser.add_argument("--ttl", default="1d", help="lifetime, e.g. 30m, 12h, 7d; 0: no expiry (default 1d)")
    args = parser.parse_args(argv)
    try:
        secret = auth.load_secret(from_env(GatewayOptions).secret_file)
        print(auth.Authenticator(secret).mint(args.sub, args.role, args.scan, auth.parse_ttl(args.ttl) or None))
    except (ValueError, OSError) as exc:
        parser.error(str(exc))


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["token"]:
        return token(argv[1:])
    parser = argparse.ArgumentParser(
        prog="python -m realtime.gateway",
        description="Bug Hunt Monitor gateway: Socket.IO for dashboards, POST /api/events for "
                    "scanners. Every flag can also be set by its environment variable.")
    add_arguments(parser, GatewayOptions)
    args = parser.parse_args(argv)
    try:
        options = from_args(GatewayOptions, args)
    except ValueError as exc:
        parser.error(str(exc))
    if options.state_db and options.redis_url:
        parser.error("--state-db keeps a single gateway's stream; with --redis-url the stream is shared "
                     "and the other gateways still serve resume. Use one or the other.")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        debug.configure(from_env(DebugOptions))
    except ValueError as exc:
        parser.error(str(exc))
    try:
        gateway = Gateway(options)
    except (ValueError, OSError) as exc:  # e.g. a short secret or an unreadable secret file
        parser.error(str(exc))
    try:
        sock = bind(options.host, options.port)
    except OSError as exc:
        parser.error(f"cannot listen on {options.host}:{options.port}: {exc.strerror}")
    host, port = sock.getsockname()[:2]
    print(f"gateway listening on http://{host}:{port} ({gateway.mode} mode)", flush=True)
    try:
        asyncio.run(gateway.server().serve(sockets=[sock]))
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()

"""python -m realtime.gateway [--demo] [--port 8000] [--redis-url URL] … (see --help)
python -m realtime.gateway token --role viewer --sub 7 [--scan ID …] [--ttl 7d] [--start-scans]
python -m realtime.gateway token revoke TOKEN-OR-ID"""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from realtime import auth, debug
from realtime.gateway.running import bind
from realtime.gateway.server import Gateway
from realtime.options import DebugOptions, GatewayOptions, add_arguments, from_args, from_env


def revoke(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m realtime.gateway token revoke",
        description="Revoke a token at the gateway: its id goes to the BUGHUNT_REVOKED_TOKENS file, which "
                    "running gateways re-read when it changes.")
    parser.add_argument("token", help="the token, or its id (printed when it was minted)")
    args = parser.parse_args(argv)
    options = from_env(GatewayOptions)
    if not options.revoked_tokens:
        parser.error("set BUGHUNT_REVOKED_TOKENS to the revocation file the gateway reads")
    ident = auth.token_id(args.token) if args.token.count(".") == 2 else args.token
    if not ident:
        parser.error("that token has no id (minted before revocation existed): rotate the secret instead")
    auth.Revocations(options.revoked_tokens).add(ident)
    print(f"revoked token {ident}")


def token(argv: list[str]) -> None:
    if argv[:1] == ["revoke"]:
        return revoke(argv[1:])
    parser = argparse.ArgumentParser(
        prog="python -m realtime.gateway token",
        description="Mint a signed token with the gateway's secret (BUGHUNT_SECRET or BUGHUNT_SECRET_FILE).")
    parser.add_argument("--role", required=True, choices=auth.ROLES)
    parser.add_argument("--sub", required=True, help="user id: a viewer may join user_<sub>")
    parser.add_argument("--scan", action="append", help="limit to this scan (repeat): a read-only link")
    parser.add_argument("--ttl", default="7d",
                        help="lifetime, e.g. 30m, 12h, 7d, at most BUGHUNT_TOKEN_MAX_TTL (default 7d)")
    parser.add_argument("--start-scans", action="store_true", help="may start scans (`start_scan`)")
    args = parser.parse_args(argv)
    try:
        minted = auth.for_gateway(from_env(GatewayOptions)).mint(
            args.sub, args.role, args.scan, auth.parse_ttl(args.ttl) or None, start_scans=args.start_scans)
    except (ValueError, OSError) as exc:
        parser.error(str(exc))
    print(minted)
    print(f"token id {auth.token_id(minted)} (`token revoke` it to end it early)", file=sys.stderr)


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

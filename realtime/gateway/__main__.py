"""python -m realtime.gateway [--demo] [--port 8000] [--redis-url URL] … (see --help)."""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from realtime.gateway.server import Gateway, bind
from realtime.options import GatewayOptions, add_arguments, from_args


def main(argv: list[str] | None = None) -> None:
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
    gateway = Gateway(options)
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

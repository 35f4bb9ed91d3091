"""python -m realtime.alerts: the alert worker.

    python -m realtime.alerts --rules alerts.toml              # follow the gateway, send alerts
    python -m realtime.alerts --rules alerts.toml --dry-run    # print what it would send instead
    python -m realtime.alerts test --rules alerts.toml         # a test message to each destination

The gateway: --url / BUGHUNT_WS_URL and a viewer token BUGHUNT_WS_TOKEN; failures are told to
the dashboards with a producer token (BUGHUNT_PRODUCER_TOKEN).
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import signal
import sys
import tempfile
import threading

from realtime.alerts import messages
from realtime.alerts.delivery import apprise_deliver
from realtime.alerts.lease import Lease, RedisLease, SqliteLease
from realtime.alerts.rules import Config, Destination, load
from realtime.alerts.state import connect
from realtime.alerts.worker import Worker
from realtime.auth import Authenticator, load_secret
from realtime.client import RealtimeClient
from realtime.options import AlertOptions, ClientOptions, add_arguments, from_args, from_env
from realtime.publisher import Publisher

log = logging.getLogger("bughunt.alerts")


def follow(worker: Worker, url: str, token: str | None) -> RealtimeClient:
    """The one place that makes and connects the worker's client."""
    client = RealtimeClient(worker.store, from_env(ClientOptions)).start()
    client.on("*", worker.on_event)
    client.connect(url, auth={"token": token} if token else None)
    return client


def links(options: AlertOptions) -> messages.Links:
    """Dashboard links; read-only scan links when the gateway's secret is configured."""
    secret = load_secret(os.environ.get("BUGHUNT_SECRET_FILE", ""))
    if not secret or not options.dashboard_url:
        return messages.Links(options.dashboard_url)
    auth = Authenticator(secret)
    return messages.Links(options.dashboard_url,
                          lambda scan_id: auth.mint(f"alerts-{scan_id}"[:64], "viewer", [scan_id],
                                                    ttl=int(options.link_ttl)))


def printed(destination: Destination, title: str, body: str, fmt: str, notify_type: str) -> None:
    """--dry-run's delivery: show it, send nothing."""
    unresolved = " — URL not resolved" if destination.unresolved else ""
    print(f"--- to {destination.name} ({destination.dialect}, {fmt}, {notify_type}){unresolved}\n{title}\n{body}\n",
          flush=True)


def test(config: Config) -> int:
    failed = 0
    for name, destination in config.destinations.items():
        message = messages.Message(("Bug Hunt Monitor: test alert",),
                                   ((f"A test message from the alert worker: alerts to {name} work.",),))
        why = apprise_deliver(destination, *messages.render(message, destination.dialect), "info")
        print(f"{name}: " + ("ok" if why is None else f"FAILED: {why}"), flush=True)
        failed += why is not None
    return 1 if failed else 0


def make_lease(options: AlertOptions) -> Lease:
    if options.redis_url:
        return RedisLease(options.redis_url, options.lease_seconds)
    return SqliteLease(connect(options.db), options.lease_seconds)


def run(config: Config, options: AlertOptions, args: argparse.Namespace) -> int:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    lease = None if args.dry_run else make_lease(options)
    while lease is not None and not lease.acquire():
        print("standby: another alert worker holds the lease", flush=True)
        if stop.wait(options.lease_seconds / 3):
            return 0
    announce = None
    if not args.dry_run:
        publisher = Publisher(args.url, args.producer_token, retry_for=1, timeout=5)
        announce = lambda data: publisher.publish("notification", data)  # noqa: E731
    worker = Worker(config, options, links(options), printed if args.dry_run else apprise_deliver, lease, announce,
                    dry_run=args.dry_run)
    worker.start()
    client = follow(worker, args.url, args.token)
    print(f"alert worker running: {len(config.rules)} rules, destinations {', '.join(config.destinations)}",
          flush=True)
    code = 0
    try:
        while not stop.wait(options.lease_seconds / 4):
            if lease is not None and not lease.acquire():
                log.error("lost the lease to another alert worker: stopping")
                code = 3
                break
    finally:
        client.close()
        worker.stop()
        if lease is not None:
            lease.release()
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m realtime.alerts", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", choices=("run", "test"), default="run")
    parser.add_argument("--url", default=os.environ.get("BUGHUNT_WS_URL") or "http://127.0.0.1:8000",
                        help="gateway URL [env BUGHUNT_WS_URL, default %(default)s]")
    parser.add_argument("--token", default=os.environ.get("BUGHUNT_WS_TOKEN"),
                        help="viewer token [env BUGHUNT_WS_TOKEN]")
    parser.add_argument("--producer-token", default=os.environ.get("BUGHUNT_PRODUCER_TOKEN"),
                        help="producer token, to tell dashboards about failing destinations "
                             "[env BUGHUNT_PRODUCER_TOKEN]")
    parser.add_argument("--dry-run", action="store_true", help="print the alerts instead of sending them")
    add_arguments(parser, AlertOptions)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for noisy in ("socketio.client", "engineio.client"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        options = from_args(AlertOptions, args)
        config = load(options.rules, dry_run=args.dry_run and args.command == "run")
    except (ValueError, OSError) as exc:  # RulesError is a ValueError
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for destination in config.destinations.values():
        if destination.unresolved:
            print(f"warning: {destination.unresolved} (dry run: its alerts are shown, not sent)", file=sys.stderr,
                  flush=True)
    if args.command == "test":
        return test(config)
    if not args.dry_run:
        return run(config, options, args)
    with tempfile.TemporaryDirectory(prefix="alerts-dry-") as scratch:  # nothing it sees counts as handled
        return run(config, dataclasses.replace(options, db=os.path.join(scratch, "db.sqlite")), args)


if __name__ == "__main__":
    sys.exit(main())

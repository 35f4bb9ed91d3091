"""Publisher: how scanners and scripts send events to the gateway (POST /api/events).

    from realtime.publisher import Publisher
    pub = Publisher("http://127.0.0.1:8000")
    pub.publish("scan_progress", {"scan_id": "42", "progress": 40, "phase": "active_recon"})

Command line, one event:
    python -m realtime.publisher scan_progress '{"scan_id": "42", "progress": 40}'
or JSON lines on stdin, `{"event": ..., "data": {...}}` each, sent in batches as they come:
    my-scanner --json | python -m realtime.publisher
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import queue
import random
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from realtime import protocol
from realtime.options import PublisherOptions, from_env

DEFAULT_URL = "http://127.0.0.1:8000"


class PublishError(Exception):
    """The gateway refused the events (4xx other than 429): retrying would not help. `details` says why."""

    def __init__(self, status: int, body: Any):
        self.status, self.body = status, body
        message = body.get("error") if isinstance(body, dict) else str(body)
        super().__init__(f"HTTP {status}: {message}")


class NotAccepted(Exception):
    """Publishing stopped: `published` events were accepted, `failed` were not (`cause` says why)."""

    def __init__(self, published: int, failed: int, cause: Exception):
        self.published, self.failed, self.cause = published, failed, cause
        super().__init__(f"{failed} events were not accepted ({published} were): {cause}")


class Publisher:
    """Sends batches to POST /api/events. A batch carries an `Idempotency-Key` (the same on every
    retry, so a gateway never counts it twice) and the producer's name (`X-Producer`: rate limits
    are per producer). 429 and 503 are retried after the gateway's `Retry-After` (capped, with
    jitter) and connection errors with backoff, for `retry_for` seconds in all."""

    def __init__(self, url: str = DEFAULT_URL, token: str | None = None, retry_for: float = 300.0,
                 backoff: float = 0.5, timeout: float = 10.0, producer: str | None = None):
        self.endpoint = url.rstrip("/") + "/api/events"
        self.token = token
        self.retry_for, self.backoff, self.timeout = retry_for, backoff, timeout
        self.producer = producer or f"{socket.gethostname()}-{os.getpid()}"
        self.refusals = 0  # 429/503 answers waited out

    def publish(self, event: str, data: dict) -> int:
        return self.publish_many([(event, data)])

    def publish_many(self, events: Iterable[tuple[str, dict]]) -> int:
        """Send events as one batch (all or nothing). Returns how many were accepted; raises
        PublishError on a refusal, ConnectionError once `retry_for` seconds of retries ran out."""
        body = json.dumps([{"event": e, "data": d} for e, d in events]).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex,
                   "X-Producer": self.producer}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        deadline = time.monotonic() + self.retry_for
        for attempt in itertools.count():
            request = urllib.request.Request(self.endpoint, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    answer = json.loads(response.read())
                for item in answer.get("ignored", ())[:10]:  # accepted, but not all of it: say so
                    print(f"item {item.get('index')} ({item.get('event')}): the gateway ignored unknown fields "
                          f"{', '.join(map(str, item.get('fields', ())))}", file=sys.stderr)
                return answer["accepted"]
            except urllib.error.HTTPError as exc:
                if exc.code not in RETRIED:
                    raise PublishError(exc.code, _json_or_text(exc.read())) from None
                failure: Exception = PublishError(exc.code, _json_or_text(exc.read()))
                self.refusals += 1
                wait = retry_after(exc.headers.get("Retry-After"), self.backoff)
            except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
                failure, wait = exc, min(self.backoff * 2 ** attempt, MAX_WAIT)
            wait *= random.uniform(1.0, 1.5)  # producers refused together do not all come back together
            if time.monotonic() + wait > deadline:
                raise ConnectionError(f"cannot publish to {self.endpoint}: {failure}")
            time.sleep(wait)
        raise AssertionError("unreachable")


RETRIED = (429, 502, 503, 504)
MAX_WAIT = 30.0  # seconds: the longest wait between attempts, whatever Retry-After says


def retry_after(header: str | None, default: float) -> float:
    """Seconds from a Retry-After header (delta-seconds), capped; `default` without a usable one."""
    try:
        return min(max(float(header), 0.0), MAX_WAIT) if header else default
    except ValueError:
        return default


def _json_or_text(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


Item = tuple[int, str | None, Any]  # (line number, event, data); event None: data says why the line is skipped


def json_lines(lines: Iterable[str]) -> Iterator[Item]:
    """Our own events as JSON lines, `{"event": ..., "data": {...}}` each; blank lines ignored."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            yield number, None, f"not JSON: {exc}"
            continue
        if not isinstance(item, dict) or not isinstance(item.get("event"), str):
            yield number, None, 'expected {"event": "<name>", "data": {...}}'
        else:
            yield number, item["event"], item.get("data")


def checked(items: Iterable[Item]) -> Iterator[Item]:
    """Items with each event checked against the catalogue: one that does not fit becomes a
    skipped line saying why."""
    for number, event, data in items:
        if event is not None:
            try:
                protocol.parse(event, data)
            except protocol.InvalidEvent as exc:
                event, data = None, exc.reason
        yield number, event, data


def stream(items: Iterable[Item], publisher: Publisher, batch: int = 100, linger: float = 0.2,
           errors: Any = sys.stderr) -> tuple[int, int]:
    """Publish converted lines as they come: a batch goes out when full or when nothing came for
    `linger` seconds, so a running tool's output is live. Each event is checked against the
    catalogue first; a bad line is reported with its number and skipped, the rest go on.
    Returns (published, skipped); raises NotAccepted when the gateway refused a batch or could
    not be reached in time (after counting what the input still held)."""
    items_q: queue.Queue = queue.Queue(maxsize=batch * 10)
    done = object()

    def read() -> None:
        try:
            for item in checked(items):
                items_q.put(item)
        except Exception as exc:  # noqa: BLE001 - unreadable input ends it, said once, nothing lost before
            items_q.put((0, None, f"input ended: {exc}"))
        items_q.put(done)

    threading.Thread(target=read, daemon=True).start()
    pending: list[tuple[str, dict]] = []
    published = skipped = 0
    while True:
        try:
            item = items_q.get(timeout=linger if pending else None)
        except queue.Empty:
            item = None
        if item is not None and item is not done:
            number, event, data = item
            if event is None:
                skipped += 1
                print(f"line {number}: skipped: {data}", file=errors)
            else:
                pending.append((event, data))
            if len(pending) < batch:
                continue
        if pending:
            try:
                published += publisher.publish_many(pending)
            except (PublishError, ConnectionError) as exc:
                raise NotAccepted(published, len(pending) + unread(items_q, done, item), exc) from None
            pending = []
        if item is done:
            return published, skipped


def unread(items_q: queue.Queue, done: object, last: Any) -> int:
    """Events the input still holds (read to its end: the count is exact)."""
    count = 0
    while last is not done:
        last = items_q.get()
        count += isinstance(last, tuple) and last[1] is not None
    return count


def add_gateway_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default=os.environ.get("BUGHUNT_GATEWAY_URL", DEFAULT_URL),
                        help="gateway URL [env BUGHUNT_GATEWAY_URL, default %(default)s]")
    parser.add_argument("--token", default=os.environ.get("BUGHUNT_PRODUCER_TOKEN"),
                        help="producer token [env BUGHUNT_PRODUCER_TOKEN]")
    options = from_env(PublisherOptions)
    parser.add_argument("--retry-for", type=float, default=options.retry_seconds,
                        help="seconds to keep retrying while the gateway is unreachable, busy (503) or rate "
                             "limiting (429) [env BUGHUNT_PUBLISH_RETRY_SECONDS, default %(default)s]")
    parser.add_argument("--producer", default=options.producer or None,
                        help="this producer's name (rate limits are per producer) [env BUGHUNT_PRODUCER_NAME, "
                             "default host name and process id]")


def publisher_from(args: argparse.Namespace) -> Publisher:
    return Publisher(args.url, args.token, retry_for=args.retry_for, producer=args.producer)


def report_failure(exc: Exception) -> int:
    """Say why the gateway refused or could not be reached; the exit code for it."""
    print(f"error: {exc}", file=sys.stderr)
    exc = exc.cause if isinstance(exc, NotAccepted) else exc
    if isinstance(exc, PublishError) and isinstance(exc.body, dict):
        for detail in exc.body.get("details", []):
            print(f"  {detail}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m realtime.publisher", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("event", nargs="?", help="event name; omit to read JSON lines from stdin")
    parser.add_argument("data", nargs="?", help="event data as a JSON object")
    add_gateway_arguments(parser)
    args = parser.parse_args(argv)
    publisher = publisher_from(args)
    try:
        if args.event is None:
            published, skipped = stream(json_lines(sys.stdin), publisher)
            print(f"published {published} events, skipped {skipped} lines "
                  f"(waited out {publisher.refusals} refusals)", file=sys.stderr)
            return 1 if skipped and not published else 0
        try:
            data = json.loads(args.data or "{}")
            protocol.parse(args.event, data)
        except (ValueError, protocol.InvalidEvent) as exc:
            parser.error(getattr(exc, "reason", None) or f"data is not JSON: {exc}")
        try:
            publisher.publish(args.event, data)
        except (PublishError, ConnectionError) as exc:
            raise NotAccepted(0, 1, exc) from None
        return 0
    except NotAccepted as exc:
        return report_failure(exc)


if __name__ == "__main__":
    sys.exit(main())

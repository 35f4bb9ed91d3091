"""Adapters: a scanner's own machine-readable output → our events, published as it comes.

Each adapter module has `convert(lines, scan) -> Iterator[Item]` (see `publisher.Item`) and runs
as a command that reads a file or stdin:

    nuclei -u https://shop.example.com -jsonl -stats -sj 2>&1 | python -m realtime.adapters.nuclei
    nmap -sV --stats-every 5s -oX - 10.0.0.5 | python -m realtime.adapters.nmap --scan-name "Office"
    python -m realtime.adapters.jsonl events.jsonl --scan-id 42

A line that cannot be converted is reported on stderr (line number, reason) and skipped; the
rest goes on.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from realtime import protocol
from realtime.publisher import (
    Item,
    Publisher,
    PublishError,
    add_gateway_arguments,
    checked,
    report_failure,
    stream,
)


@dataclass
class Scan:
    """The scan an adapter reports on; unset fields are filled from the tool's output."""

    scan_id: str
    scan_name: str | None = None
    target: str | None = None


Convert = Callable[[Iterable[str], Scan], Iterator[Item]]


def default_scan_id(tool: str) -> str:
    return f"{tool}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"


def main(tool: str, convert: Convert, description: str, argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m realtime.adapters.{tool}", description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", nargs="?", default="-", help="the tool's output (default: stdin)")
    parser.add_argument("--scan-id", help=f"scan id (default: {tool}-<UTC date-time>)")
    parser.add_argument("--scan-name", help="scan name shown on the dashboard (default: from the output)")
    parser.add_argument("--target", help="what is scanned (default: from the output)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the events as JSON lines instead of publishing them")
    add_gateway_arguments(parser)
    args = parser.parse_args(argv)
    scan_id = args.scan_id or default_scan_id(tool)
    if not protocol.ID_RE.match(scan_id):
        parser.error("--scan-id: 1-64 letters, digits, '-' or '_'")
    scan = Scan(scan_id, args.scan_name, args.target)
    try:
        source: IO[str] = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8", errors="replace")
    except OSError as exc:
        parser.error(f"cannot read {args.file}: {exc.strerror}")
    with source:
        items = convert(source, scan)
        if args.dry_run:
            for number, event, data in checked(items):
                if event is None:
                    print(f"line {number}: skipped: {data}", file=sys.stderr)
                else:
                    print(json.dumps({"event": event, "data": data}))
            return 0
        try:
            published, skipped = stream(items, Publisher(args.url, args.token, retries=args.retries))
        except (PublishError, ConnectionError) as exc:
            return report_failure(exc)
    print(f"scan {scan.scan_id}: published {published} events, skipped {skipped} lines", file=sys.stderr)
    return 1 if skipped and not published else 0


def to_number(value: Any, what: str) -> float:
    """A number from a tool's field (tools write numbers as strings too)."""
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} is not a number: {protocol.preview(value, 40)}") from None
    if result != result or result in (float("inf"), float("-inf")):
        raise ValueError(f"{what} is not a number: {value}")
    return result


_FRACTION = re.compile(r"(\.\d{6})\d+")


def tool_time(value: Any) -> str | None:
    """A tool's own time as ISO 8601 (epoch seconds accepted; nanoseconds cut to microseconds);
    None when absent or unreadable: the time is a detail, never a reason to drop a result."""
    text = str(value if value is not None else "").strip()
    try:
        if re.fullmatch(r"\d+(\.\d+)?", text):
            return datetime.fromtimestamp(float(text), UTC).isoformat()
        return datetime.fromisoformat(_FRACTION.sub(r"\1", text).replace("Z", "+00:00")).isoformat()
    except (ValueError, OverflowError, OSError):
        return None


def severity_of(cvss: float | None, default: str = "info") -> str:
    """A CVSS score's severity as DefectDojo's importers and GitHub's `security-severity` map it
    (≥ 9 critical, ≥ 7 high, ≥ 4 medium, > 0 low, else info); `default` without a score."""
    if cvss is None:
        return default
    return "critical" if cvss >= 9 else "high" if cvss >= 7 else "medium" if cvss >= 4 else \
        "low" if cvss > 0 else "info"

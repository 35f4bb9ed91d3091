"""Our own events as JSON Lines (`{"event": ..., "data": {...}}` each) → the gateway: the
generic path for any tool that can print them.

    my-tool --jsonl | python -m realtime.adapters.jsonl --scan-id 42

`--scan-id` fills in `scan_id` where a scan event has none (default: jsonl-<UTC date-time>);
nothing else is added or changed.
"""
from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator

from realtime import protocol
from realtime.adapters import Scan, main
from realtime.publisher import Item, json_lines

SCAN_EVENTS = {name for name, model in protocol.SERVER_EVENTS.items()
               if "scan_id" in model.model_fields and model.model_fields["scan_id"].is_required()}


def convert(lines: Iterable[str], scan: Scan) -> Iterator[Item]:
    for number, event, data in json_lines(lines):
        if event in SCAN_EVENTS and isinstance(data, dict) and "scan_id" not in data:
            data = {**data, "scan_id": scan.scan_id}
        yield number, event, data


if __name__ == "__main__":
    sys.exit(main("jsonl", convert, __doc__))

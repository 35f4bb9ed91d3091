"""Journal benchmark: ingest into the store with the SQLite journal on vs off, same run.

Events are offered at a fixed rate (default 10,000/s) to `store.apply`, as the client's loop
would; the figure is the rate achieved, and for the journal the time its writer needs after the
last event to have everything committed (its lag). Also the unthrottled maximum both ways.

Run: python -m bench.journal [--rate 10000] [--seconds 5] [--json FILE]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.ingest import workload  # noqa: E402
from bench.report import report  # noqa: E402
from realtime.journal import Journal  # noqa: E402
from realtime.store import EventStore  # noqa: E402


def offered(journal_path: str | None, rate: float, seconds: float) -> tuple[float, float]:
    """(events/s achieved, seconds until the journal had committed everything)."""
    journal = Journal(journal_path).start() if journal_path else None
    store = EventStore(journal=journal)
    events = list(workload(int(rate * seconds)))
    start = time.perf_counter()
    for i, (event, data) in enumerate(events):
        due = start + i / rate
        while time.perf_counter() < due:  # a steady offered rate, like a busy stream
            pass
        store.apply(event, data)
    elapsed = time.perf_counter() - start
    lag = 0.0
    if journal is not None:
        t = time.perf_counter()
        journal.flush(60)
        lag = time.perf_counter() - t
        assert journal.stats()["events"] == len(events)
        journal.close()
    return len(events) / elapsed, lag


def maximum(journal_path: str | None, n: int) -> float:
    journal = Journal(journal_path).start() if journal_path else None
    store = EventStore(journal=journal)
    events = list(workload(n, offset=10**6))
    start = time.perf_counter()
    for event, data in events:
        store.apply(event, data)
    if journal is not None:
        journal.flush(120)
        journal.close()
    return n / (time.perf_counter() - start)


def main() -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=float, default=10_000)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        off, on, lags, max_off, max_on = [], [], [], [], []
        for r in range(args.rounds):  # interleaved, so drift hits both alike
            off.append(offered(None, args.rate, args.seconds)[0])
            rate, lag = offered(os.path.join(tmp, f"on{r}.sqlite"), args.rate, args.seconds)
            on.append(rate)
            lags.append(lag)
            max_off.append(maximum(None, 100_000))
            max_on.append(maximum(os.path.join(tmp, f"max{r}.sqlite"), 100_000))
    ratio = statistics.median(on) / statistics.median(off)
    figures = {
        "offered_events_per_s": args.rate,
        "journal_off_events_per_s": round(statistics.median(off)),
        "journal_on_events_per_s": round(statistics.median(on)),
        "ratio_on_off": round(ratio, 3),
        "journal_lag_after_last_event_s": round(statistics.median(lags), 3),
        "max_off_events_per_s": round(statistics.median(max_off)),
        "max_on_events_per_s (committed)": round(statistics.median(max_on)),
    }
    return report(figures, {"ratio_on_off": (ratio >= 0.7, "≥ 0.7")}, args.json)


if __name__ == "__main__":
    main()

"""--state-db benchmark: a gateway restarting on 1.5 million events' worth of history.

The history is written the way a running gateway writes it — batches through `Journal.write`,
compacted as it grows (the gateway compacts every minute; here every 50,000 events, which leaves
more on disk) — 1,500 scans over 3 days, 9 progress : 1 finding, a notification every 50
events. Then a real gateway process starts on it (`--state-db`): the seconds from starting the
process until it answers `/healthz` restored (compacted, replayed, at the history's last seq),
and its RSS then (median of 3 restarts; the first also compacts what the last round left),
interleaved with a gateway started without state (`start_without_state_s`: what the process
start alone costs on this machine). Also the same history never compacted (`--uncompacted`).

Run: python -m bench.statedb [--events 1500000] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import psutil

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.report import report  # noqa: E402
from realtime.journal import Journal  # noqa: E402
from realtime.options import GatewayOptions, JournalOptions  # noqa: E402

SCANS = 1_500
DAYS = 3
COMPACT_EVERY = 50_000


def event(i: int, per_scan: int) -> tuple[str, dict]:
    scan, step = divmod(i, per_scan)
    scan_id = f"scan-{scan}"
    if step == 0:
        return "scan_started", {"scan_id": scan_id, "scan_name": f"Scan {scan}", "target": f"https://{scan}.example.com"}
    if step == per_scan - 1:
        return "scan_completed", {"scan_id": scan_id}
    if step % 50 == 7:
        return "notification", {"id": f"n-{i}", "type": "info", "message": f"note {i}", "scan_id": scan_id}
    if step % 10 == 5:
        return "vulnerability_found", {"scan_id": scan_id, "id": f"f-{i}", "title": f"Finding {i}",
                                       "severity": ("critical", "high", "medium", "low")[i % 4]}
    return "scan_progress", {"scan_id": scan_id, "progress": round(100 * step / per_scan, 2), "phase": "testing"}


def write_history(path: str, events: int, compact: bool) -> dict:
    o = GatewayOptions()
    journal = Journal(path, JournalOptions(max_events=o.state_max_events, max_days=o.state_max_days,
                                           compact_after=o.state_compact_after))
    journal.set_meta("epoch", "bench")
    start, per_scan, chunk = time.time() - DAYS * 86400, events // SCANS, 5_000
    for first in range(0, events, chunk):
        rows = []
        for i in range(first, min(first + chunk, events)):
            name, data = event(i, per_scan)
            rows.append(("bench", name, {**data, "seq": i + 1}, start + DAYS * 86400 * i / events))
        journal.write(rows, {"seq": str(first + len(rows))})
        if compact and (first + chunk) % COMPACT_EVERY == 0:
            journal.compact(now=rows[-1][3])
    stats = journal.stats()
    journal.close()
    return stats


def restart(path: str | None, events: int) -> tuple[float, float]:
    """(seconds until the gateway answers /healthz restored at the history's last seq, its RSS in
    MiB then); `path` None: a gateway without state, for the baseline."""
    started = time.perf_counter()
    state = ["--state-db", path] if path else []
    proc = subprocess.Popen([sys.executable, "-m", "realtime.gateway", "--port", "0", *state],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    try:
        url = proc.stdout.readline().split("listening on ")[1].split()[0]
        with urllib.request.urlopen(url + "/healthz", timeout=120) as response:  # served once restored
            health = json.loads(response.read())
        seconds = time.perf_counter() - started
        assert health["last_seq"] == (events if path else None), health
        return seconds, psutil.Process(proc.pid).memory_info().rss / 2**20
    finally:
        proc.terminate()
        proc.wait(20)


def main() -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_500_000)
    ap.add_argument("--uncompacted", action="store_true", help="also restart on the same history never compacted")
    ap.add_argument("--json")
    args = ap.parse_args()
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        variants = [("", True)] + ([("uncompacted_", False)] if args.uncompacted else [])
        for prefix, compact in variants:
            path = os.path.join(tmp, f"{prefix}state.sqlite")
            stats = write_history(path, args.events, compact)
            # interleaved with a gateway started without state: the same machine's load for both
            runs = [(restart(path, args.events), restart(None, 0)) for _ in range(3)]
            figures.update({f"{prefix}history_events": args.events, f"{prefix}rows_on_disk": stats["events"],
                            f"{prefix}db_mib": round(os.path.getsize(path) / 2**20, 1),
                            f"{prefix}restart_s": round(statistics.median(r[0][0] for r in runs), 2),
                            f"{prefix}restart_rss_mib": round(max(r[0][1] for r in runs)),
                            f"{prefix}start_without_state_s": round(statistics.median(r[1][0] for r in runs), 2)})
    goals = {"restart_s": (figures["restart_s"] <= 2.0, "≤ 2"),
             "restart_rss_mib": (figures["restart_rss_mib"] <= 250, "≤ 250")}
    return report(figures, goals, args.json)


if __name__ == "__main__":
    main()

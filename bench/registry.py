"""Finding registry benchmark: what stamping a finding costs the gateway, and what a full registry
weighs.

- `stamp_us_median` / `stamp_us_p99`: CPU time (of the stamping thread: what the gateway's event
  loop spends; `stamp_wall_us_median` is the wall time, which a loaded machine inflates) of
  `FindingRegistry.stamp` of one `vulnerability_found` as the gateway's stream calls it with
  --state-db (changes collected for the write, taken every 500 findings as a batch would be):
  20,000 findings without a fingerprint of their own (the gateway derives it: the dearer case)
  over 20 scans of one target, half of them seen in an earlier scan, into a registry already
  holding 100,000 fingerprints.
- `rss_mb_1m`: the process's RSS growth (MB, 10^6 bytes) from an empty registry to one holding
  1,000,000 fingerprints, stamped the same way (scan sets at their default bound, 200,000).

Run: python -m bench.registry [--fingerprints 1000000] [--json FILE]
"""
from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time

import psutil

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.report import percentile, report  # noqa: E402
from realtime.gateway.registry import FindingRegistry  # noqa: E402
from realtime.options import GatewayOptions  # noqa: E402

SAMPLES = 20_000
PRELOAD = 100_000


def finding(scan: int, i: int) -> dict:
    return {"scan_id": f"scan-{scan}", "title": f"Finding {i % 5_000}", "severity": "medium",
            "url": f"https://shop.example.com/item/{i}?session=abc{scan}&page=2",
            "timestamp": "2026-11-27T12:00:00.000+00:00"}


def fill(registry: FindingRegistry, count: int, scans: int, offset: int = 0) -> None:
    per_scan = max(1, count // scans)
    for i in range(count):
        scan = i // per_scan
        if i % per_scan == 0:
            registry.stamp("scan_started", {"scan_id": f"scan-{scan + offset}", "target": "https://shop.example.com"})
        registry.stamp("vulnerability_found", finding(scan + offset, i + offset * per_scan))
        if i % 500 == 0:
            registry.changes()


def stamping() -> tuple[list[float], list[float]]:
    registry = FindingRegistry(GatewayOptions(), persist=True)
    fill(registry, PRELOAD, 10, offset=1_000)
    registry.stamp("scan_started", {"scan_id": "scan-0", "target": "https://shop.example.com"})
    for i in range(SAMPLES // 2):  # seen before: half of what the timed scans send is known
        registry.stamp("vulnerability_found", finding(0, i))
    registry.changes()
    timings, walls = [], []
    per_scan = SAMPLES // 20
    for n in range(SAMPLES):
        scan, wire = 1 + n // per_scan, finding(1 + n // per_scan, n)
        if n % per_scan == 0:
            registry.stamp("scan_started", {"scan_id": f"scan-{scan}", "target": "https://shop.example.com"})
        started, cpu = time.perf_counter_ns(), time.thread_time_ns()
        registry.stamp("vulnerability_found", wire)
        timings.append((time.thread_time_ns() - cpu) / 1000)
        walls.append((time.perf_counter_ns() - started) / 1000)
        if n % 500 == 499:
            registry.changes()
    return timings, walls


def weight(fingerprints: int) -> float:
    gc.collect()
    before = psutil.Process().memory_info().rss
    registry = FindingRegistry(GatewayOptions(registry_max_fingerprints=fingerprints))
    fill(registry, fingerprints, scans=100)
    gc.collect()
    assert len(registry) == fingerprints, len(registry)
    return (psutil.Process().memory_info().rss - before) / 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fingerprints", type=int, default=1_000_000)
    ap.add_argument("--json")
    args = ap.parse_args()
    timings, walls = stamping()
    figures = {"stamp_us_median": round(statistics.median(timings), 2),
               "stamp_us_p99": round(percentile(timings, 99), 2),
               "stamp_wall_us_median": round(statistics.median(walls), 2),
               "rss_mb_1m": round(weight(args.fingerprints), 1)}
    goals = {"stamp_us_median": (figures["stamp_us_median"] <= 20, "≤ 20"),
             "rss_mb_1m": (figures["rss_mb_1m"] <= 200, "≤ 200")}
    report(figures, goals, args.json)


if __name__ == "__main__":
    main()

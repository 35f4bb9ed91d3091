"""The large store of the performance goals: 1,000 scans, 100,000 findings, 5,000 notifications,
spread over the last day (20 scans still running), as (event, data, at) triples."""
from __future__ import annotations

import random
import time
from collections.abc import Iterator

from realtime.protocol import PHASES, SEVERITIES

SCANS, FINDINGS, NOTIFICATIONS, RUNNING = 1_000, 100_000, 5_000, 20
# BUGHUNT_MAX_NOTIFICATIONS defaults to 1,000: the large store needs room for its 5,000
ENV = {"BUGHUNT_MAX_NOTIFICATIONS": str(NOTIFICATIONS)}


def events(scans: int = SCANS, findings: int = FINDINGS, notifications: int = NOTIFICATIONS,
           running: int = RUNNING, now: float | None = None, seed: int = 1) -> Iterator[tuple[str, dict, float]]:
    rng = random.Random(seed)
    now = time.time() if now is None else now
    day = 86_400.0
    per_scan = findings // scans
    for s in range(scans):
        start = now - day + s * (day - 600) / scans
        sid = f"s{s}"
        yield "scan_started", {"scan_id": sid, "scan_name": f"Target {s}", "target": f"https://t{s}.example.com"}, start
        for step in range(10):
            at = start + step * 30
            yield "scan_progress", {"scan_id": sid, "progress": step * 10, "phase": PHASES[step // 2],
                                    "current_step": f"step {step}"}, at
            for f in range(per_scan // 10):
                n = s * per_scan + step * (per_scan // 10) + f
                yield "vulnerability_found", {
                    "scan_id": sid, "id": f"f{n}", "title": f"Finding {n} in parameter q{f}",
                    "severity": rng.choice(SEVERITIES), "cvss_score": round(rng.uniform(0, 10), 1),
                    "url": f"https://t{s}.example.com/p{f}?q={n}", "vulnerability_type": "xss"}, at + f * 0.01
        if s < scans - running:
            yield "scan_completed", {"scan_id": sid, "total_vulnerabilities": per_scan, "duration": 300.0}, start + 300
    for n in range(notifications):
        yield "notification", {"id": f"n{n}", "type": ("info", "success", "warning", "error")[n % 4],
                               "title": f"Notice {n}", "message": f"Scan s{n % scans} reported something"}, \
            now - day + n * day / notifications

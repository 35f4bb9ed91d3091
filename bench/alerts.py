"""Alert worker benchmark.

Prints, from one run:
  * event → webhook received latency (p50/p95) for an immediate route, through a real gateway,
    the worker as a process and a JSON webhook receiver on loopback;
  * the worker's throughput: events/s handled (matched against 20 rules, alerts routed, each
    batch committed to SQLite with the cursor) by the worker's handler, in-process.

Run: python -m bench.alerts [--alerts 50] [--events 50000] [--json FILE]
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from bench.alerting import WorkerProcess, rules_toml  # noqa: E402
from bench.procs import start_gateway, stop  # noqa: E402
from bench.receivers import WebhookReceiver  # noqa: E402
from bench.report import percentile, report  # noqa: E402
from realtime import protocol  # noqa: E402
from realtime.alerts.messages import Links  # noqa: E402
from realtime.alerts.rules import parse  # noqa: E402
from realtime.alerts.worker import Worker  # noqa: E402
from realtime.options import AlertOptions  # noqa: E402
from realtime.publisher import Publisher  # noqa: E402


def latency(alerts: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-alerts-") as tmp:
        return latency_in(alerts, Path(tmp))


def latency_in(alerts: int, workdir: Path) -> dict:
    hook = WebhookReceiver().start()
    proc, url = start_gateway()
    worker = WorkerProcess(url, rules_toml({"hook": hook.url}, [
        {"name": "critical", "on": "finding", "severity": "critical", "to": ["hook"], "max_per_hour": 0}]), workdir)
    try:
        worker.wait_connected()
        publisher = Publisher(url)
        publisher.publish("scan_started", {"scan_id": "b1", "target": "https://shop.example.com"})
        sent: dict[str, float] = {}
        for n in range(alerts):
            time.sleep(random.uniform(0.05, 0.3))
            sent[f"alert-{n}"] = time.time()
            publisher.publish("vulnerability_found", {"scan_id": "b1", "title": f"alert-{n}", "severity": "critical"})
        deadline = time.time() + 30
        while len(hook.received) < alerts and time.time() < deadline:
            time.sleep(0.05)
        got = {body["message"].split("\n")[0].removeprefix("Critical: "): at for at, body in hook.received}
        return {k: (got[k] - t) * 1000 for k, t in sent.items() if k in got}
    finally:
        worker.stop()
        stop(proc)
        hook.stop()


RULES = {"destinations": {"hook": {"url": "json://127.0.0.1:9/hook"}},
         "rules": [{"name": f"r{i}", "on": kind, "to": ["hook"], **extra} for i, (kind, extra) in enumerate(
             [("finding", {"severity": s, "targets": [f"*{t}*"], "digest": 60})
              for s in ("critical", "high", "medium") for t in ("shop", "api", "intra", "admin")]
             + [("finding", {"severity": "critical", "max_per_hour": 0}), ("finding", {"tags": ["xss"], "digest": 60}),
                ("scan_failed", {}), ("scan_completed", {}), ("scan_stuck", {"after": 600}),
                ("scan_lost", {}), ("notification", {"types": ["error"]}), ("finding", {"scans": ["nightly-*"]})])]}


def stream(events: int) -> list[tuple[str, dict]]:
    """9 progress : 1 finding over 50 scans, as the client hands them to the worker."""
    out = []
    targets = ("https://shop.example.com", "https://api.example.com", "https://intra.example.com", "10.0.0.1")
    for s in range(50):
        data = protocol.parse("scan_started", {"scan_id": f"s{s}", "target": targets[s % 4], "seq": s + 1})
        out.append(("scan_started", data.model_dump(exclude_none=True)))
    for i in range(events - 50):
        seq = i + 51
        if i % 10 == 9:
            data = {"scan_id": f"s{i % 50}", "title": f"Finding {i}", "severity": protocol.SEVERITIES[i // 10 % 5],
                    "vulnerability_type": "xss" if i % 7 == 0 else "sqli", "seq": seq}
            parsed = protocol.parse("vulnerability_found", data)
            out.append(("vulnerability_found", parsed.model_dump(exclude_none=True)))
        else:
            data = {"scan_id": f"s{i % 50}", "progress": (i // 50) % 101, "seq": seq}
            out.append(("scan_progress", protocol.parse("scan_progress", data).model_dump(exclude_none=True)))
    return out


def throughput(events: int) -> float:
    config = parse(RULES, {})
    assert len(config.rules) == 20
    items = stream(events)
    with tempfile.TemporaryDirectory(prefix="bench-alerts-") as tmp:
        options = AlertOptions(db=os.path.join(tmp, "a.sqlite"))
        worker = Worker(config, options, Links("http://dash.example"), deliver=lambda *a: None)
        worker.start()  # its senders 'deliver' with a no-op: this measures the handler
        try:
            started = time.perf_counter()
            for event, data in items:  # as the client's loop thread hands them over
                worker.on_event(event, data)
            while worker.handled < len(items):
                time.sleep(0.001)
            return len(items) / (time.perf_counter() - started)
        finally:
            worker.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--alerts", type=int, default=50)
    ap.add_argument("--events", type=int, default=50_000)
    ap.add_argument("--json")
    args = ap.parse_args()
    ms = list(latency(args.alerts).values())
    rate = throughput(args.events)
    p95 = round(percentile(ms, 95), 1) if ms else float("inf")
    figures = {"event_to_webhook_p50_ms": round(percentile(ms, 50), 1) if ms else None,
               "event_to_webhook_p95_ms": p95, "delivered_of_sent": f"{len(ms)}/{args.alerts}",
               "worker_events_per_s_20_rules": round(rate)}
    goals = {"event_to_webhook_p95_ms": (len(ms) == args.alerts and p95 <= 1000, "≤ 1000"),
             "worker_events_per_s_20_rules": (rate >= 5000, "≥ 5000")}
    report(figures, goals, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())

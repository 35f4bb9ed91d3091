"""Stalled clients benchmark: healthy clients' latency and the gateway's memory while clients
stop reading.

A gateway process; rounds of 10 s of publish → receive latency (10-event HTTP batches every
10 ms, 1,000 events/s, as bench.gateway) for one healthy client, alternating: no stalled client,
then 5 stalled ones — client processes connected over WebSocket and then stopped with SIGSTOP,
so they read nothing (the gateway disconnects them after `BUGHUNT_MAX_BACKLOG_SECONDS`). The
ratio of the healthy client's p95 with 5 stalled to without; the gateway's RSS before the
first stalled round and after the stalled clients are gone (killed), and how many clients the
gateway still holds after each stalled round (only the healthy one: the stalled were dropped).

Run: python -m bench.stalled [--seconds 10] [--rounds 3] [--json FILE]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import psutil

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import socketio  # noqa: E402

from bench.gateway import latency  # noqa: E402
from bench.procs import start_gateway, stop  # noqa: E402
from bench.report import percentile, report  # noqa: E402

STALLED = 5


async def stalled_client(url: str) -> None:
    """Connect, say so, then wait: the benchmark stops this process (SIGSTOP)."""
    client = socketio.AsyncClient()
    await client.connect(url, transports=["websocket"])
    print("connected", flush=True)
    await asyncio.sleep(3600)


def start_stalled(url: str) -> list[subprocess.Popen]:
    procs = [subprocess.Popen([sys.executable, "-m", "bench.stalled", "--client", url], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True) for _ in range(STALLED)]
    for proc in procs:
        assert proc.stdout.readline().strip() == "connected"
        proc.send_signal(signal.SIGSTOP)
    return procs


def kill_all(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        proc.kill()
        proc.wait(10)


def clients(url: str) -> int:
    with urllib.request.urlopen(url + "/healthz", timeout=5) as response:
        return json.loads(response.read())["clients"]


def rss_mib(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


def main() -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--client", help=argparse.SUPPRESS)  # run as one stalled client
    ap.add_argument("--json")
    args = ap.parse_args()
    if args.client:
        asyncio.run(stalled_client(args.client))
        return {}
    # A small replay buffer fills during the warm-up, so memory before and after compares like
    # with like (the default 50,000 events would still be filling).
    proc, url = start_gateway("--metrics-interval", "60", "--replay-events", "2000")
    calm, busy, left = [], [], []
    try:
        asyncio.run(latency(url, 3))  # warm up
        rss_before = None
        for _ in range(args.rounds):
            calm += asyncio.run(latency(url, args.seconds))
            rss_before = rss_before or rss_mib(proc.pid)
            stalled = start_stalled(url)
            busy += asyncio.run(latency(url, args.seconds))
            left.append(clients(url))  # the healthy client has gone: stalled ones still held
            kill_all(stalled)
        time.sleep(2)
        rss_after = rss_mib(proc.pid)
    finally:
        stop(proc)
    p95_calm, p95_busy = percentile(calm, 95) * 1000, percentile(busy, 95) * 1000
    figures = {
        "healthy_p95_ms_0_stalled": round(p95_calm, 2),
        "healthy_p95_ms_5_stalled": round(p95_busy, 2),
        "p95_ratio_5_vs_0_stalled": round(p95_busy / p95_calm, 3),
        "stalled_still_connected_after_round": max(left),
        "gateway_rss_mib_before": round(rss_before, 1),
        "gateway_rss_mib_after_stalled_gone": round(rss_after, 1),
        "rss_after_vs_before": round(rss_after / rss_before, 3),
    }
    goals = {"p95_ratio_5_vs_0_stalled": (figures["p95_ratio_5_vs_0_stalled"] <= 1.5, "≤ 1.5"),
             "rss_after_vs_before": (figures["rss_after_vs_before"] <= 1.2, "≤ 1.2")}
    return report(figures, goals, args.json)


if __name__ == "__main__":
    main()

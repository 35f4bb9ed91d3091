"""Gateway benchmark: publish → client through a real gateway process.

Prints, from one run:
  * sustained events/s from HTTP batches (POST /api/events, 500 events a batch) to one client;
  * sustained events/s from the write-only Redis emitter through a Redis-backed gateway;
  * p50/p95 publish → receive latency at 1,000 events/s offered (10-event batches every 10 ms).

Run: python -m bench.gateway [--events 20000] [--seconds 10] [--json FILE]
Needs redis-server on PATH for the Redis figure (skipped with a note otherwise).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import aiohttp  # noqa: E402
import socketio  # noqa: E402

from bench.procs import free_port, start_gateway, stop  # noqa: E402
from bench.report import percentile, report  # noqa: E402
from realtime.gateway.redis_stream import RedisEmitter  # noqa: E402


class Receiver:
    """One dashboard-like client counting scan_progress events and their latency."""

    def __init__(self):
        self.count = 0
        self.latencies: list[float] = []
        self.done = asyncio.Event()
        self.expect = 0
        self.client = socketio.AsyncClient()
        self.client.on("scan_progress", self.on_progress)

    async def on_progress(self, data):
        self.count += 1
        step = data.get("current_step", "")
        if step.startswith("sent:"):
            self.latencies.append(time.time() - float(step[5:]))
        if self.count >= self.expect:
            self.done.set()


def event(i: int, stamp: bool = False) -> dict:
    data = {"scan_id": i % 50, "progress": (i // 50) % 101, "phase": "vulnerability_testing"}
    if stamp:
        data["current_step"] = f"sent:{time.time():.6f}"
    return data


async def http_throughput(url: str, n: int) -> float:
    rx = Receiver()
    rx.expect = n
    await rx.client.connect(url, transports=["websocket"])
    start = time.perf_counter()
    async with aiohttp.ClientSession() as http:
        for first in range(0, n, 500):
            batch = [{"event": "scan_progress", "data": event(i)} for i in range(first, min(n, first + 500))]
            async with http.post(url + "/api/events", json=batch) as resp:
                assert resp.status == 202, await resp.text()
    await asyncio.wait_for(rx.done.wait(), 300)
    elapsed = time.perf_counter() - start
    await rx.client.disconnect()
    return n / elapsed


async def redis_throughput(url: str, redis_url: str, n: int) -> float:
    rx = Receiver()
    rx.expect = n
    await rx.client.connect(url, transports=["websocket"])
    emitter = RedisEmitter(redis_url)
    start = time.perf_counter()
    for i in range(n):
        await emitter.emit("scan_progress", event(i))
    await asyncio.wait_for(rx.done.wait(), 300)
    elapsed = time.perf_counter() - start
    await rx.client.disconnect()
    await emitter.redis.aclose()
    return n / elapsed


async def latency(url: str, seconds: float, rate: int = 1000, batch: int = 10) -> list[float]:
    rx = Receiver()
    rx.expect = int(seconds * rate)
    await rx.client.connect(url, transports=["websocket"])
    period = batch / rate
    async with aiohttp.ClientSession() as http:
        next_at = time.perf_counter()
        for i in range(0, rx.expect, batch):
            items = [{"event": "scan_progress", "data": event(j, stamp=True)} for j in range(i, i + batch)]
            async with http.post(url + "/api/events", json=items) as resp:
                assert resp.status == 202
            next_at += period
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
    await asyncio.wait_for(rx.done.wait(), 60)
    await rx.client.disconnect()
    return rx.latencies


def main() -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    figures: dict = {}
    proc, url = start_gateway("--metrics-interval", "60")
    try:
        figures["http_batches_events_per_s"] = round(asyncio.run(http_throughput(url, args.events)))
        lat = asyncio.run(latency(url, args.seconds))
        figures["latency_p50_ms_at_1000_per_s"] = round(statistics.median(lat) * 1000, 2)
        figures["latency_p95_ms_at_1000_per_s"] = round(percentile(lat, 95) * 1000, 2)
    finally:
        stop(proc)
    if shutil.which("redis-server"):
        port = free_port()
        with tempfile.TemporaryDirectory() as tmp:
            redis = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", tmp], stdout=subprocess.DEVNULL)
            time.sleep(0.5)
            redis_url = f"redis://127.0.0.1:{port}/0"
            proc, url = start_gateway("--redis-url", redis_url, "--metrics-interval", "60")
            try:
                figures["redis_emitter_events_per_s"] = round(
                    asyncio.run(redis_throughput(url, redis_url, args.events)))
            finally:
                stop(proc)
                redis.terminate()
                redis.wait(10)
    else:
        figures["redis_emitter_events_per_s"] = "skipped: no redis-server"
    goals = {"latency_p95_ms_at_1000_per_s": (figures["latency_p95_ms_at_1000_per_s"] <= 50, "≤ 50")}
    return report(figures, goals, args.json)



if __name__ == "__main__":
    main()

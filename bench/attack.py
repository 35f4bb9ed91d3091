"""Attack 1 of issue 16 as a benchmark: one viewer floods `resume` and never reads.

A gateway process (with a secret) holds `--events` events in its replay buffer (fewer than it
keeps, so the honest events do not push the first out and every resume replays from seq 1). One attacker
socket — a raw WebSocket that never reads a byte, with a small receive buffer — sends
`--resumes` `resume {since: 0, epoch}` spread over `--seconds`. Meanwhile an honest producer
publishes one stamped event every 20 ms and an honest viewer receives them.

Figures: publish → client p95 and p50 (ms) during the attack, the gateway's RSS growth over the
attack (peak − before, MiB), whether the attacker was disconnected, tracebacks in the gateway log.

Run: python -m bench.attack [--events 45000] [--resumes 150] [--seconds 15] [--json FILE]
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import aiohttp  # noqa: E402
import psutil  # noqa: E402
import socketio  # noqa: E402

from bench.report import percentile, report  # noqa: E402
from realtime.auth import Authenticator  # noqa: E402

SECRET = "bench-attack-secret-" + "z" * 32


class SilentSocket:
    """A Socket.IO client over a raw WebSocket that sends and never reads (an attacker)."""

    def __init__(self, url: str, token: str):
        host, port = url.removeprefix("http://").split(":")
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.connect((host, int(port)))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {host}:{port}\r\n"
                           f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:  # the upgrade answer only; nothing after it is ever read
            head += self.sock.recv(1)
        self.frame("40" + json.dumps({"token": token, "resume": True}))
        self.ack = 0

    def frame(self, text: str) -> None:
        payload, mask = text.encode(), os.urandom(4)
        size = len(payload)
        if size < 126:
            head = bytes([0x81, 0x80 | size])
        elif size < 65536:
            head = bytes([0x81, 0x80 | 126]) + struct.pack(">H", size)
        else:
            head = bytes([0x81, 0x80 | 127]) + struct.pack(">Q", size)
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def emit(self, event: str, data: dict) -> bool:
        """Send one event with an ack id; False once the gateway has closed the connection."""
        self.ack += 1
        try:
            self.frame(f"42{self.ack}" + json.dumps([event, data]))
            return True
        except OSError:
            return False

    def close(self) -> None:
        self.sock.close()


def flood(url: str, token: str, epoch: str, resumes: int, seconds: float) -> SilentSocket:
    """Attack 1: `resumes` full resumes over `seconds` from one socket that never reads."""
    attacker = SilentSocket(url, token)
    for _ in range(resumes):
        if not attacker.emit("resume", {"since": 0, "epoch": epoch}):
            break
        time.sleep(seconds / resumes)
    return attacker


def fill(url: str, token: str, events: int) -> None:
    for first in range(0, events, 1000):
        batch = [{"event": "scan_progress", "data": {"scan_id": i % 50, "progress": (i // 50) % 101,
                                                     "current_step": "x" * 100}}
                 for i in range(first, min(events, first + 1000))]
        request = urllib.request.Request(url + "/api/events", json.dumps(batch).encode(), method="POST",
                                         headers={"Content-Type": "application/json",
                                                  "Authorization": f"Bearer {token}"})
        urllib.request.urlopen(request, timeout=60).read()


async def honest(url: str, viewer: str, producer: str, seconds: float) -> list[float]:
    """Publish one stamped event every 20 ms for `seconds`; publish → receive latencies."""
    latencies: list[float] = []
    client = socketio.AsyncClient()

    @client.on("notification")
    async def received(data):
        if data.get("title") == "honest":
            latencies.append(time.time() - float(data["message"]))

    await client.connect(url, auth={"token": viewer}, transports=["websocket"])
    headers = {"Authorization": f"Bearer {producer}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            body = {"event": "notification", "data": {"title": "honest", "message": f"{time.time():.6f}"}}
            async with http.post(url + "/api/events", json=body, timeout=aiohttp.ClientTimeout(total=30)) as r:
                assert r.status == 202, await r.text()
            await asyncio.sleep(0.02)
    await asyncio.sleep(0.5)
    await client.disconnect()
    return latencies


def start(env: dict) -> tuple[subprocess.Popen, str, list[str]]:
    proc = subprocess.Popen([sys.executable, "-m", "realtime.gateway", "--port", "0", "--metrics-interval", "60",
                             "--publish-burst", "1000000"],  # filling the buffer is not the attack
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
                            env={**os.environ, "BUGHUNT_SECRET": SECRET, **env})
    line = proc.stdout.readline()
    while "listening on" not in line:
        line = proc.stdout.readline()
    log: list[str] = []
    threading.Thread(target=lambda: log.extend(proc.stdout), daemon=True).start()
    return proc, line.split("listening on ")[1].split()[0], log


def attack(events: int, resumes: int, seconds: float, env: dict | None = None) -> dict:
    """Run attack 1 against a fresh gateway; the figures (see the module's docstring)."""
    from bench.procs import stop

    auth = Authenticator(SECRET)
    viewer, producer = auth.mint("mallory", "viewer"), auth.mint("scanner", "producer")
    proc, url, log = start(env or {})
    try:
        fill(url, producer, events)
        epoch = json.load(urllib.request.urlopen(urllib.request.Request(
            url + "/healthz", headers={"Authorization": f"Bearer {viewer}"})))["epoch"]
        gateway = psutil.Process(proc.pid)
        before, peak, attackers, began = gateway.memory_info().rss, [0], [], time.time()
        attacking = threading.Thread(target=lambda: attackers.append(flood(url, viewer, epoch, resumes, seconds)))
        attacking.start()
        sampler = threading.Thread(target=sample_rss, args=(gateway, peak, attacking), daemon=True)
        sampler.start()
        latencies = asyncio.run(honest(url, auth.mint("alice", "viewer"), producer, seconds))
        attacking.join()
        sampler.join()
        attackers[0].close()
        dropped = dropped_at(log, timeout=20)
        return {
            "publish_to_client_p50_ms": round(statistics.median(latencies) * 1000, 2),
            "publish_to_client_p95_ms": round(percentile(latencies, 95) * 1000, 2),
            "rss_growth_mb": round((max(peak) - before) / 2**20, 1),
            "attacker_disconnected_after_s": round(dropped - began, 1) if dropped else "never",
            "tracebacks_in_log": sum("Traceback" in line for line in log),
            "honest_events_received": len(latencies),
        }
    finally:
        stop(proc)


# The gateway drops a socket that does not read either way: its replay waits on it, or the
# stream's backlog check (BUGHUNT_MAX_BACKLOG_*) finds it behind; whichever comes first.
DROPPED = re.compile(r"did not read its replay|slow consumer")


def dropped_at(log: list[str], timeout: float) -> float | None:
    """When the gateway logged dropping the attacker (epoch seconds), waiting up to `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in log:
            if DROPPED.search(line):
                return time.mktime(time.strptime(line[:19], "%Y-%m-%d %H:%M:%S")) + int(line[20:23]) / 1000
        time.sleep(0.1)
    return None


def sample_rss(process: psutil.Process, peak: list, attacking: threading.Thread) -> None:
    while attacking.is_alive():
        peak.append(process.memory_info().rss)
        time.sleep(0.1)


def main() -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=45_000)  # the buffer (50,000) keeps them all
    ap.add_argument("--resumes", type=int, default=150)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    figures = attack(args.events, args.resumes, args.seconds)
    goals = {"publish_to_client_p95_ms": (figures["publish_to_client_p95_ms"] <= 50, "≤ 50"),
             "rss_growth_mb": (figures["rss_growth_mb"] <= 100, "≤ 100"),
             "tracebacks_in_log": (figures["tracebacks_in_log"] == 0, "0")}
    return report(figures, goals, args.json)


if __name__ == "__main__":
    main()

"""Acknowledged means delivered (issue 14): Redis killed and restarted, producers retrying and
rate limited, retried batches, gateway failover. Real processes, real redis-server; the final
dashboard store must equal the ground truth of every event answered 202, with no duplicates and
no traceback in any log."""
import json
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request

import pytest

from bench.procs import RedisServer
from realtime.client import RealtimeClient
from realtime.options import ClientOptions
from realtime.store import EventStore
from tests.conftest import ROOT, GatewayProcess, free_port, wait_for
from tests.integration.test_nothing_lost import FAST, Truth, caught_up, run_producers, settle


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(str(tmp_path)).start()
    yield server
    server.stop()


@pytest.fixture
def client():
    made = RealtimeClient(EventStore(), FAST).start()
    yield made
    made.close()


def no_tracebacks(*gateways):
    for gateway in gateways:
        assert not [line for line in gateway.log if "Traceback" in line], "".join(gateway.log)[-3000:]


def post(url, body, headers=None):
    request = urllib.request.Request(url + "/api/events", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, json.loads(exc.read())


def test_redis_kill_9_and_restart_mid_stream_loses_nothing_acknowledged(redis_server, client, gateway_factory):
    """Scenarios 1 and 2: Redis dies (no persistence) and comes back empty while two gateways
    serve and four producers publish through both; while it is down producers get 503 with a
    reason and Retry-After, never a 500; the stream gets a new epoch and dashboards resync."""
    a = gateway_factory("--redis-url", redis_server.url, "--metrics-interval", "0.5")
    b = gateway_factory("--redis-url", redis_server.url, "--metrics-interval", "0.5")
    client.connect(a.url)
    assert client.wait_connected(10)
    old_epoch = a.get("/healthz")["epoch"]
    truth = Truth()
    threads = run_producers(a.url, truth, producers=2, scans=3, events_per_scan=300, pause=0.05)
    threads += run_producers(b.url, truth, producers=2, scans=3, events_per_scan=300, pause=0.05)
    wait_for(lambda: (a.get("/healthz")["last_seq"] or 0) > 800, timeout=60)
    redis_server.kill()
    status, headers, body = post(a.url, {"event": "scan_started", "data": {"scan_id": "never"}})
    assert status == 503 and "retry" in body["error"] and int(headers["Retry-After"]) >= 1, (status, body)
    time.sleep(1.5)
    redis_server.start()
    for t in threads:
        t.join(120)
    settle(truth, client.store)
    assert caught_up(client).startswith("Resynced from snapshot")
    snap = client.store.snapshot()
    assert client.store.stream[0] == a.get("/healthz")["epoch"] == b.get("/healthz")["epoch"] != old_epoch
    assert "never" not in snap.scans  # answered 503: not delivered, and the producer was told
    late = RealtimeClient(EventStore(), FAST).start()  # a fresh dashboard on the other gateway
    try:
        late.connect(b.url)
        settle(truth, late.store)
    finally:
        late.close()
    no_tracebacks(a, b)


def test_a_retried_batch_is_not_counted_twice_after_a_kill_9(tmp_path):
    """Scenario 4: the gateway wrote a batch to --state-db and was killed before its 202; the
    producer sends the batch again under the same Idempotency-Key: nothing is stored twice, and
    notifications without an id get the same derived id both times."""
    port, state = free_port(), str(tmp_path / "gateway.sqlite")
    args = ("--port", str(port), "--state-db", state, "--metrics-interval", "60")
    batch = [{"event": "scan_started", "data": {"scan_id": "s1", "scan_name": "One"}}]
    batch += [{"event": "notification", "data": {"message": f"note {i}", "scan_id": "s1"}} for i in range(20)]
    key = {"Idempotency-Key": "batch-0001"}
    gateway = GatewayProcess(*args)
    try:
        assert post(gateway.url, batch, key)[0] == 202
        first = gateway.get("/api/state")
        gateway.proc.kill()  # as if killed before its answer reached the producer
        gateway.proc.wait(10)
        gateway = GatewayProcess(*args)
        status, _, body = post(gateway.url, batch, key)
        assert status == 202 and body["accepted"] == 21
        again = gateway.get("/api/state")
        assert again["last_seq"] == first["last_seq"] == 21
        assert sorted(n["id"] for n in again["notifications"]) == sorted(n["id"] for n in first["notifications"])
        assert len({n["id"] for n in again["notifications"]}) == 20
        status, _, body = post(gateway.url, batch, {"Idempotency-Key": "x" * 129})
        assert status == 400 and "Idempotency-Key" in body["error"]
        no_tracebacks(gateway)
    finally:
        gateway.stop()


def test_a_retried_batch_through_another_redis_gateway_is_not_published_again(redis_url, gateway_factory):
    a = gateway_factory("--redis-url", redis_url, "--metrics-interval", "60")
    b = gateway_factory("--redis-url", redis_url, "--metrics-interval", "60")
    batch = [{"event": "notification", "data": {"message": "once", "scan_id": "s1"}}]
    assert post(a.url, batch, {"Idempotency-Key": "k1"})[0] == 202
    assert post(b.url, batch, {"Idempotency-Key": "k1"})[0] == 202
    assert post(b.url, batch, {"Idempotency-Key": "k2"})[0] == 202
    wait_for(lambda: a.get("/healthz")["last_seq"] == 2)
    time.sleep(0.5)
    assert a.get("/healthz")["last_seq"] == b.get("/healthz")["last_seq"] == 2


def test_four_publisher_pipes_wait_out_429s_and_deliver_everything(gateway_factory, tmp_path):
    """Scenario 3: four `python -m realtime.publisher` pipes of 15,000 events on one host, against
    a rate limit they exceed: every one waits out its 429s; all 60,000 delivered, exit 0. They share
    one producer name (as pipes with one token share its subject), so together they exceed 1,000
    events/s even on a loaded machine, where one pipe alone stays under it."""
    gateway = gateway_factory("--publish-rate", "1000", "--publish-burst", "1000", "--metrics-interval", "600")
    lines = []
    for p in range(4):
        path = tmp_path / f"p{p}.jsonl"
        with open(path, "w") as f:
            for i in range(15_000):
                f.write(json.dumps({"event": "scan_progress",
                                    "data": {"scan_id": f"p{p}", "progress": round(i / 150, 2)}}) + "\n")
        lines.append(path)
    pipes = [subprocess.Popen([sys.executable, "-m", "realtime.publisher", "--url", gateway.url, "--producer", "host"],
                              stdin=open(path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
             for path in lines]
    results = [(pipe.wait(240), pipe.stderr.read()) for pipe in pipes]
    assert [code for code, _ in results] == [0, 0, 0, 0], results
    assert all("published 15000 events" in err for _, err in results), results
    assert gateway.get("/healthz")["events_emitted"] == 60_000
    state = gateway.get("/api/state")
    assert {s["scan_id"]: s["progress"] for s in state["scans"]} == {f"p{p}": 99.99 for p in range(4)}
    assert sum(int(err.split("waited out ")[1].split()[0]) for _, err in results) > 0, results  # 429s seen
    no_tracebacks(gateway)


def test_a_publisher_that_cannot_deliver_exits_non_zero_naming_what_was_not_accepted(tmp_path):
    lines = "".join(json.dumps({"event": "scan_progress", "data": {"scan_id": "x", "progress": i % 100}}) + "\n"
                    for i in range(250))
    done = subprocess.run([sys.executable, "-m", "realtime.publisher", "--url", f"http://127.0.0.1:{free_port()}",
                           "--retry-for", "0.5"], input=lines, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 2
    assert "250 events were not accepted (0 were)" in done.stderr, done.stderr


def test_the_dashboard_fails_over_to_the_next_gateway_and_resumes_by_seq(redis_url, gateway_factory):
    """Scenario 5: BUGHUNT_WS_URL names two gateways on one Redis; the one in use dies; the
    client moves to the other, resumes there (a replay, not a resync) and misses nothing."""
    a = gateway_factory("--redis-url", redis_url, "--metrics-interval", "0.5")
    b = gateway_factory("--redis-url", redis_url, "--metrics-interval", "0.5")
    client = RealtimeClient(EventStore(), ClientOptions(reconnect_delay=0.2, reconnect_delay_max=0.5,
                                                        slow_retry=1.0)).start()
    try:
        client.connect(f"{a.url}, {b.url}")
        assert client.wait_connected(10) and client.status.url == a.url
        truth = Truth()
        threads = run_producers(b.url, truth, producers=2, scans=2, events_per_scan=300, pause=0.1)
        wait_for(lambda: (client.store.stream[1] or 0) > 200, timeout=30)
        a.proc.kill()
        for t in threads:
            t.join(120)
        settle(truth, client.store)
        assert caught_up(client).startswith("Reconnected — replayed")
        status = client.status
        assert status.connected and status.url == b.url
    finally:
        client.close()


class DashboardProcess:
    """tests/dashboard_process.py: a dashboard client that the test can stop like a stalled one."""

    def __init__(self, url):
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.dashboard_process", url], cwd=ROOT,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def summary(self):
        self.proc.stdin.write("?\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(10)


def matches(truth, summary):
    return (summary["scans"] == {k: list(v) for k, v in truth.scans.items()}
            and summary["findings"] == sorted(truth.findings)
            and summary["notifications"] == sorted(truth.notifications))


def test_a_stalled_client_is_disconnected_with_a_reason_and_resumes_losing_nothing(gateway_factory, client):
    """Scenario 6: a client that stops reading (SIGSTOP) is disconnected once it has not confirmed
    a backlog check for BUGHUNT_MAX_BACKLOG_SECONDS; the healthy client goes on; the stalled one,
    continued, resumes by seq and ends with everything."""
    gateway = gateway_factory("--max-backlog-seconds", "1.5", "--metrics-interval", "0.5")
    stalled = DashboardProcess(gateway.url)
    try:
        client.connect(gateway.url)
        assert client.wait_connected(10)
        wait_for(lambda: stalled.summary()["connected"], timeout=20)
        stalled.proc.send_signal(signal.SIGSTOP)
        truth = Truth()
        threads = run_producers(gateway.url, truth, producers=2, scans=2, events_per_scan=400, pause=0.05)
        wait_for(lambda: any("slow consumer: nothing confirmed for 1.5 s" in line for line in gateway.log), timeout=30)
        for t in threads:
            t.join(120)
        settle(truth, client.store)
        assert client.status.connected
        stalled.proc.send_signal(signal.SIGCONT)
        # It may first read what its socket buffers held, then see the disconnect and resume.
        wait_for(lambda: stalled.summary()["note"].startswith("Reconnected — replayed"), timeout=30)
        wait_for(lambda: matches(truth, stalled.summary()), timeout=30)
        no_tracebacks(gateway)
    finally:
        stalled.proc.send_signal(signal.SIGCONT)
        stalled.close()


def test_the_state_db_is_compacted_and_a_restart_keeps_the_state(tmp_path, client):
    """Scenario 7 (small; the 1.5M-event figure is bench.statedb): progress folds to each scan's
    latest, what remains restores the same state after kill -9."""
    port, state = free_port(), str(tmp_path / "gateway.sqlite")
    args = ("--port", str(port), "--state-db", state, "--state-compact-after", "0", "--metrics-interval", "60")
    gateway = GatewayProcess(*args)
    try:
        truth = Truth()
        for producer in run_producers(gateway.url, truth, producers=2, scans=3, events_per_scan=300):
            producer.join(60)  # every batch answered 202: on disk (the count below is in memory sooner)
        wait_for(lambda: gateway.get("/healthz")["last_seq"] == 2 * 3 * 302)
        gateway.proc.kill()
        gateway.proc.wait(10)
        gateway = GatewayProcess(*args)
        assert gateway.get("/healthz")["last_seq"] == 2 * 3 * 302  # answered once restored
        with sqlite3.connect(state) as db:
            progress = db.execute("SELECT COUNT(*) FROM events WHERE event = 'scan_progress'").fetchone()[0]
        assert progress == len(truth.scans)  # each scan's latest only
        client.connect(gateway.url)
        settle(truth, client.store)
        no_tracebacks(gateway)
    finally:
        gateway.stop()

"""Issue 15, the journal: a full disk, a corrupt, truncated or unwritable file, `journal import`,
and two dashboards on one machine. Real faults (a tiny tmpfs, a read-only bind mount), real
gateway processes; after each fault or restart the store equals what was published, or the
dashboard states exactly what is missing."""
import html
import json
import os
import re
import subprocess
import sys

import pytest

from realtime import bridge, changes, push
from realtime.client import RealtimeClient
from realtime.journal import Journal
from realtime.journal_files import open_replayed
from realtime.options import JournalOptions
from realtime.store import EventStore
from tests.conftest import ROOT, GatewayProcess, free_port, wait_for
from tests.integration.test_nothing_lost import FAST, Truth, caught_up, produce, settle
from tests.integration.test_pages import open_page


def mount(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"this machine cannot mount (mount {' '.join(args)}: {done.stderr.strip()})")


@pytest.fixture
def tiny_fs(tmp_path):
    """A 256 KiB tmpfs: a disk that really fills up (root only)."""
    where = tmp_path / "tiny"
    where.mkdir()
    mount("-t", "tmpfs", "-o", "size=256k", "tmpfs", str(where))
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.fixture
def read_only_dir(tmp_path):
    """A directory made read-only underneath the dashboard (a read-only bind mount stops root too)."""
    where = tmp_path / "ro"
    where.mkdir()
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


def make_read_only(where) -> None:
    mount("--bind", str(where), str(where))
    mount("-o", "remount,bind,ro", str(where))


def replayed(path: str, url: str):
    return open_replayed(path, JournalOptions(), url, lambda journal: EventStore(journal=journal))


def test_a_full_disk_stops_the_journal_at_what_it_holds_and_a_restart_replays_the_gap(tiny_fs):
    gateway = GatewayProcess("--metrics-interval", "0.5")
    path = str(tiny_fs / "journal.sqlite")
    opened = replayed(path, gateway.url)
    opened.journal.start()
    client = RealtimeClient(opened.store, FAST).start()
    truth = Truth()
    try:
        client.connect(gateway.url)
        assert client.wait_connected(10)
        produce(gateway.url, truth.workload("fits", scans=1, events_per_scan=20))
        settle(truth, client.store)
        assert opened.journal.flush() and opened.journal.durable is not None  # a first part is on disk
        produce(gateway.url, truth.workload("disk", scans=20, events_per_scan=100))
        settle(truth, client.store)  # memory holds everything: the dashboard keeps serving
        opened.journal.flush()
        failure = opened.journal.failure
        assert failure and "disk is full" in failure and path in failure, failure
        assert opened.journal.lost > 0
        held_seq = opened.journal.durable[1]
        client.close()
        opened.journal.close()

        mount("-o", "remount,size=64m", str(tiny_fs))  # space freed; the dashboard restarts
        again = replayed(path, gateway.url)
        assert again.notice is None and again.journal.failure is None
        assert again.store.stream == (opened.store.stream[0], held_seq)  # what is durably stored
        last_seq = gateway.get("/healthz")["last_seq"]
        assert held_seq < last_seq
        again.journal.start()
        client = RealtimeClient(again.store, FAST).start()
        client.connect(gateway.url)
        settle(truth, client.store)
        note = caught_up(client)
        count = int(re.fullmatch(r"Reconnected — replayed (\d+) missed events", note).group(1))
        # everything after the journal's last seq, and whatever the gateway's metrics timer added since
        assert last_seq - held_seq <= count <= gateway.get("/healthz")["last_seq"] - held_seq, note
        again.journal.close()
    finally:
        client.close()
        gateway.stop()


def test_a_full_disk_is_shown_in_the_sidebar_and_on_live_events(tiny_fs, monkeypatch):
    monkeypatch.setenv("BUGHUNT_WS_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("BUGHUNT_JOURNAL", str(tiny_fs / "journal.sqlite"))
    bridge.runtime.clear()
    rt = bridge.runtime()
    told = push.FEED.total((changes.OTHER,))
    try:
        for i in range(3000):
            rt.store.apply("vulnerability_found", {"scan_id": "s", "id": f"f{i}", "title": "t" * 300,
                                                   "severity": "low", "seq": i + 1})
        rt.journal.flush()
        assert rt.journal.failure
        assert push.FEED.total((changes.OTHER,)) > told  # every tab's areas hear of it (no heartbeat needed)
        for page in ("pages/dashboard.py", "pages/events.py"):
            at = open_page(page)
            shown = [html.unescape(e.value) for e in at.error]
            assert any("Journal: writing" in s and "disk is full" in s and "tiny" in s for s in shown), shown
        assert len(rt.store.snapshot().vulnerabilities) == 3000  # served from memory
    finally:
        rt.close()
        bridge.runtime.clear()


def journal_with_events(path: str, url: str, count: int = 3000) -> None:
    journal = Journal(path)
    journal.bind(url)
    journal.write([("e1", "vulnerability_found", {"scan_id": "s", "id": f"f{i}", "title": "x" * 200,
                                                  "severity": "low", "seq": i + 1}, 1.7e9 + i) for i in range(count)])
    journal.close()


@pytest.mark.parametrize("damage", ["not a database", "truncated"])
def test_a_broken_journal_is_moved_aside_with_a_message_and_the_dashboard_starts(tmp_path, damage, monkeypatch):
    path = tmp_path / "journal.sqlite"
    url = f"http://127.0.0.1:{free_port()}"
    if damage == "not a database":
        path.write_text("this is no SQLite file\n" * 100)
    else:
        journal_with_events(str(path), url)
        with open(path, "r+b") as f:
            f.truncate(path.stat().st_size // 2)
    expected = {"not a database": "file is not a database", "truncated": "database disk image is malformed"}[damage]
    monkeypatch.setenv("BUGHUNT_WS_URL", url)
    monkeypatch.setenv("BUGHUNT_JOURNAL", str(path))
    bridge.runtime.clear()
    rt = bridge.runtime()
    try:
        [notice] = rt.journal_problems()
        aside = next(p for p in tmp_path.iterdir() if ".aside-" in p.name and not p.name.endswith(("-wal", "-shm")))
        for part in (str(path), expected, str(aside), "BUGHUNT_JOURNAL", ":memory:"):
            assert part in notice, (part, notice)
        rt.store.apply("scan_started", {"scan_id": "after"})
        rt.journal.flush()
        assert Journal(str(path)).stats()["events"] == 1  # a new journal works
        at = open_page("pages/dashboard.py")
        assert any(expected in html.unescape(e.value) for e in at.sidebar.error)
    finally:
        rt.close()
        bridge.runtime.clear()


def test_an_unwritable_journal_directory_runs_without_a_journal_and_says_so(read_only_dir, monkeypatch):
    path = read_only_dir / "journal.sqlite"
    make_read_only(read_only_dir)
    monkeypatch.setenv("BUGHUNT_WS_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("BUGHUNT_JOURNAL", str(path))
    bridge.runtime.clear()
    rt = bridge.runtime()
    try:
        assert rt.journal is None
        [notice] = rt.journal_problems()
        for part in (str(path), "unable to open database file", "running without a journal", "BUGHUNT_JOURNAL"):
            assert part in notice, (part, notice)
        rt.store.apply("scan_started", {"scan_id": "s"})
        at = open_page("pages/events.py")
        assert any("running without a journal" in html.unescape(e.value) for e in at.error)
        assert "s" in rt.store.snapshot().scans
    finally:
        rt.close()
        bridge.runtime.clear()


def test_journal_import_keeps_the_resume_position(tmp_path):
    """Scenario 6: importing into a stopped dashboard's journal must not cost it its place in the
    stream (a resync would keep only the snapshot's newest findings)."""
    gateway = GatewayProcess("--state-findings", "20", "--metrics-interval", "0.5")
    path = str(tmp_path / "journal.sqlite")
    truth = Truth()
    opened = replayed(path, gateway.url)
    opened.journal.start()
    client = RealtimeClient(opened.store, FAST).start()
    try:
        client.connect(gateway.url)
        assert client.wait_connected(10)
        produce(gateway.url, truth.workload("before", scans=2, events_per_scan=100))
        settle(truth, client.store)
        client.close()
        opened.journal.close()
        produce(gateway.url, truth.workload("while-stopped", scans=4, events_per_scan=200))  # 80 findings
        extra = tmp_path / "one.jsonl"
        extra.write_text(json.dumps({"event": "scan_started", "data": {"scan_id": "imported", "scan_name": "old"}}))
        done = subprocess.run([sys.executable, "-m", "realtime.journal", "import", str(extra), "--journal", path],
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and "imported 1 events" in done.stderr, done.stderr
        again = replayed(path, gateway.url)
        again.journal.start()
        client = RealtimeClient(again.store, FAST).start()
        client.connect(gateway.url)
        settle(truth, client.store)  # every finding, not just the snapshot's 20
        assert caught_up(client).startswith("Reconnected — replayed")
        assert "imported" in client.store.snapshot().scans
        again.journal.close()
    finally:
        client.close()
        gateway.stop()


def test_two_dashboards_with_default_settings_never_mix(tmp_path, monkeypatch):
    """Scenario 3: two dashboards on one machine, two gateways, the default BUGHUNT_JOURNAL: each
    restarts with its own scans only, and its cards agree with its lists."""
    monkeypatch.setenv("HOME", str(tmp_path))
    one, two = GatewayProcess(), GatewayProcess()
    runtimes = []

    def dashboard(gateway):
        env = {k: v for k, v in os.environ.items() if k != "BUGHUNT_JOURNAL"}  # the default
        runtimes.append(bridge.build_runtime({**env, "BUGHUNT_WS_URL": gateway.url}).start())
        assert runtimes[-1].client.wait_connected(10)
        return runtimes[-1]

    try:
        first, second = dashboard(one), dashboard(two)
        for i in range(3):
            one.publish("scan_started", {"scan_id": f"one-{i}"})
        for i in range(8):
            two.publish("scan_started", {"scan_id": f"two-{i}"})
        wait_for(lambda: len(first.store.snapshot().scans) == 3 and len(second.store.snapshot().scans) == 8)
        assert first.journal.path != second.journal.path
        assert str(tmp_path) in first.journal.path
        first.close()
        second.close()
        first, second = dashboard(one), dashboard(two)  # both restart
        for rt, gateway, count in ((first, one, 3), (second, two, 8)):
            snap = rt.store.snapshot()
            assert sorted(snap.scans) == sorted(s["scan_id"] for s in gateway.get("/api/state")["scans"])
            assert snap.metrics["total_scans"] == count == len(snap.scans)
            assert snap.metrics["active_scans"] == len([s for s in snap.scans.values() if s.status == "running"])
    finally:
        for rt in runtimes:
            rt.close()
        one.stop()
        two.stop()


def test_a_journal_of_another_gateway_is_moved_aside_not_replayed(tmp_path):
    path = str(tmp_path / "shared.sqlite")
    journal_with_events(path, "http://127.0.0.1:1111", count=5)
    opened = replayed(path, "http://127.0.0.1:2222")
    try:
        assert "holds the stream of http://127.0.0.1:1111, not http://127.0.0.1:2222" in opened.notice
        assert not opened.store.snapshot().vulnerabilities
        assert opened.journal.stats()["gateway"] == "http://127.0.0.1:2222"
    finally:
        opened.journal.close()

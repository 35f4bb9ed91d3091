"""Issue 15: time validated at the door, pages that never crash on any stored value, orphaned
scans named "lost contact", and catch-up that says what it could not bring back. Real gateway
processes; pages under AppTest."""
import json
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from realtime import bridge, protocol, views
from realtime.client import RealtimeClient
from realtime.journal import SNAPSHOT, Journal
from realtime.store import EventStore
from tests.conftest import ROOT, GatewayProcess, free_port, wait_for
from tests.integration.test_nothing_lost import FAST, produce
from tests.integration.test_pages import PAGES, open_page
from tests.tcpproxy import TcpProxy


def iso(when: datetime) -> str:
    return when.isoformat()


def test_the_gateway_refuses_times_outside_its_window_with_a_reason():
    gateway = GatewayProcess("--clock-window", "3600")
    now = datetime.now(UTC)
    try:
        for bad in ("0001-01-01T00:00:00", "9999-12-31T23:59:59", "1970-01-01T00:00:00Z",
                    iso(now + timedelta(hours=2))):
            status, body = gateway.post({"event": "scan_started", "data": {"scan_id": "t", "timestamp": bad}})
            assert status == 400, (bad, body)
            assert body["details"][0]["error"].startswith("timestamp: "), body
        status, body = gateway.post({"event": "vulnerability_found", "data": {
            "scan_id": "t", "title": "x", "severity": "low", "found_at": iso(now + timedelta(hours=2))}})
        assert status == 400 and "ahead of the gateway's clock" in body["details"][0]["error"], body
        for fine in (iso(now + timedelta(minutes=30)), "2023-11-06T14:48:31+01:00"):  # a tool's recorded time
            status, body = gateway.post({"event": "scan_started", "data": {"scan_id": "t", "timestamp": fine}})
            assert status == 202, body
        status, body = gateway.post({"event": "scan_completed", "data": {"scan_id": "t", "duration": 1e12}})
        assert status == 400 and "duration" in body["details"][0]["error"]
        assert [s["scan_id"] for s in gateway.get("/api/state")["scans"]] == ["t"]
    finally:
        gateway.stop()


def old_version_journal(path: str, url: str) -> None:
    """What an older version could have stored: times from year 1 to 9999, arrival times that
    are no times, counts and durations without bounds, a snapshot full of the same."""
    journal = Journal(path)
    journal.bind(url)
    rows = [
        ("scan_started", {"scan_id": "y1", "scan_name": "Year one", "timestamp": "0001-01-01T00:00:00"}, 1.7e9),
        ("scan_started", {"scan_id": "y9", "scan_name": "Year 9999", "timestamp": "9999-12-31T23:59:59"}, 1.7e9),
        ("scan_started", {"scan_id": "e70", "timestamp": "1970-01-01T00:00:00"}, 1.7e9),
        ("vulnerability_found", {"scan_id": "y1", "title": "old", "severity": "high",
                                 "timestamp": "0001-01-01T00:00:00"}, 1.7e9),
        ("notification", {"message": "far future", "timestamp": "9999-12-31T23:59:59"}, 1.7e9),
        ("scan_progress", {"scan_id": "big", "progress": 10, "vulnerabilities_found": 10**30}, 1.7e9),
        ("scan_completed", {"scan_id": "long", "duration": 1e300}, 1.7e9),
        ("scan_started", {"scan_id": "at-neg"}, -1e300),
        ("scan_started", {"scan_id": "at-big"}, 1e300),
        (SNAPSHOT, {"epoch": "old", "last_seq": 5, "scans": [
            {"scan_id": "snap-bad", "status": "running", "started_at": -62135596800.0, "updated_at": 1e300,
             "progress": 1e9, "history": [{"at": "never", "progress": 1}]},
            {"scan_id": "snap-odd", "status": "exploded", "started_at": 1.7e9, "updated_at": 1.7e9}],
            "vulnerabilities": [{"id": "v", "scan_id": "x", "title": "t", "severity": "high", "found_at": 1e300}],
            "notifications": [{"id": "n", "message": "m", "at": -1.0}], "metrics": {"total_scans": "many"}}, 1.7e9),
    ]
    journal.write([("old", event, data, at) for event, data, at in rows])
    journal.close()


def extreme_but_accepted(tmp_path, path: str) -> None:
    """The most extreme values accepted today, imported (an import may bring old events)."""
    earliest, latest = protocol.EARLIEST.isoformat(), (protocol.LATEST - timedelta(seconds=1)).isoformat()
    long = "x" * 10_000
    lines = [
        {"event": "scan_started", "data": {"scan_id": "edge-old", "scan_name": long[:200], "target": long[:2048],
                                           "timestamp": earliest}, "at": protocol.EARLIEST.timestamp()},
        {"event": "scan_progress", "data": {"scan_id": "edge-old", "progress": 100, "phase": long[:100],
                                            "vulnerabilities_found": protocol.MAX_COUNT, "timestamp": earliest}},
        {"event": "scan_started", "data": {"scan_id": "edge-new", "timestamp": latest},
         "at": protocol.LATEST.timestamp() - 1},
        {"event": "scan_completed", "data": {"scan_id": "edge-new", "duration": protocol.MAX_SECONDS,
                                             "total_vulnerabilities": protocol.MAX_COUNT, "timestamp": latest}},
        {"event": "vulnerability_found", "data": {"scan_id": "edge-old", "title": long[:500], "severity": "critical",
                                                  "cvss_score": 10, "description": long[:protocol.DESCRIPTION_LIMIT],
                                                  "timestamp": earliest}},
        {"event": "vulnerability_found", "data": {"scan_id": "edge-new", "title": "newest", "severity": "info",
                                                  "cvss_score": 0, "timestamp": latest}},
        {"event": "notification", "data": {"message": long[:2000], "title": long[:200], "timestamp": latest}},
        {"event": "notification", "data": {"message": "oldest", "timestamp": earliest}},
        {"event": "metrics_update", "data": {"total_vulnerabilities": protocol.MAX_COUNT}},
    ]
    source = tmp_path / "extreme.jsonl"
    source.write_text("\n".join(json.dumps(line) for line in lines))
    done = subprocess.run([sys.executable, "-m", "realtime.journal", "import", str(source), "--journal", path],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert f"imported {len(lines)} events, skipped 0 lines" in done.stderr, done.stderr


@pytest.mark.parametrize("page", PAGES)
def test_no_page_raises_for_any_stored_value(tmp_path, monkeypatch, page):
    url = f"http://127.0.0.1:{free_port()}"
    path = str(tmp_path / "journal.sqlite")
    old_version_journal(path, url)
    extreme_but_accepted(tmp_path, path)
    monkeypatch.setenv("BUGHUNT_WS_URL", url)
    monkeypatch.setenv("BUGHUNT_JOURNAL", path)
    bridge.runtime.clear()
    rt = bridge.runtime()
    try:
        snap = rt.store.snapshot()
        assert rt.journal_problems() == []
        assert set(snap.scans) == {"edge-old", "edge-new"}, sorted(snap.scans)  # the rest: rejected, with reasons
        reasons = [r.reason for r in snap.rejected]
        assert sum("outside 1990–2099" in r for r in reasons) == 5, reasons
        assert sum("is not a time" in r for r in reasons) == 2, reasons
        assert sum("less than or equal to" in r for r in reasons) == 2, reasons  # count, duration
        for scan_id in (None, "edge-old", "edge-new"):
            at = open_page(page, **({"id": scan_id} if scan_id else {}))  # asserts no exception
            if page != "pages/scan.py":
                break
        if page == "pages/events.py":
            assert any("outside 1990" in str(v) for v in at.dataframe[2].value["reason"])
    finally:
        rt.close()
        bridge.runtime.clear()


def test_orphaned_scans_lose_contact_and_cards_agree_with_panels():
    """Scenario 4: a gateway restarted without state while scans run."""
    port = free_port()
    first = GatewayProcess("--port", str(port))
    client = RealtimeClient(EventStore(), FAST).start()
    second = None
    try:
        client.connect(first.url)
        assert client.wait_connected(10)
        for scan_id in ("o1", "o2", "o3"):
            first.publish("scan_started", {"scan_id": scan_id})
        first.publish("scan_completed", {"scan_id": "o3"})
        first.publish("metrics_update", {"total_scans": 50, "active_scans": 40})  # what a server may claim
        wait_for(lambda: client.store.snapshot().scans.get("o3") and client.store.snapshot().scans["o3"].finished)
        first.stop()
        second = GatewayProcess("--port", str(port))
        wait_for(lambda: client.store.snapshot().scans["o1"].status == protocol.LOST_CONTACT, timeout=20)
        snap = client.store.snapshot()
        assert {s: (v.status, v.lost_why) for s, v in snap.scans.items()} == {
            "o1": ("lost contact", "not in the gateway's state when the dashboard resynced"),
            "o2": ("lost contact", "not in the gateway's state when the dashboard resynced"),
            "o3": ("completed", None)}
        assert snap.metrics["active_scans"] == len(views.active_scans(snap)) == 0
        assert snap.metrics["total_scans"] == len(snap.scans) == 3
        second.publish("scan_progress", {"scan_id": "o1", "progress": 60})  # its scanner is still at work
        wait_for(lambda: client.store.snapshot().scans["o1"].status == "running")
        snap = client.store.snapshot()
        assert snap.scans["o1"].lost_at is None and snap.metrics["active_scans"] == 1
    finally:
        client.close()
        first.stop()
        if second is not None:
            second.stop()


def test_catch_up_names_what_it_could_not_bring_back_for_every_kind():
    """Scenario 7: notifications beyond the snapshot are reported, like findings and events."""
    gateway = GatewayProcess("--replay-events", "100", "--state-findings", "20")
    proxy = TcpProxy(int(gateway.url.rsplit(":", 1)[1]))
    client = RealtimeClient(EventStore(), FAST).start()
    try:
        client.connect(proxy.url)
        assert client.wait_connected(10)
        gateway.publish("scan_started", {"scan_id": "c"})
        wait_for(lambda: "c" in client.store.snapshot().scans)
        proxy.cut()
        wait_for(lambda: not client.status.connected)
        produce(gateway.url, [("notification", {"id": f"n{i}", "message": f"note {i}"}) for i in range(300)]
                + [("vulnerability_found", {"scan_id": "c", "id": f"f{i}", "title": f"F{i}", "severity": "low"})
                   for i in range(50)])
        proxy.restore()
        wait_for(lambda: client.status.connected and client.store.snapshot().connection.note, timeout=20)
        note = client.store.snapshot().connection.note
        assert note == ("Resynced from snapshot — not brought back: 350 events after seq 1 (their outcome is in "
                        "the snapshot, the event log lacks them); 30 older findings (beyond the snapshot); "
                        "200 older notifications (beyond the snapshot)"), note
        snap = client.store.snapshot()
        assert len(snap.notifications) == 100 and len(snap.vulnerabilities) == 20
    finally:
        client.close()
        proxy.close()
        gateway.stop()


def test_a_stream_change_in_the_journal_replays_as_lost_contact(tmp_path):
    """The journal knows its epoch lineage: a restart rebuilds the same "lost contact" scans."""
    path = str(tmp_path / "journal.sqlite")
    journal = Journal(path).start()
    store = EventStore(journal=journal)
    store.set_epoch("e1")
    store.apply("scan_started", {"scan_id": "a", "seq": 1})
    store.set_epoch("e2")
    store.apply("scan_started", {"scan_id": "b", "seq": 1})
    journal.close()
    again = EventStore()
    Journal(path).replay(again)
    snap = again.snapshot()
    assert (snap.scans["a"].status, snap.scans["b"].status) == ("lost contact", "running")
    assert "new epoch e2" in snap.scans["a"].lost_why
    assert Journal(path).epochs() == ["e1", "e2"] and again.stream == ("e2", 1)
    assert sqlite3.connect(path).execute("SELECT COUNT(*) FROM events").fetchone()[0] == 2

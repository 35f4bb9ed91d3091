"""Issue 15, the pure parts: time bounds, lost contact in the store, checked snapshots, journal
names per gateway, imports without an epoch."""
import io
import json

import pytest

from realtime import protocol, resync
from realtime.journal import Journal
from realtime.journal_files import gateway_name, journal_path
from realtime.store import EventStore


@pytest.mark.parametrize("ts", ["0001-01-01T00:00:00", "9999-12-31T23:59:59", "1970-01-01T00:00:00Z",
                                "2100-01-01T00:00:00+00:00"])
def test_times_pages_cannot_show_are_refused_by_every_parse(ts):
    with pytest.raises(protocol.InvalidEvent, match="timestamp: .* is outside 1990–2099"):
        protocol.parse("scan_started", {"scan_id": "1", "timestamp": ts})


def test_naive_times_are_utc():
    ev = protocol.parse("scan_started", {"scan_id": "1", "timestamp": "2020-01-01T00:00:00"})
    assert ev.epoch(0) == 1577836800.0


def test_a_new_epoch_loses_contact_with_scans_under_way_and_an_event_restores_it():
    store = EventStore()
    store.set_epoch("e1")
    for scan_id in ("run", "queue", "done"):
        store.apply("scan_started", {"scan_id": scan_id, "status": "queued" if scan_id == "queue" else "running"})
    store.apply("scan_completed", {"scan_id": "done"})
    store.set_epoch("e2", at=1.7e9)
    snap = store.snapshot()
    assert {s: v.status for s, v in snap.scans.items()} == {"run": "lost contact", "queue": "lost contact",
                                                           "done": "completed"}
    assert snap.scans["run"].lost_at == 1.7e9 and "new epoch e2" in snap.scans["run"].lost_why
    assert snap.metrics["active_scans"] == 0
    store.apply("scan_progress", {"scan_id": "run", "progress": 5})
    assert store.snapshot().scans["run"].status == "running" and store.snapshot().scans["run"].lost_why is None
    store.apply("scan_failed", {"scan_id": "queue"})  # a lost scan can still end
    assert store.snapshot().scans["queue"].status == "failed"


def test_any_later_event_of_a_lost_scan_brings_it_back():
    store = EventStore()
    store.set_epoch("e1")
    store.apply("scan_started", {"scan_id": "r1"})
    store.set_epoch("e2")
    assert store.snapshot().scans["r1"].status == "lost contact"
    store.apply("vulnerability_found", {"scan_id": "r1", "title": "t", "severity": "low"})  # not only progress
    assert store.snapshot().scans["r1"].status == "running"
    assert store.snapshot().metrics["active_scans"] == 1


def test_a_snapshot_is_checked_and_what_it_lacks_is_counted():
    doc = {"epoch": "e", "last_seq": 9, "vulnerabilities_total": 5, "notifications_total": 300,
           "scans": [{"scan_id": "ok", "status": "running", "started_at": 1.7e9, "updated_at": 1.7e9},
                     {"scan_id": "bad", "status": "running", "started_at": -1e300, "updated_at": 1.7e9}],
           "vulnerabilities": [{"id": "v", "scan_id": "ok", "title": "t", "severity": "nope", "cvss_score": None,
                                "url": None, "vulnerability_type": None, "description": None, "found_at": 1.7e9}],
           "notifications": [{"id": "n", "type": "info", "title": None, "message": "m", "scan_id": None,
                              "user_id": None, "at": 1.7e9}],
           "metrics": {"total_scans": "many", "critical_count": 2}}
    checked = resync.checked(doc)
    assert [s["scan_id"] for s in checked["scans"]] == ["ok"] and checked["metrics"] == {"critical_count": 2}
    assert checked["counts"] == {"scans": 1, "unreadable": 2, "findings_not_loaded": 4,
                                 "notifications_not_loaded": 299}
    assert resync.checked("garbage")["scans"] is None


def test_each_gateway_url_gets_its_own_journal_file():
    names = {gateway_name(u) for u in ("http://127.0.0.1:8000", "http://127.0.0.1:8001", "https://127.0.0.1:8000", "")}
    assert len(names) == 4 and "demo" in names
    assert journal_path("/j/journal-{gateway}.sqlite", "http://gw.example:8000/x") .startswith(
        "/j/journal-gw.example_8000_x-")
    assert journal_path("/j/fixed.sqlite", "http://a") == "/j/fixed.sqlite"


def test_an_import_leaves_the_resume_position_and_the_epoch_lineage(tmp_path):
    path = str(tmp_path / "j.sqlite")
    journal = Journal(path)
    journal.write([("e1", "scan_started", {"scan_id": "a", "seq": 7}, 1.7e9)])
    errors = io.StringIO()
    assert journal.import_lines([json.dumps({"event": "scan_started", "data": {"scan_id": "b"}, "at": 1.7e9}),
                                 json.dumps({"event": "scan_started", "data": {"scan_id": "c"}, "at": -5})],
                                errors) == (1, 1)
    assert "at: -5.0 is not a time" in errors.getvalue()
    store = EventStore()
    journal.replay(store)
    assert store.stream == ("e1", 7) and set(store.snapshot().scans) == {"a", "b"}
    assert journal.epochs() == ["e1"]
    journal.close()

"""Issue 18, part A, under AppTest (the browser-only points are tests/e2e/test_team_share.py):
share links under BUGHUNT_PUBLIC_URL, per-viewer read flags, Mark all as read with a type
filter, filters from the URL, times named and exported in UTC, read flags kept by the journal."""
import json
import re

import pytest

from realtime import bridge, views
from realtime.journal import Journal
from realtime.readstate import ReadState
from realtime.store import EventStore
from realtime.viewer import page_url
from tests.conftest import free_port
from tests.integration.test_pages import feed, open_page, texts


@pytest.fixture
def rt(monkeypatch):
    monkeypatch.setenv("BUGHUNT_WS_URL", f"http://127.0.0.1:{free_port()}")
    bridge.runtime.clear()
    runtime = bridge.runtime()
    yield runtime
    runtime.close()
    bridge.runtime.clear()


def test_a_share_link_under_the_public_address():
    """BUGHUNT_PUBLIC_URL wins over the browser's address (the page's own link: tests/e2e)."""
    link = page_url("https://bughunt.example.com/", "scan", {"id": "s1", "token": "a.b-c"})
    assert link == "https://bughunt.example.com/scan?id=s1&token=a.b-c"


NOTES = [("notification", {"id": f"e{i}", "type": "error", "message": f"error {i}"}) for i in range(3)] + \
        [("notification", {"id": f"i{i}", "type": "info", "message": f"info {i}"}) for i in range(2)]


def test_read_flags_are_per_viewer_and_mark_all_marks_only_what_the_filter_shows(rt):
    feed(rt.store, NOTES)
    one, other = open_page("pages/notifications.py", type="error"), open_page("pages/notifications.py")
    assert "3 of type error · 5 unread · 5 in all" in texts(one)  # what the filter shows, and every unread
    assert [m.value for m in one.markdown if "error" in m.value or "info" in m.value] == \
        [f":material/error: error {i}" for i in (2, 1, 0)]  # the URL's filter applies
    next(b for b in one.button if b.label == "Mark all as read").click().run()
    assert "3 of type error · 2 unread · 5 in all" in texts(one) and "2 unread notifications" in texts(one)
    assert rt.reads.read_ids("session:" + one.session_state["session_viewer"]) == {"e0", "e1", "e2"}
    other.run()
    assert "5 unread · 5 in all" in texts(other)  # another viewer's flags are their own


def test_filters_and_the_chosen_scan_come_from_the_url(rt):
    feed(rt.store, [("scan_started", {"scan_id": "a1", "scan_name": "A"}),
                    ("scan_started", {"scan_id": "b2", "scan_name": "B"}),
                    ("vulnerability_found", {"scan_id": "a1", "title": "in a", "severity": "high"}),
                    ("vulnerability_found", {"scan_id": "b2", "title": "in b", "severity": "low"})])
    at = open_page("pages/vulnerabilities.py", scan="a1")
    assert at.selectbox(key="scan").value == "a1"
    assert at.dataframe[0].value["title"].tolist() == ["in a"]
    feed(rt.store, [("scan_started", {"scan_id": f"n{i}", "scan_name": f"new {i}"}) for i in range(5)])
    at.multiselect(key="severities").select("high").run()  # new scans, then the next filter change
    assert at.selectbox(key="scan").value == "a1" and at.query_params["scan"] in ("a1", ["a1"])
    assert open_page("pages/vulnerabilities.py", scan="not an id!").selectbox(key="scan").value == ""


def test_times_name_their_zone_and_exports_are_utc_with_z(rt):
    feed(rt.store, [("scan_started", {"scan_id": "t1", "scan_name": "Timed", "timestamp": "2026-11-27T11:10:10Z"}),
                    ("vulnerability_found", {"scan_id": "t1", "title": "timed", "severity": "low",
                                             "timestamp": "2026-11-27T11:10:12.5Z"})])
    at = open_page("pages/scan.py", id="t1")
    assert re.search(r"started 2026-11-27 11:10:10 UTC \(\d+ (min|h|d)", texts(at))  # no browser here: UTC, named
    snap = rt.store.snapshot()
    frame = views.findings_frame(snap, snap.vulnerabilities)
    assert "2026-11-27T11:10:12.500Z" in views.to_csv(frame).decode()
    assert json.loads(views.to_json(frame))[0]["found at"] == "2026-11-27T11:10:12.500Z"
    line = json.loads(views.events_jsonl(snap.events[-1:]).decode())
    assert line["time"].endswith("Z")


def test_zones_from_the_browser():
    la = views.zone_of("America/Los_Angeles", 480)
    assert views.clock(1795777810, la) == "2026-11-27 03:10:10 PST" and views.zone_name(la) == "America/Los_Angeles"
    assert views.clock(1795777810, views.zone_of("No/Such_Zone", -330)) == "2026-11-27 16:40:10 UTC+05:30"
    assert views.clock(1795777810, views.zone_of(None, None)) == "2026-11-27 11:10:10 UTC"
    assert views.iso_utc(1795777810.25) == "2026-11-27T11:10:10.250Z"


def test_read_flags_per_viewer_survive_a_restart(tmp_path):
    path = str(tmp_path / "journal.sqlite")
    journal = Journal(path).start()
    store = EventStore(journal=journal)
    for event, data in NOTES:
        store.apply(event, data)
    reads = ReadState(journal)
    assert reads.mark("browser:a", ["e0", "e1", "gone"], store.snapshot()) == 2  # returns once committed
    journal.close()
    again = Journal(path)
    reads = ReadState(again, max_viewers=1)
    assert reads.read_ids("browser:a") == {"e0", "e1"} and reads.read_ids("browser:b") == frozenset()
    assert reads.read_ids("browser:a") == {"e0", "e1"}  # forgotten in memory (max_viewers), loaded again
    again.close()

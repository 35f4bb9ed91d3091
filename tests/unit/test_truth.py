"""The monitor never lies (wave 4): what it shows equals what happened, or it says what it does
not know. The stream's health as the dashboard shows it, unknown fields named, a nuclei replay on
one clock, a lost-contact scan's duration, exports in UTC with Z."""
import re
from datetime import UTC, datetime

from realtime import extra_fields, protocol, stream_health, views
from realtime.adapters import Scan as AdapterScan
from realtime.adapters import nuclei
from realtime.store import EventStore
from tests.conftest import ROOT

SAMPLES = ROOT / "tests" / "samples"


def test_the_panel_says_the_stream_is_down_since_when_and_why_and_the_newest_status_wins():
    down = stream_health.read(stream_health.health((1795694412.5, "redis is unreachable (ConnectionError)"), 0))
    text = stream_health.down_text(down, UTC)
    assert text.startswith("Connected to the gateway — it cannot receive events: its Redis stream is down "
                           "since 2026-11-26 12:00:12 UTC (redis is unreachable (ConnectionError))")
    back = stream_health.read(stream_health.health(None, 1795694420.0))
    assert stream_health.down_text(back) is None and stream_health.down_text(None) is None
    assert stream_health.newer(down, back) is back and stream_health.newer(back, down) is back  # crossed
    assert stream_health.newer(back, None) is back
    assert stream_health.read({"ok": "yes"}) is None and stream_health.read(["x"]) is None  # untrusted


def test_unknown_fields_are_named_with_the_likely_meant_field_and_bounded():
    finding = {"scan_id": "1", "title": "t", "severity": "high", "cve_id": ["CVE-2021-44228"], "name": "alias"}
    assert extra_fields.of_event("vulnerability_found", finding) == ["cve_id (did you mean cve?)"]
    assert extra_fields.of_event("scan_started", {"scan_id": "1", "target_url": "x", "seq": 3}) == []  # aliases
    assert extra_fields.of_request("start_scan", {"target": "x", "scan_nmae": "y"}) == [
        "scan_nmae (did you mean scan_name?)"]
    many = extra_fields.of_event("notification", {"message": "m", **{f"zz{i}": i for i in range(50)}})
    assert len(many) == extra_fields.MAX_NAMED + 1 and many[-1] == "… 40 more"
    assert extra_fields.in_batch([{"event": "scan_started", "data": {"scan_id": "1"}},
                                  {"event": "vulnerability_found", "data": finding}]) == [
        {"index": 1, "event": "vulnerability_found", "fields": ["cve_id (did you mean cve?)"]}]
    batch = [{"event": "notification", "data": {"message": "m", f"mesage{i}": 1}} for i in range(200)]
    labels = [name for item in extra_fields.in_batch(batch) for name in item["fields"]]
    assert len(labels) == 200 and sum("did you mean" in name for name in labels) == extra_fields.HINTS  # bounded work
    note = extra_fields.notification("scanner1", extra_fields.in_batch([{"event": "vulnerability_found",
                                                                          "data": finding}]))
    assert protocol.parse("notification", note).type == "warning"


def test_unknown_fields_are_told_to_dashboards_once_per_producer_and_fields_a_while():
    reported = extra_fields.Reported(seconds=60, limit=2)
    assert reported.first(("p", "cve_id"), now=0) and not reported.first(("p", "cve_id"), now=59)
    assert reported.first(("p", "cve_id"), now=61)  # an hour later it is said again
    assert reported.first(("q", "x"), now=61) and reported.first(("r", "x"), now=61)
    assert reported.first(("p", "cve_id"), now=62)  # bounded: the oldest was forgotten


def test_a_nuclei_replay_without_statistics_keeps_the_receivers_clock_for_its_findings_too():
    """DefectDojo's many_findings.json (nuclei 2.x, 2021 timestamps, no statistics line): the scan
    is timed by the receiver, so its findings must not claim 2021 as when they were found."""
    lines = (SAMPLES / "real/nuclei/defectdojo-many_findings.jsonl").read_text().splitlines()
    events = [(event, data) for _n, event, data in nuclei.convert(lines, AdapterScan("n1")) if event]
    findings = [data for event, data in events if event == "vulnerability_found"]
    assert findings and all(f.get("found_at") is None for f in findings)
    assert findings[0]["details"]["nuclei time"].startswith("2021-05-20T")  # the tool's time, named
    store = EventStore()
    for event, data in events:
        assert store.apply(event, data) is not None, (event, data)
    snap = store.snapshot()
    scan = snap.scans["n1"]
    assert all(scan.started_at <= v.found_at <= scan.finished_at for v in snap.vulnerabilities)


def test_a_nuclei_run_on_its_own_clock_keeps_nucleis_found_at():
    lines = (SAMPLES / "nuclei.jsonl").read_text().splitlines()  # starts with a statistics line
    events = list(nuclei.convert(lines, AdapterScan("n2")))
    findings = [data for _n, event, data in events if event == "vulnerability_found"]
    assert findings and all(f["found_at"] for f in findings)
    assert not any("nuclei time" in (f.get("details") or {}) for f in findings)


def test_a_lost_contact_scans_duration_stops_at_its_last_event_and_says_so():
    store = EventStore()
    store.set_epoch("a")
    store.apply("scan_started", {"scan_id": "s"}, at=1000.0)
    for i in range(6):
        store.apply("scan_progress", {"scan_id": "s", "progress": 15 + 5 * i, "phase": "active_recon"},
                    at=1005.0 + 5 * i)
    store.set_epoch("b", at=1100.0)  # the gateway restarted without its state
    scan = store.snapshot().scans["s"]
    assert scan.status == protocol.LOST_CONTACT
    assert views.elapsed(scan, now=5000.0) == 30.0
    assert views.duration_text(scan, now=5000.0) == "30 s until contact was lost"
    assert views.scans_frame(store.snapshot(), 5000.0, 120)["duration"][0] == "30 s until contact was lost"
    assert views.phase_spans(scan, now=5000.0) == [("active_recon", 1005.0, 1030.0)]  # the timeline stops too
    assert views.eta(scan, now=5000.0) is None  # and no ETA for a scan whose fate is unknown
    store.apply("scan_progress", {"scan_id": "s", "progress": 50}, at=1200.0)  # back in contact: runs on
    assert views.duration_text(store.snapshot().scans["s"], now=1260.0) == views.span(260.0)


def test_every_time_in_a_findings_export_is_utc_iso_8601_with_z():
    store = EventStore()
    store.apply("scan_started", {"scan_id": "s"})
    store.apply("vulnerability_found", {"scan_id": "s", "title": "t", "severity": "high",
                                        "found_at": "2021-05-20T11:11:01.667748+03:00",
                                        "first_seen_at": "2021-05-20T11:11:01+03:00",
                                        "triage": {"state": "fixed", "at": "2026-01-01T02:00:00+02:00"}})
    snap = store.snapshot()
    csv = views.to_csv(views.findings_frame(snap, snap.vulnerabilities)).decode().splitlines()
    row = dict(zip(csv[0].split(","), csv[1].split(","), strict=True))
    iso_z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z\Z")
    for column in ("found at", "first seen", "triage at"):
        assert iso_z.match(row[column]), (column, row[column])
    assert row["found at"] == "2021-05-20T08:11:01.667Z"
    assert datetime.fromisoformat(row["triage at"]) == datetime(2026, 1, 1, tzinfo=UTC)


def test_a_lost_notes_clock_is_plain_text_and_its_reason_inert():
    store = EventStore()
    store.set_epoch("a")
    store.apply("scan_started", {"scan_id": "s"}, at=1000.0)
    store.set_epoch("**b** :30:", at=1100.0)  # the reason names the new epoch: the gateway's text
    note = views.lost_note(store.snapshot().scans["s"], UTC, views.literal)
    assert note.startswith("lost contact since 1970-01-01 00:18:20 UTC — ")  # no code span around the clock
    assert "**b**" not in note and "&#42;&#42;b&#42;&#42;" in note


def test_a_page_of_findings_without_scores_has_an_empty_number_column():
    store = EventStore()
    store.apply("vulnerability_found", {"scan_id": "s", "title": "No score", "severity": "low"})
    snap = store.snapshot()
    table = views.findings_page(snap, ((), "", "", "", views.DEFAULT_SHOW), 1, 10)
    assert str(table.schema.field("cvss").type) == "double" and table.column("cvss").to_pylist() == [None]

"""Issue 18 part C without a browser: card numbers, burst toasts, charts, inert text."""
import dataclasses
import html
import re
import time

from realtime import protocol, views
from realtime.models import Sample
from realtime.store import EventStore


def test_burst_toast_counts_every_finding_that_arrived():
    store = EventStore()
    cursor = store.snapshot().logged
    store.apply("scan_started", {"scan_id": "s2", "scan_name": "Second"})
    for i in range(300):  # 60 per severity
        store.apply("vulnerability_found", {"scan_id": "s1", "title": f"t{i}",
                                            "severity": protocol.SEVERITIES[i % 5]})
    for i in range(3):
        store.apply("notification", {"message": f"note {i}"})
    [toast] = views.plan_toasts(views.new_records(store.snapshot(), cursor))
    assert toast.text == "300 new findings, 60 critical · 1 scan started · 3 notifications"


def test_cards_agree_with_the_pages_after_a_gateway_restart():
    store = EventStore()
    for i in range(6):
        store.apply("scan_started", {"scan_id": f"s{i}"})
        store.apply("vulnerability_found", {"scan_id": f"s{i}", "title": "x", "severity": "critical"})
    store.apply("metrics_update", {"total_scans": 2, "total_vulnerabilities": 3, "critical_count": 1})
    snap = store.snapshot()
    # five minutes ago the gateway (before its restart) had counted more than the dashboard holds
    before = Sample(time.time() - 200, {**snap.metrics, "total_vulnerabilities": 20, "critical_count": 20}, 0)
    snap = dataclasses.replace(snap, samples=(before, *snap.samples))
    cards = {key: views.stat_card(snap, label, key) for label, key in
             [("Total Scans", "total_scans"), ("Vulnerabilities", "total_vulnerabilities"),
              ("Critical", "critical_count")]}
    assert cards["total_scans"].value == len(snap.scans) == 6  # what the Scans page lists
    assert cards["total_vulnerabilities"].value == len(snap.vulnerabilities) == 6  # the Vulnerabilities page
    assert cards["critical_count"].value == 6
    assert cards["total_vulnerabilities"].delta is None  # 20 → 6 is a restart, not 14 findings fixed
    assert "fell by 14" in cards["total_vulnerabilities"].help and "nothing was fixed" in cards["critical_count"].help
    assert "The gateway reports 3" in cards["total_vulnerabilities"].help  # where the numbers come from
    assert "gateway reports" not in views.stat_card(store.snapshot(), "Active Scans", "active_scans").help


def test_card_says_when_the_dashboard_holds_fewer_than_counted():
    store = EventStore()
    store.apply("vulnerability_found", {"scan_id": "s", "title": "x", "severity": "low"})
    store.apply("metrics_update", {"total_vulnerabilities": 50})
    card = views.stat_card(store.snapshot(), "Vulnerabilities", "total_vulnerabilities")
    assert card.value == 50 and "holds 1 of them" in card.help and "Vulnerabilities page" in card.help


def test_phase_timeline_hover_names_a_duration():
    store = EventStore()
    now = time.time()
    store.apply("scan_progress", {"scan_id": "s", "progress": 10, "phase": "recon"}, at=now - 125)
    store.apply("scan_progress", {"scan_id": "s", "progress": 60, "phase": "vulnerability_testing"}, at=now - 5)
    bars = views.gantt_figure(store.snapshot().scans["s"], now)["data"][0]
    assert "%{x" not in bars["hovertemplate"]  # on a date axis %{x} is a date: "→ NaN ms"
    assert [d[1] for d in bars["customdata"]] == ["2 min 0 s", "5 s"]


def test_empty_and_sparse_charts_say_so_and_keep_sane_axes():
    store = EventStore()
    for fig in (views.severity_figure(store.snapshot()), views.findings_over_time_figure(store.snapshot())):
        layout = fig["layout"]
        assert layout["annotations"][0]["text"] == "No findings yet" and layout["yaxis"]["visible"] is False
    store.apply("scan_progress", {"scan_id": "s", "progress": 5, "phase": "recon"})
    axis = views.progress_figure(store.snapshot().scans["s"])["layout"]["xaxis"]
    first, last = (time.mktime(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S")) for t in axis["range"])
    assert axis["type"] == "date" and last - first >= 59  # one point: a minute around it, not microseconds
    store.apply("vulnerability_found", {"scan_id": "s", "title": "a", "severity": "high"})
    store.apply("vulnerability_found", {"scan_id": "s", "title": "b", "severity": "low"})
    fig = views.severity_figure(store.snapshot())
    assert fig["layout"]["yaxis"]["range"][0] == 0 and fig["layout"]["yaxis"]["dtick"] == 1
    filtered = views.severity_figure(store.snapshot(), (("low",), "", ""))["data"][0]
    assert dict(zip(filtered["x"], filtered["y"])) == {"critical": 0, "high": 0, "medium": 0, "low": 1, "info": 0}


def test_scan_older_than_the_event_log_says_what_is_known():
    store = EventStore()
    store.apply("scan_started", {"scan_id": "old"}, at=time.time() - 900)
    for i in range(3):
        store.apply("scan_progress", {"scan_id": "new", "progress": i})
    snap = dataclasses.replace(store.snapshot(), events=store.snapshot().events[:3])  # "old" fell out of the log
    note = views.events_gone_note(snap, snap.scans["old"])
    assert "older than the event log" in note and "What is known: running, 0%, 0 findings" in note


def test_a_scan_known_from_the_gateways_snapshot_is_not_said_to_be_older_than_a_log_that_dropped_nothing():
    store = EventStore()
    store.load_state({"epoch": "e1", "last_seq": 3, "metrics": {}, "notifications": [], "vulnerabilities": [],
                      "scans": [{"scan_id": "42", "name": None, "target": None, "status": "running",
                                 "progress": 0.0, "phase": None, "current_step": None, "error": None,
                                 "vulnerability_count": 0, "started_at": time.time() - 900,
                                 "updated_at": time.time() - 900, "finished_at": None, "duration": None,
                                 "history": []}]})
    store.apply("scan_progress", {"scan_id": "other", "progress": 1})
    snap = store.snapshot()
    note = views.events_gone_note(snap, snap.scans["42"])
    assert note.startswith("No events of this scan were logged here: its state came from the gateway's snapshot")


def test_inert_text_adds_nothing_invisible():
    for text in ("https://a.example/x:y", "at 10:58:24 see :smile: and :material/home:", "a@b.example",
                 "**x** `c` \u202e"):
        escaped = views.literal(text)
        assert not re.search("[\u2060\u200b-\u200f\u2066-\u2069]", escaped)
        assert html.unescape(re.sub(r"`+ ?(.*?) ?`+", r"\1", escaped)) == views.visible(text)


def test_finding_details_show_format_characters_instead_of_obeying_them():
    from realtime.finding_panel import finding_details

    store = EventStore()
    store.apply("vulnerability_found", {"scan_id": "s", "title": "photo\u202egpj.exe", "severity": "low",
                                        "description": "a\u2066b"})
    details = dict(finding_details(store.snapshot().vulnerabilities[0]))
    assert details["title"] == "photo<U+202E>gpj.exe" and details["description"] == "a<U+2066>b"


def test_a_notification_that_speaks_for_a_critical_finding_links_to_it():
    """The demo (and any producer) notifies about a critical finding in the same batch: that one
    toast stands for both, and it links to the finding (it had no link)."""
    store = EventStore()
    cursor = store.snapshot().logged
    store.apply("vulnerability_found", {"scan_id": "s1", "id": "f1", "title": "SQL injection", "severity": "critical"})
    store.apply("notification", {"type": "warning", "title": "Critical finding", "scan_id": "s1",
                                 "message": "SQL injection on https://shop.example.com"})
    [toast] = views.plan_toasts(views.new_records(store.snapshot(), cursor))
    assert toast.text.startswith("Critical finding&#58; SQL injection")
    assert toast.text.endswith(" · [details](finding?id=f1)")

"""Issue 18: chart time axes are in the viewer's time zone, named on the axis (not the server's)."""
from datetime import datetime
from zoneinfo import ZoneInfo

from realtime import views
from realtime.store import EventStore

LA = ZoneInfo("America/Los_Angeles")
AT = 1_795_000_000.0  # 2026-11-18 11:06:40 UTC, 03:06:40 in Los Angeles


def la_clock(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, LA).strftime("%Y-%m-%dT%H:%M:%S")


def test_every_time_axis_is_the_viewers_clock_with_the_zone_named():
    store = EventStore()
    store.apply("scan_progress", {"scan_id": "s", "progress": 10, "phase": "recon"}, at=AT)
    store.apply("scan_progress", {"scan_id": "s", "progress": 60, "phase": "vulnerability_testing"}, at=AT + 90)
    store.apply("vulnerability_found", {"scan_id": "s", "title": "x", "severity": "high"}, at=AT)
    snap = store.snapshot()
    scan = snap.scans["s"]
    progress = views.progress_figure(scan, LA)
    phases = views.gantt_figure(scan, AT + 100, LA)
    over_time = views.findings_over_time_figure(snap, LA)
    for fig in (progress, phases, over_time):
        assert fig["layout"]["xaxis"]["title"]["text"] == "time (America/Los_Angeles)"
    assert [x[:19] for x in progress["data"][0]["x"]] == [la_clock(AT), la_clock(AT + 90)]
    assert phases["data"][0]["base"][0][:19] == la_clock(AT)
    assert phases["data"][0]["customdata"][0][0] == "03:06:40 PST"  # the hover too
    assert over_time["data"][0]["x"][0][:13] == la_clock(AT)[:13]
    assert progress["layout"]["xaxis"]["range"][0][:10] == "2026-11-18"
    utc = views.progress_figure(scan, views.times.UTC)
    assert utc["data"][0]["x"][0].startswith("2026-11-18T11:06:40")
    assert utc["layout"]["xaxis"]["title"]["text"] == "time (UTC)"


def test_one_bucket_of_findings_is_a_bar_not_the_whole_chart():
    store = EventStore()
    store.apply("vulnerability_found", {"scan_id": "s", "title": "x", "severity": "high"}, at=AT)
    fig = views.findings_over_time_figure(store.snapshot(), LA)
    first, last = (datetime.fromisoformat(t).timestamp() for t in fig["layout"]["xaxis"]["range"])
    assert last - first >= 6 * fig["data"][0]["width"] / 1000 / 0.9  # six buckets wide, the bar one of them

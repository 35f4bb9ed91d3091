"""A scan replayed from a tool's file keeps one clock: the Scan detail page shows the tool's own
start and the tool's duration, and its progress points lie between its start and its end (issue
17 review: nmap's 2020 start against "now" as the end showed "59404 h")."""
import time

import pytest

from tests.integration.test_pages import open_page, rt, texts  # noqa: F401 - rt is a fixture
from tests.integration.test_real_scanners import SAMPLES, dry_run

# (file, adapter, scan id, Duration shown, tool's start or None when the file gives no end time)
FILES = [
    ("real/nmap/defectdojo-nmap_script_vulners.xml", "nmap", "fx", "12 s", 1581930445),
    ("handwritten/nuclei-final-stats-without-percent.log", "nuclei", "fx", "9 s", 1795694400),
    ("handwritten/nuclei-killed-at-9.log", "nuclei", "fx", "10 s", 1795694400),
    ("handwritten/sarif-codeql-two-runs.sarif", "sarif", "fx-1", "0 s", None),  # start time only
    ("handwritten/sarif-codeql-two-runs.sarif", "sarif", "fx-2", "0 s", None),  # no times
]


@pytest.mark.parametrize(("name", "tool", "scan_id", "shown", "start"), FILES)
def test_a_scan_from_a_file_keeps_one_clock(rt, name, tool, scan_id, shown, start):  # noqa: F811
    before = time.time()
    done, events = dry_run(tool, SAMPLES / name)
    assert done.returncode == 0, done.stderr
    for event in events:
        rt.store.apply(event["event"], event["data"])
    scan = rt.store.snapshot().scans[scan_id]
    assert scan.finished
    if start is None:  # the receiver's clock throughout
        assert before <= scan.started_at <= scan.finished_at <= time.time()
    else:
        assert scan.started_at == start and start <= scan.finished_at <= start + 15
    assert all(scan.started_at <= p.at <= scan.finished_at for p in scan.history), scan.history
    at = open_page("pages/scan.py", id=scan_id)
    assert {m.label: m.value for m in at.metric}["Duration"] == shown
    if start is not None:
        assert f"started {time.strftime('%Y-%m-%d', time.localtime(start))}" in texts(at)


def test_a_reported_duration_wins_over_the_span_of_two_clocks(rt):  # noqa: F811
    """A client that starts a scan on its tool's clock and ends it on the receiver's: the
    duration it reports is the truth, not "now" minus a start long ago."""
    rt.store.apply("scan_started", {"scan_id": "mix", "timestamp": "2020-02-17T09:07:25Z"})
    rt.store.apply("scan_completed", {"scan_id": "mix", "duration": 12.18})
    at = open_page("pages/scan.py", id="mix")
    assert {m.label: m.value for m in at.metric}["Duration"] == "12 s"
    assert rt.store.snapshot().scans["mix"].duration == 12.18

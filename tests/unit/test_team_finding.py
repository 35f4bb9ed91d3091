"""Issue 18, part B without processes: a re-sent finding's last sighting (bounded with the
findings held), the links between pages, the finding lookup and the target filter."""
from realtime import views
from realtime.options import StoreOptions
from realtime.store import EventStore


def finding(fid, at, scan_id="s1"):
    return {"scan_id": scan_id, "id": fid, "title": fid, "severity": "low", "found_at": at}


def test_a_resent_finding_is_last_seen_then_forgotten_with_it():
    store = EventStore(StoreOptions(max_findings=2))
    store.apply("vulnerability_found", finding("a", 1_700_000_000))
    store.apply("vulnerability_found", finding("a", 1_700_000_600))  # the same finding, received again
    snap = store.snapshot()
    assert len(snap.vulnerabilities) == 1 and snap.vulnerabilities[0].found_at == 1_700_000_000  # first seen
    assert dict(snap.vulnerabilities.last_seen) == {"a": 1_700_000_600}
    store.apply("vulnerability_found", finding("b", 1_700_000_700))
    store.apply("vulnerability_found", finding("c", 1_700_000_800))  # "a" is dropped as the oldest
    assert dict(store.snapshot().vulnerabilities.last_seen) == {}  # bounded by the findings held
    assert views.find_finding(store.snapshot(), "a") is None and views.find_finding(store.snapshot(), "c").id == "c"


def test_links_quote_what_they_carry():
    assert views.finding_url("f 1&x=2/#") == "finding?id=f%201%26x%3D2%2F%23"
    assert views.target_url("https://a.example/?q=1") == "target?name=https%3A%2F%2Fa.example%2F%3Fq%3D1"
    assert views.scan_url("s-1_2") == "scan?id=s-1_2"


def test_target_filter_keeps_the_findings_of_that_targets_scans():
    store = EventStore()
    store.apply("scan_started", {"scan_id": "s1", "target": "https://a.example"})
    store.apply("scan_started", {"scan_id": "s2", "target": "https://b.example"})
    store.apply("vulnerability_found", finding("a1", 1_700_000_000, "s1"))
    store.apply("vulnerability_found", finding("b1", 1_700_000_000, "s2"))
    snap = store.snapshot()
    assert [v.id for v in views.matching_findings(snap, (), "", "", "https://b.example")] == ["b1"]
    assert views.targets(snap) == ("https://a.example", "https://b.example")
    assert views.scans_frame(snap, 0, 60, (), "https://a.example")["scan_id"].tolist() == ["s1"]

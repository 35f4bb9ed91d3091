import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from realtime import protocol
from realtime.options import StoreOptions
from realtime.store import ConnectionState, EventStore


def apply_all(store, events):
    for event, payload in events:
        store.apply(event, payload)
    return store.snapshot()


def test_scan_lifecycle():
    store = EventStore()
    snap = apply_all(store, [
        ("scan_started", {"scan_id": 1, "scan_name": "Shop", "target": "https://shop.example"}),
        ("scan_progress", {"scan_id": 1, "progress": 30, "phase": "active_recon", "current_step": "crawl"}),
        ("vulnerability_found", {"scan_id": 1, "title": "XSS", "severity": "critical", "cvss_score": 9.1}),
        ("scan_completed", {"scan_id": 1, "total_vulnerabilities": 1}),
    ])
    scan = snap.scans["1"]
    assert (scan.name, scan.target, scan.status, scan.progress, scan.phase) == (
        "Shop", "https://shop.example", "completed", 100.0, "active_recon")
    assert scan.vulnerability_count == 1 and scan.duration is not None
    assert [p.progress for p in scan.history] == [30.0, 100.0]
    assert snap.vulnerabilities[0].title == "XSS" and snap.vulnerabilities[0].cvss_score == 9.1
    assert snap.metrics["critical_count"] == 1 and snap.metrics["completed_scans"] == 1


def test_progress_never_moves_backwards_and_terminal_states_are_sticky():
    store = EventStore()
    apply_all(store, [("scan_progress", {"scan_id": 1, "progress": 60, "phase": "exploitation"}),
                      ("scan_progress", {"scan_id": 1, "progress": 40, "phase": "active_recon"})])
    assert store.snapshot().scans["1"].phase == "exploitation"
    snap = apply_all(store, [("scan_failed", {"scan_id": 1, "error": "target down"}),
                             ("scan_progress", {"scan_id": 1, "progress": 90}),
                             ("scan_started", {"scan_id": 1}),
                             ("scan_completed", {"scan_id": 1})])
    scan = snap.scans["1"]
    assert (scan.status, scan.progress, scan.error) == ("failed", 60.0, "target down")


def test_findings_deduplicate_by_id():
    store = EventStore()
    finding = {"scan_id": 1, "title": "SQLi", "severity": "HIGH", "url": "/q"}
    snap = apply_all(store, [("vulnerability_found", finding)] * 3 + [
        ("vulnerability_found", {**finding, "id": "x1"}), ("vulnerability_found", {**finding, "id": "x1"})])
    assert len(snap.vulnerabilities) == 2
    assert snap.scans["1"].vulnerability_count == 2 and snap.metrics["total_vulnerabilities"] == 2


def test_reported_counts_show_when_findings_were_not_sent():
    snap = apply_all(EventStore(), [("scan_progress", {"scan_id": 1, "progress": 10, "vulnerabilities_found": 4})])
    assert snap.scans["1"].vulnerability_count == 4


def test_scan_counts_are_ours_and_other_metrics_the_servers():
    store = EventStore()
    snap = apply_all(store, [("scan_started", {"scan_id": 1}), ("scan_started", {"scan_id": 2}),
                             ("scan_completed", {"scan_id": 2})])
    assert dict(snap.metrics) == {"total_scans": 2, "active_scans": 1, "total_vulnerabilities": 0,
                                  "critical_count": 0, "completed_scans": 1}
    snap = apply_all(store, [("metrics_update", {"activeScans": 7, "total_scans": 3, "vulnerabilitiesFound": 9})])
    # The cards count the scans the lists show; findings may lie beyond what we hold.
    assert snap.metrics["active_scans"] == 1 and snap.metrics["total_scans"] == 2
    assert snap.metrics["total_vulnerabilities"] == 9


def test_notifications_read_flags():
    store = EventStore()
    snap = apply_all(store, [("notification", {"id": "a", "message": "one", "type": "error"}),
                             ("notification", {"id": "b", "message": "two"}),
                             ("notification", {"id": "a", "message": "one again"})])
    assert [n.id for n in snap.notifications] == ["b", "a"] and snap.unread == 2
    assert store.mark_read(["a"]) == 1
    snap = store.snapshot()
    assert {n.id: n.read for n in snap.notifications} == {"a": True, "b": False} and snap.unread == 1
    assert store.mark_read() == 1 and store.snapshot().unread == 0


def test_rejected_and_unknown_events():
    store = EventStore()
    assert store.apply("scan_progress", {"scan_id": 1, "progress": 150}) is None
    assert store.apply("scan_progress", "x" * 2_000_000) is None
    assert store.apply("custom_thing", {"a": 1}) is None
    snap = store.snapshot()
    assert not snap.scans
    assert [r.reason for r in snap.rejected] == [
        "payload must be a JSON object, got str", "progress: Input should be less than or equal to 100"]
    assert len(snap.rejected[0].payload) < 1100
    assert snap.events[0].event == "custom_thing" and snap.events[0].data == '{"a": 1}'


def test_snapshot_is_cached_by_version_and_immutable():
    store = EventStore()
    store.apply("scan_started", {"scan_id": 1})
    a = store.snapshot()
    assert store.snapshot() is a
    store.apply("scan_progress", {"scan_id": 1, "progress": 50})
    b = store.snapshot()
    assert b.version > a.version and a.scans["1"].progress == 0 and b.scans["1"].progress == 50
    store.set_connection(ConnectionState(connected=True, url="u"), log="connected")
    assert store.snapshot().connection.connected and store.snapshot().events[0].data == "connected"


def test_history_is_downsampled_but_keeps_its_ends():
    store = EventStore(StoreOptions(max_history=50))
    for i in range(1001):
        store.apply("scan_progress", {"scan_id": 1, "progress": i / 10}, at=float(i))
    history = store.snapshot().scans["1"].history
    assert len(history) <= 50
    assert history[0].progress == 0 and history[-1].progress == 100
    assert list(history) == sorted(history, key=lambda p: p.at)


# ---- properties over random event sequences ---------------------------------------------

scan_ids = st.integers(0, 5)
events = st.one_of(
    st.tuples(st.just("scan_started"), st.fixed_dictionaries(
        {"scan_id": scan_ids}, optional={"status": st.sampled_from(["queued", "running"])})),
    st.tuples(st.just("scan_progress"), st.fixed_dictionaries(
        {"scan_id": scan_ids, "progress": st.one_of(st.floats(-50, 200), st.integers(-5, 105))},
        optional={"phase": st.sampled_from(["passive_recon", "exploitation"])})),
    st.tuples(st.just("scan_completed"), st.fixed_dictionaries({"scan_id": scan_ids})),
    st.tuples(st.just("scan_failed"), st.fixed_dictionaries({"scan_id": scan_ids, "error": st.text(max_size=5)})),
    st.tuples(st.just("vulnerability_found"), st.fixed_dictionaries(
        {"scan_id": scan_ids, "title": st.sampled_from("abcdefgh"),
         "severity": st.sampled_from(["critical", "High", "medium", "low", "info", "bogus"])})),
    st.tuples(st.just("notification"), st.fixed_dictionaries({"message": st.text(max_size=3)},
                                                             optional={"id": st.integers(0, 9)})),
    st.tuples(st.sampled_from(["scan_progress", "nope"]), st.one_of(st.none(), st.integers(), st.text())),
)

SMALL = StoreOptions(max_events=20, max_notifications=4, max_findings=6, max_history=5, max_rejected=3)


@settings(max_examples=300, deadline=None)
@given(st.lists(events, max_size=80))
def test_invariants_hold_for_any_sequence(sequence):
    store = EventStore(SMALL)
    terminal = {}
    for event, payload in sequence:
        store.apply(event, payload)
        snap = store.snapshot()
        for sid, status in terminal.items():
            assert snap.scans[sid].status == status  # terminal states are sticky
        for scan in snap.scans.values():
            assert 0 <= scan.progress <= 100
            assert len(scan.history) <= SMALL.max_history
            if scan.finished:
                terminal.setdefault(scan.scan_id, scan.status)
        assert len(snap.events) <= SMALL.max_events and len(snap.rejected) <= SMALL.max_rejected
        assert len(snap.notifications) <= SMALL.max_notifications
        assert len(snap.vulnerabilities) <= SMALL.max_findings
        held = {}
        for v in snap.vulnerabilities:
            held[v.scan_id] = held.get(v.scan_id, 0) + 1
        for sid, n in held.items():
            assert snap.scans[sid].vulnerability_count >= n
        assert snap.unread == sum(not n.read for n in snap.notifications)


@settings(max_examples=200, deadline=None)
@given(st.lists(events, max_size=60), st.randoms())
def test_counts_match_findings_held_in_any_order(sequence, rnd):
    rnd.shuffle(sequence)
    snap = apply_all(EventStore(), sequence)  # default bounds: nothing evicted
    held = {}
    for v in snap.vulnerabilities:
        held[v.scan_id] = held.get(v.scan_id, 0) + 1
    assert {s: scan.vulnerability_count for s, scan in snap.scans.items() if scan.vulnerability_count} == held
    assert snap.metrics["total_vulnerabilities"] == len(snap.vulnerabilities)
    assert snap.metrics["critical_count"] == sum(v.severity == "critical" for v in snap.vulnerabilities)
    assert snap.metrics["active_scans"] == sum(s.status in protocol.ACTIVE_STATUSES for s in snap.scans.values())
    assert len({v.id for v in snap.vulnerabilities}) == len(snap.vulnerabilities)


def test_snapshots_are_safe_to_iterate_while_events_arrive():
    store = EventStore(StoreOptions(max_findings=500, max_events=300))
    stop = threading.Event()
    errors = []

    def writer():
        i = 0
        while not stop.is_set():
            store.apply("vulnerability_found", {"scan_id": i % 7, "title": f"t{i}", "severity": "low"})
            store.apply("scan_progress", {"scan_id": i % 7, "progress": i % 101})
            i += 1

    t = threading.Thread(target=writer)
    t.start()
    try:
        for _ in range(300):
            snap = store.snapshot()
            try:
                n = sum(1 for _ in snap.vulnerabilities) + sum(len(s.history) for s in snap.scans.values())
                n += sum(1 for _ in snap.events)
                assert n >= 0 and len(snap.vulnerabilities) <= 500
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)
    finally:
        stop.set()
        t.join()
    assert not errors
    assert store.snapshot().version > 0


def test_each_seq_is_applied_once_so_replays_change_nothing():
    store = EventStore()
    events = [("scan_started", {"scan_id": 1, "seq": 1}),
              ("vulnerability_found", {"scan_id": 1, "title": "t", "severity": "low", "seq": 2}),
              ("notification", {"message": "m", "seq": 3}),
              ("scan_progress", {"scan_id": 1, "progress": 40, "seq": 4})]
    apply_all(store, events)
    before = store.snapshot()
    apply_all(store, events + events)  # a replay overlap, twice
    after = store.snapshot()
    assert (after.scans, after.vulnerabilities, after.notifications, dict(after.metrics)) == (
        before.scans, before.vulnerabilities, before.notifications, dict(before.metrics))
    assert (after.last_seq, after.seq_skipped, len(after.events)) == (4, 8, len(before.events))


def test_a_new_epoch_starts_the_seq_afresh():
    store = EventStore()
    store.apply("scan_progress", {"scan_id": 1, "progress": 5, "seq": 50})
    store.set_epoch("e2")
    assert store.stream == ("e2", None)
    assert store.apply("scan_progress", {"scan_id": 1, "progress": 6, "seq": 1}) is not None


def test_load_state_catches_up_from_a_gateway_snapshot():
    gateway = EventStore()
    apply_all(gateway, [("scan_started", {"scan_id": 1, "scan_name": "A", "seq": 1}),
                        ("scan_progress", {"scan_id": 1, "progress": 60, "phase": "exploitation", "seq": 2}),
                        ("vulnerability_found", {"scan_id": 1, "title": "x", "severity": "critical", "seq": 3}),
                        ("notification", {"id": "n1", "message": "hi", "seq": 4}),
                        ("scan_completed", {"scan_id": 2, "seq": 5})])
    import dataclasses
    snap = gateway.snapshot()
    doc = {"epoch": "e1", "last_seq": 5, "metrics": gateway.derived_metrics(),
           "scans": [dataclasses.asdict(s) for s in snap.scans.values()],
           "vulnerabilities": [dataclasses.asdict(v) for v in snap.vulnerabilities],
           "vulnerabilities_total": 3, "notifications": [dataclasses.asdict(n) for n in snap.notifications]}
    dashboard = EventStore()
    dashboard.apply("notification", {"id": "n1", "message": "hi"})
    dashboard.mark_read(["n1"])
    loaded = dashboard.load_state(doc)
    assert loaded == {"scans": 2, "findings": 1, "findings_not_loaded": 2, "notifications_not_loaded": 0,
                      "unreadable": 0}
    mine = dashboard.snapshot()
    assert {k: (s.status, s.progress, s.phase) for k, s in mine.scans.items()} == {
        "1": ("running", 60.0, "exploitation"), "2": ("completed", 100.0, None)}
    assert [v.title for v in mine.vulnerabilities] == ["x"] and mine.metrics["critical_count"] == 1
    assert [(n.id, n.read) for n in mine.notifications] == [("n1", True)]
    assert dashboard.stream == ("e1", 5)
    assert dashboard.apply("scan_progress", {"scan_id": 1, "progress": 70, "seq": 5}) is None  # in the snapshot
    assert dashboard.apply("scan_progress", {"scan_id": 1, "progress": 70, "seq": 6}) is not None
    dashboard.apply("vulnerability_found", {"scan_id": 1, "title": "y", "severity": "low", "seq": 7})
    assert dashboard.snapshot().scans["1"].vulnerability_count == 2  # the loaded one and the live one


def test_findings_log_keeps_order_counts_and_snapshots_across_blocks_and_eviction():
    import random

    from realtime.findings import BLOCK

    cap = BLOCK * 2 + 100
    store = EventStore(StoreOptions(max_findings=cap))
    rng = random.Random(3)
    expected: list = []  # newest first
    snaps = []
    for i in range(BLOCK * 5 + 37):
        severity = rng.choice(("critical", "high", "low"))
        store.apply("vulnerability_found", {"scan_id": 1, "id": f"f{i}", "title": "t", "severity": severity},
                    at=1000.0 + i)
        expected.insert(0, (f"f{i}", severity))
        del expected[cap:]
        if i % 997 == 0:
            snaps.append((store.snapshot(), list(expected)))
    snap = store.snapshot()
    assert [(v.id, v.severity) for v in snap.vulnerabilities] == expected
    assert snap.vulnerabilities[0].id == expected[0][0] and snap.vulnerabilities[-1].id == expected[-1][0]
    assert [v.id for v in snap.vulnerabilities[5:9]] == [e[0] for e in expected[5:9]]
    assert dict(snap.severity_counts) == {s: sum(e[1] == s for e in expected)
                                          for s in ("critical", "high", "medium", "low", "info")}
    assert sum(snap.findings_histogram.values()) == cap
    for old, then in snaps:  # a snapshot never changes after it was taken
        assert [v.id for v in old.vulnerabilities] == [e[0] for e in then]
    store.apply("vulnerability_found", {"scan_id": 1, "id": "f3", "title": "t", "severity": "low"})
    assert store.snapshot().vulnerabilities[0].id == "f3"  # evicted long ago: new again


def test_readers_share_a_recent_snapshot_but_see_local_actions_at_once():
    store = EventStore()
    store.apply("notification", {"id": "n1", "message": "hello"})
    first = store.snapshot(max_age=60)
    store.apply("scan_progress", {"scan_id": 1, "progress": 5})
    assert store.snapshot(max_age=60) is first  # within the window: shared, though events came
    assert store.snapshot().scans["1"].progress == 5  # without max_age: the newest
    shared = store.snapshot(max_age=60)
    store.mark_read(["n1"])
    assert store.snapshot(max_age=60).unread == 0 and shared.unread == 1  # a click shows at once


def test_finding_cards_never_show_fewer_than_the_panels_hold():
    """A gateway restarted without state reports fewer findings than the dashboard still shows."""
    store = EventStore()
    for i in range(5):
        store.apply("vulnerability_found", {"scan_id": "s", "title": f"t{i}", "severity": "critical"})
    snap = apply_all(store, [("metrics_update", {"total_vulnerabilities": 1, "critical_count": 1})])
    assert snap.metrics["total_vulnerabilities"] == 5 and snap.metrics["critical_count"] == 5
    snap = apply_all(store, [("metrics_update", {"total_vulnerabilities": 900, "critical_count": 40})])
    assert snap.metrics["total_vulnerabilities"] == 900 and snap.metrics["critical_count"] == 40

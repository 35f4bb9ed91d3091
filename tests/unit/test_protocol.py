import pytest

from realtime import protocol


def test_aliases_are_normalised_to_canonical_names():
    ev = protocol.parse("scan_started", {"scan_id": 7, "target_name": "Shop", "target_url": "https://x"})
    assert (ev.scan_id, ev.scan_name, ev.target, ev.status) == ("7", "Shop", "https://x", "running")
    ev = protocol.parse("scan_progress", {"scan_id": "a-1", "progress": 40, "current_phase": "active_recon"})
    assert ev.phase == "active_recon" and ev.progress == 40.0
    for key in ("title", "vulnerability_name", "name"):
        ev = protocol.parse("vulnerability_found",
                            {"scan_id": 1, key: "XSS", "severity": "High", "affected_url": "/a"})
        assert (ev.title, ev.severity, ev.url) == ("XSS", "high", "/a")


def test_uuid_scan_ids_and_timestamps():
    ev = protocol.parse("scan_completed", {"scan_id": "0b8e9a4c-5d1f-4a43-9c5e-1f2a3b4c5d6e",
                                           "timestamp": "2026-11-26T10:00:00Z", "seq": 3})
    assert ev.scan_id == "0b8e9a4c-5d1f-4a43-9c5e-1f2a3b4c5d6e"
    assert ev.seq == 3 and ev.epoch(0) == 1795687200.0


def test_metrics_camel_case_aliases():
    ev = protocol.parse("metrics_update", {"activeScans": 2, "vulnerabilitiesFound": 9,
                                           "criticalVulns": 1, "completedScans": 4,
                                           "targetsScanned": 5, "total_scans": 6})
    assert ev.values() == {"active_scans": 2, "total_vulnerabilities": 9, "critical_count": 1,
                           "completed_scans": 4, "targets_scanned": 5, "total_scans": 6}


@pytest.mark.parametrize("given,expected", [("SUCCESS", "success"), ("warning", "warning"),
                                            ("fancy", "info"), (None, "info"), (3, "info")])
def test_notification_type_falls_back_to_info(given, expected):
    payload = {"message": "m"} if given is None else {"message": "m", "type": given}
    assert protocol.parse("notification", payload).type == expected


def test_finding_id_is_stable_and_given_id_wins():
    a = protocol.parse("vulnerability_found", {"scan_id": 1, "title": "t", "severity": "low", "url": "/u"})
    b = protocol.parse("vulnerability_found", {"scan_id": "1", "name": "t", "severity": "LOW", "url": "/u"})
    c = protocol.parse("vulnerability_found", {"scan_id": 1, "title": "t", "severity": "low", "url": "/v"})
    assert a.finding_id() == b.finding_id() != c.finding_id()
    d = protocol.parse("vulnerability_found", {"scan_id": 1, "title": "t", "severity": "low", "id": 9})
    assert d.finding_id() == "9"


@pytest.mark.parametrize("event,payload,reason", [
    ("scan_progress", {"scan_id": 1}, "progress: Field required"),
    ("scan_progress", {"scan_id": 1, "progress": 150}, "progress: Input should be less than or equal to 100"),
    ("scan_progress", {"scan_id": 1, "progress": "40"}, "progress: Input should be a valid number"),
    ("scan_progress", {"scan_id": 1, "progress": float("nan")}, "progress"),
    ("scan_progress", [1, 2], "payload must be a JSON object, got list"),
    ("scan_started", "hello", "payload must be a JSON object, got str"),
    ("scan_started", None, "payload must be a JSON object, got NoneType"),
    ("scan_started", {"scan_id": True}, "scan_id"),
    ("scan_started", {"scan_id": "../etc"}, "scan_id: must be 1-64 letters, digits"),
    ("vulnerability_found", {"scan_id": 1, "title": "x" * 1_000_000, "severity": "low"},
     "title: String should have at most 500 characters"),
    ("vulnerability_found", {"scan_id": 1, "title": "x", "severity": "catastrophic"}, "severity"),
    ("vulnerability_found", {"scan_id": 1, "title": "x", "severity": "low", "cvss_score": 11}, "cvss_score"),
    ("notification", {"title": "no message"}, "message: Field required"),
    ("metrics_update", {"active_scans": -1}, "active_scans"),
    ("no_such_event", {}, "unknown event no_such_event"),
])
def test_invalid_payloads_are_rejected_with_a_reason(event, payload, reason):
    with pytest.raises(protocol.InvalidEvent) as info:
        protocol.parse(event, payload)
    assert reason in info.value.reason


def test_requests_and_rooms():
    assert protocol.parse_request("join_room", {"room": "scan_42"}).room == "scan_42"
    assert protocol.parse_request("start_scan", {"target": "https://x"}).target == "https://x"
    for bad in ({"room": "all"}, {"room": "scan_a b"}, {"room": "user_" + "9" * 65}, {}):
        with pytest.raises(protocol.InvalidEvent):
            protocol.parse_request("join_room", bad)
    with pytest.raises(protocol.InvalidEvent):
        protocol.parse_request("start_scan", {"target": ""})
    assert protocol.parse_request("join_room", {"room": "user_7"}).room == "user_7"
    for bad in ({"room": "scan_"}, {"room": 7}):
        with pytest.raises(protocol.InvalidEvent):
            protocol.parse_request("join_room", bad)


def test_preview_bounds_untrusted_payloads():
    assert len(protocol.preview("x" * 1_000_000)) < 1100
    assert protocol.preview({"a": 1}) == '{"a": 1}'

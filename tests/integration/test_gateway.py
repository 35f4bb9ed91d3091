"""The gateway as a real process, driven over real sockets and HTTP."""
import time
from datetime import datetime

from tests.conftest import wait_for


def progress(scan_id, value):
    return {"event": "scan_progress", "data": {"scan_id": scan_id, "progress": value}}


def test_healthz_and_state(gateway):
    health = gateway.get("/healthz")
    assert health["status"] == "ok" and health["mode"] == "local" and health["version"]
    assert health["events_emitted"] == 0 and health["uptime"] >= 0
    gateway.publish("scan_started", {"scan_id": 5, "target_name": "Shop", "target_url": "https://shop.example"})
    gateway.publish("vulnerability_found", {"scan_id": 5, "name": "XSS", "severity": "HIGH"})
    gateway.publish("notification", {"message": "private", "user_id": 7})
    state = wait_for(lambda: (s := gateway.get("/api/state"))["last_seq"] == 3 and s)
    assert state["scans"][0]["scan_id"] == "5" and state["scans"][0]["name"] == "Shop"
    assert state["vulnerabilities"][0]["title"] == "XSS" and state["vulnerabilities"][0]["severity"] == "high"
    assert state["metrics"]["total_scans"] == 1 and state["metrics"]["total_vulnerabilities"] == 1
    assert state["notifications"] == []  # private notifications are not served to anyone
    assert gateway.get("/healthz")["events_emitted"] >= 3


def test_http_publish_validation(gateway):
    status, body = gateway.post([progress(1, 10), progress(1, 150), {"data": {}}, "x"])
    assert status == 400 and body["error"] == "3 of 4 events are invalid; none were accepted"
    assert [d["index"] for d in body["details"]] == [1, 2, 3]
    assert "progress" in body["details"][0]["error"]
    assert gateway.get("/api/state")["scans"] == []  # a batch with a bad item accepts nothing

    assert gateway.post(b"not json") == (400, {"error": "body is not valid JSON", "details": [
        "Expecting value: line 1 column 1 (char 0)"]})
    assert gateway.post(b"{}", content_type="text/plain")[0] == 415
    assert gateway.post([])[0] == 400
    assert gateway.post(42)[0] == 400
    status, body = gateway.post({"event": "scan_progress", "data": {"scan_id": 1, "progress": 1,
                                                                    "pad": "x" * 1_100_000}})
    assert status == 413 and "larger than" in body["error"]
    # A body a few times the limit is read to its end before the answer, so the producer gets the
    # 413 and its reason, not a broken pipe from a connection closed while it was still sending.
    status, body = gateway.post(b"[" + b" " * 3_500_000 + b"]")
    assert status == 413 and "larger than" in body["error"]
    assert gateway.post([progress(1, 1)] * 1001)[0] == 413
    assert gateway.post({"event": "nope", "data": {}})[1]["details"][0]["error"] == "unknown event nope"

    status, body = gateway.post([progress(1, 10), progress(1, 20)])
    assert (status, body) == (202, {"accepted": 2})
    wait_for(lambda: gateway.get("/api/state")["scans"][0]["progress"] == 20)


def test_audiences_rooms_and_private_notifications(gateway, viewers):
    everyone = viewers(gateway.url)
    rooms_only = viewers(gateway.url, auth={"subscribe": "rooms"})
    user7 = viewers(gateway.url, auth={"subscribe": "rooms"})
    assert rooms_only.call("join_room", {"room": "scan_2"}) == {"ok": True}
    assert everyone.call("join_room", {"room": "scan_2"}) == {"ok": True}
    assert user7.call("join_room", {"room": "user_7"}) == {"ok": True}
    gateway.publish("scan_progress", {"scan_id": 1, "progress": 10})
    gateway.publish("scan_progress", {"scan_id": 2, "progress": 20})
    gateway.publish("notification", {"message": "for 7 only", "user_id": 7})
    gateway.publish("notification", {"message": "about scan 2", "scan_id": 2})
    gateway.publish("scan_completed", {"scan_id": 2})
    wait_for(lambda: everyone.of("scan_completed") and rooms_only.of("scan_completed"))
    # each client gets each event once, even when it is in both `all` and `scan_2`
    assert [d["scan_id"] for d in everyone.of("scan_progress")] == ["1", "2"]
    assert [d["message"] for d in everyone.of("notification")] == ["about scan 2"]
    assert [d["scan_id"] for d in rooms_only.of("scan_progress")] == ["2"]
    assert [d["message"] for d in rooms_only.of("notification")] == ["about scan 2"]
    wait_for(lambda: user7.of("notification"))
    assert [d["message"] for d in user7.of("notification")] == ["for 7 only"]
    assert not user7.of("scan_progress")

    assert rooms_only.call("leave_room", {"room": "scan_2"}) == {"ok": True}
    gateway.publish("scan_progress", {"scan_id": 2, "progress": 30})
    wait_for(lambda: len(everyone.of("scan_progress")) == 3)
    assert len(rooms_only.of("scan_progress")) == 1


def test_acks_refuse_bad_requests(gateway, viewers):
    viewer = viewers(gateway.url)
    for bad in ({"room": "all"}, {"room": "scan_../x"}, "scan_1", None):
        answer = viewer.call("join_room", bad)
        assert answer["ok"] is False and answer["error"]
    assert viewer.call("start_scan", {"target": "https://x"}) == {
        "ok": False, "error": "no scan launcher configured"}
    assert viewer.call("start_scan", {"target": ""})["ok"] is False
    answer = viewer.call("scan_progress", {"scan_id": 1, "progress": 5})
    assert answer["ok"] is False and "POST /api/events" in answer["error"]
    assert viewer.call("whatever", {})["error"] == "unknown event whatever"
    assert gateway.get("/api/state")["scans"] == []


def test_seq_timestamps_and_metrics(gateway, viewers):
    viewer = viewers(gateway.url)
    for i in range(50):
        gateway.publish("scan_progress", {"scan_id": i % 3, "progress": i})
    wait_for(lambda: len(viewer.of("scan_progress")) == 50)
    seqs = [d["seq"] for e, d in viewer.events if isinstance(d, dict) and "seq" in d]
    assert seqs == sorted(set(seqs)) and len(seqs) >= 50
    stamps = [datetime.fromisoformat(d["timestamp"]) for d in viewer.of("scan_progress")]
    assert all(s.tzinfo is not None and abs(time.time() - s.timestamp()) < 60 for s in stamps)
    metrics = wait_for(lambda: viewer.of("metrics_update"))
    assert metrics[-1]["total_scans"] == 3 and metrics[-1]["active_scans"] == 3


def test_start_scan_in_demo_mode(gateway_factory, viewers):
    gw = gateway_factory("--demo", "--demo-scans", "0", "--seed", "3", "--speed", "20")
    viewer = viewers(gw.url)
    answer = viewer.call("start_scan", {"target": "https://mine.example", "scan_name": "Mine"})
    assert answer["ok"] is True
    started = wait_for(lambda: [d for d in viewer.of("scan_started") if d["scan_id"] == answer["scan_id"]])
    assert started[0]["scan_name"] == "Mine" and started[0]["target"] == "https://mine.example"
    wait_for(lambda: [d for d in viewer.of("scan_progress") if d["scan_id"] == answer["scan_id"]])


def test_demo_produces_every_event_type_within_60_s(gateway_factory, viewers):
    gw = gateway_factory("--demo", "--seed", "1", "--speed", "10")
    viewer = viewers(gw.url)
    wanted = {"scan_started", "scan_progress", "scan_completed", "scan_failed", "vulnerability_found",
              "metrics_update", "notification"}
    wait_for(lambda: wanted <= {e for e, _ in viewer.events}, timeout=60, interval=0.5)
    findings = viewer.of("vulnerability_found")
    assert all(f["cvss_score"] is not None and f["url"] and f["vulnerability_type"] for f in findings)
    assert all(f["fingerprint"].startswith("fp-") and f["times_seen"] >= 1 for f in findings)  # stamped (issue 19)
    assert {p["phase"] for p in viewer.of("scan_progress")} >= {"passive_recon", "active_recon"}

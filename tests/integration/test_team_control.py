"""Issue 18 part D against real gateway processes: abandoning and cancelling scans (rights, the
broadcast every dashboard sees, the demo launcher stopping), the capabilities a connecting client
learns, the reconnect schedule's cap and countdown, and troubleshooting on a healthy connection."""
import time

import pytest

from realtime import controls, protocol, troubleshoot
from realtime.auth import Authenticator
from realtime.options import ClientOptions
from realtime.reconnect import delay
from tests.conftest import GatewayProcess, free_port, wait_for

SECRET = "team-control-secret-" + "x" * 40
AUTH = Authenticator(SECRET)


def token(role, sub, scans=None, start_scans=False):
    return AUTH.mint(sub, role, scans, 3600, start_scans=start_scans)


@pytest.fixture(autouse=True)
def _secret_env(monkeypatch):
    monkeypatch.setenv("BUGHUNT_SECRET", SECRET)  # the gateway processes read it


def connected(make_client, url, auth_token, **options):
    client = make_client(**options)
    client.connect(url, auth={"token": auth_token})
    assert client.wait_connected(10)
    return client


def scan_of(client, scan_id):
    return client.store.snapshot().scans.get(scan_id)


def scan_events(client, scan_id):
    return [r.event for r in reversed(client.store.snapshot().events)
            if isinstance(r.data, dict) and r.data.get("scan_id") == scan_id]


def test_cancel_stops_a_launched_demo_scan_for_every_dashboard(gateway_factory, make_client):
    """Only what a launcher started can be cancelled, by its starter or an admin, never through a
    share link; the demo stops publishing and every dashboard sees who cancelled it."""
    # Seed 1: scan 1 does not fail on its own; speed 5: a step every 0.2–0.8 s.
    gateway = gateway_factory("--demo", "--demo-scans", "0", "--speed", "5", "--seed", "1")
    alice = connected(make_client, gateway.url, token("viewer", "alice", start_scans=True))
    bob = connected(make_client, gateway.url, token("viewer", "bob"))
    caps = alice.status.capabilities
    assert caps["launcher"] and caps["start_scans"] and caps["cancel"] and not caps["abandon"]
    assert caps["profiles"] == ["quick", "full"]
    assert not bob.status.capabilities["start_scans"] and not bob.status.capabilities["abandon"]
    assert bob.call("abandon_scan", {"scan_id": "x"})["error"].startswith("this token may not abandon")
    assert bob.call("abandon_scan", {"scan_id": "bad id!"})["error"].startswith("scan_id:")

    assert alice.call("start_scan", {"target": "shop.example.com", "options": {"profile": "slow"}}) == {
        "ok": False, "error": "profile must be one of quick, full"}
    started = alice.call("start_scan", {"target": "shop.example.com", "options": {"profile": "quick"}})
    scan_id = started["scan_id"]
    wait_for(lambda: scan_of(bob, scan_id) and scan_of(bob, scan_id).progress > 0)
    assert "quick" in scan_of(bob, scan_id).name

    assert bob.call("scan_actions", {"scan_id": scan_id})["cancel"].startswith("this token may not")
    assert bob.call("cancel_scan", {"scan_id": scan_id})["ok"] is False
    link = connected(make_client, gateway.url, token("viewer", "share-x", scans=[scan_id]))
    assert link.status.capabilities["cancel"] is False
    assert link.call("cancel_scan", {"scan_id": scan_id}) == {
        "ok": False, "error": "a read-only scan link cannot change scans"}
    assert alice.call("cancel_scan", {"scan_id": "nope"})["error"].startswith("scan nope is not running")

    assert alice.call("scan_actions", {"scan_id": scan_id})["cancel"] is None
    answer = alice.call("cancel_scan", {"scan_id": scan_id, "reason": "wrong target", "user": "alice@example.com"})
    assert answer == {"ok": True, "status": "cancelled"}
    for client in (alice, bob, link):
        scan = wait_for(lambda c=client: (s := scan_of(c, scan_id)) and s.status == "cancelled" and s)
        assert scan.error == "Cancelled by alice@example.com (via token alice): wrong target"
        assert scan.finished_at is not None
    state = gateway.get("/api/state", token=token("admin", "root"))
    assert {s["scan_id"]: s["status"] for s in state["scans"]}[scan_id] == "cancelled"
    events = wait_for(lambda: (ev := scan_events(bob, scan_id))[-2:] == ["scan_failed", "notification"] and ev)
    time.sleep(1.5)  # a scan step at speed 5 is 0.2–0.8 s: one would have been published by now
    assert scan_events(bob, scan_id) == events  # the launcher stopped it: nothing after its end
    assert alice.call("cancel_scan", {"scan_id": scan_id})["ok"] is False  # ended: nothing left to cancel


def test_abandon_a_silent_or_lost_scan_with_who_and_why(gateway_factory, make_client):
    gateway = gateway_factory("--abandon-after", "1", env={"BUGHUNT_VIEWERS_CONTROL_SCANS": "true"})
    producer = token("producer", "scanner")
    gateway.publish("scan_started", {"scan_id": "s1", "scan_name": "Nightly"}, token=producer)
    admin = connected(make_client, gateway.url, token("admin", "root"))
    viewer = connected(make_client, gateway.url, token("viewer", "carol"))
    assert admin.status.capabilities == {"launcher": False, "start_scans": False, "abandon": True,
                                         "cancel": False, "abandon_after": 1.0, "profiles": []}
    assert viewer.status.capabilities["abandon"]  # BUGHUNT_VIEWERS_CONTROL_SCANS

    alive = viewer.call("abandon_scan", {"scan_id": "s1"})
    assert alive["ok"] is False and alive["error"].startswith("scan s1 is alive")
    assert admin.call("cancel_scan", {"scan_id": "s1"}) == {"ok": False, "error": "no scan launcher configured"}
    link = connected(make_client, gateway.url, token("viewer", "share-s1", scans=["s1"]))
    assert link.call("abandon_scan", {"scan_id": "s1"})["error"] == "a read-only scan link cannot change scans"
    assert not link.status.capabilities["abandon"]

    wait_for(lambda: viewer.call("scan_actions", {"scan_id": "s1"})["abandon"] is None, timeout=5)
    answer = viewer.call("abandon_scan", {"scan_id": "s1", "reason": "scanner host died", "user": "Carol"})
    assert answer == {"ok": True, "status": "abandoned"}
    for client in (admin, viewer, link):
        scan = wait_for(lambda c=client: (s := scan_of(c, "s1")) and s.status == "abandoned" and s)
        assert scan.error == "Abandoned by Carol (via token carol): scanner host died" and scan.finished
    notes = wait_for(lambda: [n for n in admin.store.snapshot().notifications if n.scan_id == "s1"])
    assert notes[0].title == "Scan abandoned"  # it follows the scan's end, for toasts and alerts
    gateway.publish("scan_progress", {"scan_id": "s1", "progress": 50}, token=producer)  # a late event
    assert viewer.call("abandon_scan", {"scan_id": "s1"})["error"] == "scan s1 already ended (abandoned)"
    assert scan_of(admin, "s1").status == "abandoned"  # terminal: it does not come back to life

    # A scan the gateway's stream does not know (a dashboard lost contact with it) can be given up at once.
    assert admin.call("abandon_scan", {"scan_id": "ghost"}) == {"ok": True, "status": "abandoned"}
    assert wait_for(lambda: scan_of(viewer, "ghost")).error == "Abandoned by token root"


def test_reconnect_is_capped_counts_down_and_reports_reconnect_now(make_client):
    """A gateway stopped and started again on the same port: the client shows when it tries next,
    *Reconnect now* answers with the outcome, and it is back within the slow retry's cap."""
    assert max(delay(ClientOptions(), n) for n in range(1, 50)) == 10.0  # the default cap
    port = free_port()
    args = ("--port", str(port), "--metrics-interval", "0.2")
    gateway = GatewayProcess(*args)
    try:
        client = connected(make_client, gateway.url, token("admin", "root"), reconnect_delay=0.2,
                           reconnect_delay_max=0.4, reconnect_attempts=2, slow_retry=2.0)
        gateway.proc.kill()  # the gateway dies
        wait_for(lambda: client.status.attempts >= 2 and client.status.next_try, timeout=10)  # quick ones over
        status = client.status
        assert not status.connected and status.next_try is not None
        assert 1.0 < status.next_try - time.time() <= 2.0 + 0.1  # the slow retry, at its cap
        assert controls.retry_text(status, time.time()) in (
            "Disconnected — retrying (attempt 3) in 2 s", "Disconnected — retrying (attempt 3) in 1 s")
        tried = client.reconnect_now(wait=3)  # the gateway is still down: the answer says so at once
        assert not tried.connected and tried.attempts == status.attempts + 1 and tried.reason
        gateway = GatewayProcess(*args)
        down_since = time.monotonic()
        wait_for(lambda: client.status.connected, timeout=6)
        assert time.monotonic() - down_since <= 2.0 + 1.5  # noticed within the cap (plus a connect)
        # The restarted gateway has another stream: the client resynced from its state. The
        # troubleshooting checks see a healthy connection, whatever the resync logged.
        gateway.publish("scan_started", {"scan_id": "after"}, token=token("producer", "scanner"))
        wait_for(lambda: scan_of(client, "after"))
        snap = client.store.snapshot()
        assert any(r.event == "snapshot" for r in snap.events)
        checks = troubleshoot.run(snap, troubleshoot.probe(gateway.url), "all", time.time())
        assert troubleshoot.summary(checks) is None, [c for c in checks if c.state == troubleshoot.PROBLEM]
        assert all(c.heading in (troubleshoot.CONNECTING, troubleshoot.RECEIVING, troubleshoot.LEAVING)
                   for c in checks)  # passing checks sit under what they checked, not under a problem
    finally:
        gateway.stop()


def test_scan_statuses_keep_terminal_semantics():
    assert {"cancelled", "abandoned"} <= protocol.TERMINAL_STATUSES
    assert protocol.LOST_CONTACT not in protocol.TERMINAL_STATUSES

"""Tokens, authorization and limits at the gateway, over real sockets and HTTP."""
import time

import pytest
import socketio

from realtime.auth import Authenticator, AuthError
from tests.conftest import GatewayProcess, http, wait_for
from tests.viewer import Viewer

SECRET = "test-secret-" + "x" * 40
AUTH = Authenticator(SECRET)
ENV = {"BUGHUNT_SECRET": SECRET}


def token(role, sub="7", scans=None, ttl=3600):
    return AUTH.mint(sub, role, scans, ttl)


@pytest.fixture
def secured(gateway_factory):
    gateway = gateway_factory("--metrics-interval", "0.3", "--socket-rate", "50", "--socket-burst", "20")
    return gateway


@pytest.fixture(autouse=True)
def _secret_env(monkeypatch):
    monkeypatch.setenv("BUGHUNT_SECRET", SECRET)  # the gateway processes read it


def connect_refused_with(url, auth):
    viewer = Viewer.__new__(Viewer)
    try:
        Viewer.__init__(viewer, url, auth)
    except socketio.exceptions.ConnectionError:
        return viewer.refusal
    viewer.close()
    pytest.fail("connection was accepted")


def refused(url, auth):
    return connect_refused_with(url, auth)["message"]


def test_tokens_are_checked_on_sockets_and_http(secured):
    assert refused(secured.url, None) == "a token is required"
    forged = Authenticator("another-secret-" + "y" * 40).mint("7", "admin")
    assert refused(secured.url, {"token": forged}).startswith("invalid token")
    expired = token("viewer", ttl=-10)
    assert refused(secured.url, {"token": expired}) == "token expired"
    assert "viewer token" in refused(secured.url, {"token": token("producer")})

    event = {"event": "scan_started", "data": {"scan_id": 1}}
    assert secured.post(event) == (401, {"error": "a token is required"})
    assert secured.post(event, token=forged)[0] == 401
    assert secured.post(event, token=expired) == (401, {"error": "token expired"})
    assert secured.post(event, token=token("viewer")) == (
        403, {"error": "viewer tokens cannot publish; scanners need a producer token"})
    assert secured.post(event, token=token("producer")) == (202, {"accepted": 1})
    assert http("GET", secured.url + "/api/state")[0] == 401
    assert http("GET", secured.url + "/api/state", headers={"Authorization": f"Bearer {token('producer')}"})[0] == 403
    assert secured.get("/api/state", token=token("viewer"))["scans"][0]["scan_id"] == "1"


def test_viewers_cannot_publish_or_enter_other_users_rooms(secured, viewers):
    viewer = viewers(secured.url, {"token": token("viewer", sub="7")})
    answer = viewer.call("vulnerability_found", {"scan_id": 1, "title": "fake", "severity": "critical"})
    assert answer["ok"] is False and "POST /api/events" in answer["error"]
    assert viewer.call("join_room", {"room": "user_8"}) == {"ok": False, "error": "user_8 is another user's room"}
    assert viewer.call("join_room", {"room": "user_7"}) == {"ok": True}
    secured.publish("notification", {"message": "for 8", "user_id": 8}, token=token("producer"))
    secured.publish("notification", {"message": "for 7", "user_id": 7}, token=token("producer"))
    wait_for(lambda: viewer.of("notification"))
    time.sleep(0.3)
    assert [d["message"] for d in viewer.of("notification")] == ["for 7"]
    assert any("refused vulnerability_found from a socket" in line for line in secured.log)


def test_a_scoped_link_sees_only_its_scan(secured, viewers):
    scoped = viewers(secured.url, {"token": token("viewer", sub="guest", scans=["s1"])})
    everyone = viewers(secured.url, {"token": token("viewer")})
    producer = token("producer")
    for scan in ("s1", "s2"):
        secured.publish("scan_started", {"scan_id": scan}, token=producer)
        secured.publish("vulnerability_found", {"scan_id": scan, "title": "t", "severity": "high"}, token=producer)
    secured.publish("notification", {"message": "about s2", "scan_id": "s2"}, token=producer)
    secured.publish("scan_completed", {"scan_id": "s1"}, token=producer)
    wait_for(lambda: scoped.of("scan_completed") and len(everyone.of("scan_started")) == 2)
    time.sleep(0.3)
    assert {d["scan_id"] for e, d in scoped.events if isinstance(d, dict) and "scan_id" in d} == {"s1"}
    assert not scoped.of("metrics_update") and not scoped.of("notification")
    assert scoped.call("join_room", {"room": "scan_s2"})["ok"] is False
    assert scoped.call("start_scan", {"target": "https://x"})["error"] == "a read-only scan link cannot start scans"
    state = secured.get("/api/state", token=token("viewer", sub="guest", scans=["s1"]))
    assert [s["scan_id"] for s in state["scans"]] == ["s1"] and state["vulnerabilities_total"] == 1
    assert state["metrics"] == {}


def test_oversize_messages_and_rate_abuse_do_not_disturb_other_clients(secured, viewers):
    watcher = viewers(secured.url, {"token": token("viewer", sub="w")})
    abuser = viewers(secured.url, {"token": token("viewer", sub="a")})
    producer = token("producer")
    for i in range(50):
        secured.publish("scan_progress", {"scan_id": "r", "progress": i}, token=producer)
    answers = abuser.burst("join_room", {"room": "scan_x"}, 25)
    assert any(a == {"ok": False, "error": "rate limit: at most 50 messages/s"} for a in answers)
    try:
        for _ in range(40):
            abuser.call("join_room", {"room": "scan_x"})
    except Exception:  # noqa: BLE001 - the gateway hangs up on it
        pass
    wait_for(lambda: not abuser.connected)
    big = viewers(secured.url, {"token": token("viewer", sub="b")})
    try:
        big.call("join_room", {"room": "scan_" + "x" * 2_000_000})
    except Exception:  # noqa: BLE001 - over max_http_buffer_size: the gateway closes the socket
        pass
    wait_for(lambda: not big.connected)
    for i in range(50, 100):
        secured.publish("scan_progress", {"scan_id": "r", "progress": i}, token=producer)
    wait_for(lambda: len(watcher.of("scan_progress")) == 100)
    assert [d["progress"] for d in watcher.of("scan_progress")] == list(range(100))
    assert watcher.connected and secured.get("/healthz")["status"] == "ok"


def test_publish_rate_and_connection_limits(gateway_factory, viewers):
    gateway = gateway_factory("--publish-rate", "10", "--publish-burst", "20", "--max-connections-per-ip", "2")
    producer = token("producer")
    batch = [{"event": "scan_progress", "data": {"scan_id": 1, "progress": 1}}] * 15
    assert gateway.post(batch, token=producer)[0] == 202
    status, body = gateway.post(batch, token=producer)
    assert status == 429 and "rate limit" in body["error"]
    viewers(gateway.url, {"token": token("viewer")})
    viewers(gateway.url, {"token": token("viewer")})
    assert "too many connections" in refused(gateway.url, {"token": token("viewer")})


def test_open_mode_is_for_loopback_only():
    auth = Authenticator(None)
    assert auth.identify(None, "127.0.0.1").role == "admin"
    with pytest.raises(AuthError) as info:
        auth.identify(None, "10.1.2.3")
    assert info.value.status == 403 and "loopback" in info.value.reason
    with pytest.raises(ValueError):
        Authenticator("short")


def test_the_token_command(tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT

    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    env = {"PATH": "/usr/bin:/bin", "BUGHUNT_SECRET_FILE": str(secret_file)}
    done = subprocess.run([sys.executable, "-m", "realtime.gateway", "token", "--role", "viewer", "--sub", "7",
                           "--scan", "s1", "--ttl", "1h"], capture_output=True, text=True, cwd=ROOT, env=env)
    identity = AUTH.identify(done.stdout.strip(), "10.0.0.1")
    assert (identity.sub, identity.role, identity.scans) == ("7", "viewer", ("s1",))
    assert GatewayProcess  # the gateway reads the same file: see test_tokens_are_checked_on_sockets_and_http


def test_forged_connect_and_disconnect_events_change_nothing(secured, viewers):
    gateway = secured
    viewer = viewers(gateway.url, {"token": token("viewer")})
    viewers(gateway.url, {"token": token("viewer")})
    wait_for(lambda: gateway.get("/healthz", token("viewer"))["clients"] == 2)
    viewer._run(viewer.sio.emit("disconnect", {}))
    viewer._run(viewer.sio.emit("connect", ({"asgi.scope": {"client": ["127.0.0.1", 1]}}, {"token": "x"})))
    assert viewer.call("join_room", {"room": "scan_1"}) == {"ok": True}  # still a known, connected socket
    assert gateway.get("/healthz", token("viewer"))["clients"] == 2
    wait_for(lambda: any("forged disconnect" in line for line in gateway.log))  # (read from the process)

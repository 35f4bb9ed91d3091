"""Issue 16's attacks on the gateway, each reproduced against a real gateway process and refused.

Points 2, 5, 6 and 8 (browsers) are in tests/e2e/test_security_browser.py."""
import json
import os
import subprocess
import sys
import urllib.request

import pytest
import socketio

from bench.attack import SilentSocket
from bench.attack import attack as resume_flood
from realtime.auth import Authenticator
from tests.conftest import ROOT, http
from tests.viewer import Viewer

SECRET = "round-two-secret-" + "x" * 40
AUTH = Authenticator(SECRET)


def token(role, sub="7", scans=None, ttl=3600, **claims):
    return AUTH.mint(sub, role, scans, ttl, **claims)


@pytest.fixture(autouse=True)
def _secret_env(monkeypatch):
    monkeypatch.setenv("BUGHUNT_SECRET", SECRET)


def no_tracebacks(gateway):
    assert not [line for line in gateway.log if "Traceback" in line], "".join(gateway.log)


def test_1_a_resume_flood_from_a_socket_that_never_reads_is_bounded_and_dropped():
    """One viewer, 150 `resume {since: 0}` in 15 s over a 45,000-event buffer, never reading (more
    than the kernel's socket buffers hold, so the replay itself must notice)."""
    figures = resume_flood(events=45_000, resumes=150, seconds=15)
    assert figures["attacker_disconnected_after_s"] != "never"
    assert figures["rss_growth_mb"] <= 100
    assert figures["honest_events_received"] > 100  # the honest producer's events kept flowing
    assert figures["tracebacks_in_log"] == 0


def test_1_a_newer_resume_replaces_the_older_and_healthz_tells_strangers_nothing(gateway_factory, viewers):
    gateway = gateway_factory("--replay-slice", "50", "--replay-rate", "500")
    producer = token("producer")
    gateway.post([{"event": "scan_progress", "data": {"scan_id": "a", "progress": i % 100}} for i in range(1000)],
                 token=producer)
    assert http("GET", gateway.url + "/healthz") == (200, {"status": "ok", "version": "0.1.0"})
    epoch = gateway.get("/healthz", token("viewer"))["epoch"]
    viewer = viewers(gateway.url, {"token": token("viewer"), "resume": True})
    first = viewer.call_later("resume", {"since": 0, "epoch": epoch})
    second = viewer.call_slow("resume", {"since": 900, "epoch": epoch})
    assert first.result(20)["error"] == "replaced by a newer resume"
    assert second["ok"] and second["replayed"] >= 100
    no_tracebacks(gateway)


def test_3_viewers_start_no_scans_and_starters_are_capped_and_aimed(gateway_factory, viewers):
    gateway = gateway_factory("--demo", "--demo-scans", "0", "--scans-per-user", "2", "--scans-total", "3",
                              "--scan-targets", "https://*.example.com/*",
                              "--speed", "0.01",  # started scans finish only after the test
                              "--seed", "3")  # and none of seed 3's first five fails (a failure frees a slot)
    viewer = viewers(gateway.url, {"token": token("viewer", sub="v")})
    assert "may not start scans" in viewer.call("start_scan", {"target": "https://a.example.com/"})["error"]
    starter = viewers(gateway.url, {"token": token("viewer", sub="s", start_scans=True)})
    refused = starter.call("start_scan", {"target": "http://10.0.0.1/admin"})
    assert refused == {"ok": False, "error": "target not allowed here (BUGHUNT_SCAN_TARGETS)"}
    assert [starter.call("start_scan", {"target": f"https://{i}.example.com/"})["ok"] for i in range(3)] == [
        True, True, False]
    other = viewers(gateway.url, {"token": token("viewer", sub="o", start_scans=True)})
    assert other.call("start_scan", {"target": "https://o.example.com/"})["ok"] is True
    assert "started scans are running" in other.call("start_scan", {"target": "https://p.example.com/"})["error"]
    no_tracebacks(gateway)


def test_4_resume_keeps_the_rooms_limit(gateway_factory, viewers):
    gateway = gateway_factory("--max-rooms-per-socket", "10")
    viewer = viewers(gateway.url, {"token": token("admin"), "resume": True})
    epoch = gateway.get("/healthz", token("viewer"))["epoch"]
    answer = viewer.call("resume", {"since": 0, "epoch": epoch, "rooms": [f"scan_{i}" for i in range(100)]})
    assert len(answer["refused_rooms"]) == 91  # `all` and 9 scan rooms fit in 10
    answer = viewer.call("resume", {"since": 0, "epoch": epoch, "rooms": [f"scan_{i}" for i in range(100, 200)]})
    assert len(answer["refused_rooms"]) == 100
    assert viewer.call("join_room", {"room": "scan_x"}) == {"ok": False, "error": "at most 10 rooms per connection"}


def open_socket(url, forwarded_for):
    client = socketio.Client(reconnection=False)
    try:
        client.connect(url, headers={"X-Forwarded-For": forwarded_for}, transports=["websocket"])
    except socketio.exceptions.ConnectionError:
        return None
    return client


def test_7_open_mode_believes_no_proxy_header(gateway_factory, monkeypatch):
    monkeypatch.delenv("BUGHUNT_SECRET")
    gateway = gateway_factory("--max-connections-per-ip", "3", env={"FORWARDED_ALLOW_IPS": "*"})
    clients = [open_socket(gateway.url, f"10.9.0.{i}") for i in range(6)]
    try:
        assert sum(c is not None for c in clients) == 3  # all from 127.0.0.1, whatever they claim
    finally:
        for c in clients:
            if c is not None:
                c.disconnect()
    status, _ = http("GET", gateway.url + "/api/state", headers={"X-Forwarded-For": "10.9.9.9"})
    assert status == 200  # the peer is loopback; a claimed remote address changes nothing either way


def test_7_open_mode_warns_when_it_listens_beyond_loopback():
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUGHUNT_")}
    script = ("import asyncio, logging; logging.basicConfig(); from realtime.gateway.server import Gateway; "
              "from realtime.options import GatewayOptions; g = Gateway(GatewayOptions(host='0.0.0.0')); "
              "asyncio.run(g.start()); asyncio.run(g.stop())")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=60)
    assert "makes the gateway public" in done.stderr  # start() alone binds nothing


def test_9_deep_nesting_is_refused_with_a_reason(gateway_factory, viewers):
    gateway = gateway_factory()
    deep = "[" * 50_000 + "]" * 50_000
    body = ('{"event": "scan_started", "data": {"scan_id": "d", "x": ' + deep + "}}").encode()
    status, answer = gateway.post(body, token=token("producer"))
    assert status == 400 and answer["error"] == "JSON nested deeper than 32 levels"
    status, _ = gateway.post(("[" * 40 + "]" * 40).encode(), token=token("producer"))
    assert status == 400
    viewer = viewers(gateway.url, {"token": token("viewer")})
    nested: list = []
    for _ in range(100):  # deeper than 32, within what the client itself can encode
        nested = [nested]
    assert viewer.call_slow("join_room", nested) == {"ok": False, "error": "JSON nested deeper than 32 levels"}
    assert viewer.call("join_room", {"room": "scan_ok"}) == {"ok": True}
    raw = SilentSocket(gateway.url, token("viewer"))  # an Engine.IO message that is itself deep JSON
    raw.frame("4" + deep)
    raw.frame('421["join_room", ' + deep + "]")  # a Socket.IO message too deep for json.loads itself
    raw.close()
    assert viewer.call("join_room", {"room": "scan_ok2"}) == {"ok": True}
    no_tracebacks(gateway)


def test_10_descriptions_have_their_own_cap(gateway_factory):
    gateway = gateway_factory()
    finding = {"scan_id": "c", "title": "t", "severity": "low", "description": "d" * 4_001}
    status, answer = gateway.post({"event": "vulnerability_found", "data": finding}, token=token("producer"))
    assert status == 400 and "description" in answer["details"][0]["error"]


def token_command(*args, env):
    return subprocess.run([sys.executable, "-m", "realtime.gateway", "token", *args], capture_output=True,
                          text=True, cwd=ROOT, env={"PATH": "/usr/bin:/bin", **env}, timeout=60)


def test_10_share_links_are_short_lived_and_revocable(gateway_factory, tmp_path):
    revoked = tmp_path / "revoked"
    env = {"BUGHUNT_SECRET": SECRET, "BUGHUNT_REVOKED_TOKENS": str(revoked), "BUGHUNT_TOKEN_MAX_TTL": "7d"}
    gateway = gateway_factory(env=env)
    link = token_command("--role", "viewer", "--sub", "g", "--scan", "s1", env=env)
    claims = json.loads(urllib.request.base64.urlsafe_b64decode(link.stdout.split(".")[1] + "=="))
    assert claims["exp"] - claims["iat"] == 7 * 86400 and "token id" in link.stderr  # the default: 7 days
    assert "at most" in token_command("--role", "viewer", "--sub", "g", "--ttl", "30d", env=env).stderr
    viewer = Viewer(gateway.url, {"token": link.stdout.strip()})
    viewer.close()
    assert token_command("revoke", link.stdout.strip(), env=env).returncode == 0
    with pytest.raises(socketio.exceptions.ConnectionError):
        Viewer(gateway.url, {"token": link.stdout.strip()})
    assert http("GET", gateway.url + "/api/state", headers={"Authorization": f"Bearer {link.stdout.strip()}"}
                ) == (401, {"error": "token revoked"})
    month = AUTH.mint("g", "viewer", ["s1"], ttl=30 * 86400)  # minted elsewhere with the same secret
    assert http("GET", gateway.url + "/api/state", headers={"Authorization": f"Bearer {month}"})[0] == 401
    no_tracebacks(gateway)

"""Debug mode and the troubleshooting checks, against real servers."""
import logging
import time

import pytest

from realtime import debug, troubleshoot
from realtime.auth import Authenticator
from realtime.client import RealtimeClient
from realtime.options import ClientOptions, DebugOptions, from_env
from realtime.store import EventStore
from tests.conftest import free_port, wait_for

SECRET = "debug-secret-" + "x" * 40


@pytest.fixture
def debug_on(monkeypatch):
    monkeypatch.setenv("BUGHUNT_DEBUG", "1")
    debug.configure(from_env(DebugOptions))
    yield
    debug.configure(DebugOptions())


def logged(text):
    return [line.message for line in debug.lines() if text in line.message]


def test_debug_mode_logs_a_refused_join_and_a_rejected_event_with_reasons(debug_on, gateway_factory, server,
                                                                          make_client, capfd):
    gateway = gateway_factory(env={"BUGHUNT_SECRET": SECRET})
    client = RealtimeClient(EventStore(), ClientOptions()).start()
    try:
        client.connect(gateway.url, auth={"token": Authenticator(SECRET).mint("7", "viewer")})
        assert client.wait_connected(10)
        client.join_room("user_8")  # someone else's private room
        line = wait_for(lambda: logged("join refused room=user_8"))[0]
        assert "reason=\"user_8 is another user's room\"" in line  # the gateway's reason
        assert not [line for line in debug.lines() if "eyJ" in line.message]  # tokens never logged
        assert "join refused room=user_8" in capfd.readouterr().err  # and on stderr
        assert logged("connected url=" + gateway.url)
    finally:
        client.close()

    other = make_client()  # a server that sends what the catalogue rejects
    other.connect(server.url)
    assert other.wait_connected(10)
    server.emit("scan_progress", {"scan_id": "1", "progress": 500})
    line = wait_for(lambda: logged("event rejected event=scan_progress"))[0]
    assert "progress: Input should be less than or equal to 100" in line
    assert any(line.source.startswith(("socketio", "engineio")) for line in debug.lines())  # library logs too


def test_gateway_debug_mode_logs_refusals_with_reasons(gateway_factory, viewers):
    gateway = gateway_factory(env={"BUGHUNT_DEBUG": "1", "BUGHUNT_SECRET": SECRET})
    status, _ = gateway.post({"event": "scan_progress", "data": {"scan_id": "1", "progress": "half"}},
                             token=Authenticator(SECRET).mint("scanner", "producer"))
    assert status == 400
    wait_for(lambda: any("event rejected" in line and "progress: Input should be a valid number" in line
                         for line in gateway.log))
    viewer = viewers(gateway.url, {"token": Authenticator(SECRET).mint("7", "viewer")})
    assert viewer.call("join_room", {"room": "user_8"})["ok"] is False
    wait_for(lambda: any("join refused user=7 room=user_8" in line for line in gateway.log))
    assert any("socketio.server" in line for line in gateway.log)  # the library's own log
    assert not any("eyJ" in line for line in gateway.log)


def test_debug_mode_off_keeps_library_logs_quiet():
    debug.enable(False)
    assert logging.getLogger("socketio").level == logging.ERROR
    debug.enable(True)
    assert logging.getLogger("socketio").level == logging.INFO
    debug.enable(False)


def test_checks_name_the_problem_and_the_fix_when_the_gateway_is_down(make_client):
    url = f"http://127.0.0.1:{free_port()}"
    client = make_client(reconnect_delay=0.1)
    client.connect(url)
    wait_for(lambda: client.store.snapshot().connection.attempts >= 1 or client.store.snapshot().connection.reason
             not in (None, "connecting"))
    checks = {c.name: c for c in troubleshoot.run(client.store.snapshot(), troubleshoot.probe(url), "all", time.time())}
    assert checks["Gateway reachable"].state == troubleshoot.PROBLEM
    assert "python -m realtime.gateway" in checks["Gateway reachable"].fix
    assert checks["Handshake"].state == troubleshoot.INFO  # unreachable explains it; no second fix


def test_checks_report_refused_auth_and_rooms_and_stray_events(gateway_factory, make_client):
    gateway = gateway_factory(env={"BUGHUNT_SECRET": SECRET})
    refused = make_client(reconnect_delay=5)
    refused.connect(gateway.url, auth={"token": "not-a-token"})
    wait_for(lambda: (refused.store.snapshot().connection.reason or "").startswith("refused:"))
    checks = {c.name: c for c in troubleshoot.run(refused.store.snapshot(), troubleshoot.probe(gateway.url), "all",
                                                  time.time())}
    assert checks["Gateway reachable"].state == troubleshoot.OK
    assert checks["Authentication"].state == troubleshoot.PROBLEM and "BUGHUNT_WS_TOKEN" in checks["Authentication"].fix

    viewer = make_client(subscribe="rooms")
    viewer.join_room("user_9")
    viewer.connect(gateway.url, auth={"token": Authenticator(SECRET).mint("7", "viewer")})
    assert viewer.wait_connected(10)
    wait_for(lambda: viewer.store.snapshot().connection.refused)
    checks = {c.name: c for c in troubleshoot.run(viewer.store.snapshot(), troubleshoot.probe(gateway.url), "rooms",
                                                  time.time())}
    assert checks["Rooms joined"].state == troubleshoot.PROBLEM
    assert "user_9 refused" in checks["Rooms joined"].detail and "BUGHUNT_USER_ID" in checks["Rooms joined"].fix
    assert checks["Handshake"].state == checks["Authentication"].state == troubleshoot.OK

    # an event from a room we are not in (as a stale subscription would deliver) is pointed out
    viewer.store.apply("scan_progress", {"scan_id": "5", "progress": 1})
    checks = {c.name: c for c in troubleshoot.run(viewer.store.snapshot(), troubleshoot.probe(gateway.url), "rooms",
                                                  time.time())}
    assert checks["Subscription"].state == troubleshoot.PROBLEM and "scan_5" in checks["Subscription"].detail

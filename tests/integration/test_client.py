"""RealtimeClient against a real python-socketio server on 127.0.0.1."""
import socket
import time

from realtime import inbox
from tests.conftest import wait_for

FAST = {"reconnect_delay": 0.1, "reconnect_delay_max": 0.3}


def test_events_reach_the_store_then_subscribers(server, make_client):
    client = make_client()
    seen, star = [], []
    client.on("scan_progress", seen.append)
    unsubscribe = client.on("*", lambda event, data: star.append(event))
    client.connect(server.url)
    assert client.wait_connected(5)
    server.emit("scan_progress", {"scan_id": 3, "progress": 25, "current_phase": "active_recon"})
    server.emit("something_custom", {"x": 1})
    wait_for(lambda: "something_custom" in star)
    assert seen == [{"scan_id": "3", "progress": 25.0, "phase": "active_recon"}]
    assert client.store.snapshot().scans["3"].phase == "active_recon"
    assert client.store.snapshot().events[0].event == "something_custom"
    unsubscribe()
    server.emit("scan_progress", {"scan_id": 3, "progress": 50})
    wait_for(lambda: len(seen) == 2)
    assert star.count("scan_progress") == 1


def test_bad_payloads_and_failing_handlers_do_not_stop_the_stream(server, make_client):
    client = make_client()
    applied = []

    def explode(data):
        raise RuntimeError("handler bug")

    async def explode_async(data):
        raise RuntimeError("async handler bug")

    client.on("scan_progress", explode)
    client.on("scan_progress", explode_async)
    client.on("scan_progress", applied.append)
    client.connect(server.url)
    assert client.wait_connected(5)
    server.emit("scan_progress", {"scan_id": 1, "progress": 500})
    server.emit("scan_progress", "not an object")
    for i in range(1, 101):
        server.emit("scan_progress", {"scan_id": 1, "progress": i})
    wait_for(lambda: len(applied) == 100)
    snap = client.store.snapshot()
    assert snap.scans["1"].progress == 100 and len(snap.rejected) == 2
    assert [p["progress"] for p in applied] == list(range(1, 101))


def test_rooms_are_reference_counted_and_rejoined_after_a_server_restart(server, make_client):
    client = make_client(**FAST)
    client.join_room("scan_1")
    client.join_room("scan_1")
    client.join_room("user_7")
    client.connect(server.url)
    assert client.wait_connected(5)
    wait_for(lambda: server.rooms_of_all() == {"scan_1", "user_7"})
    client.leave_room("scan_1")  # one of two viewers leaves: still joined
    client.leave_room("user_7")
    wait_for(lambda: server.joins("leave_room") == ["user_7"])
    assert server.rooms_of_all() == {"scan_1"} and client.rooms == ("scan_1",)

    server.stop()
    wait_for(lambda: not client.status.connected)
    server.start()  # same port
    wait_for(lambda: client.status.connected)
    wait_for(lambda: server.rooms_of_all() == {"scan_1"})
    server.emit("scan_progress", {"scan_id": 1, "progress": 5}, to="scan_1")
    wait_for(lambda: "1" in client.store.snapshot().scans)


def test_sends_while_offline_are_delivered_in_order_after_reconnect(server, make_client):
    client = make_client(**FAST)
    client.connect(server.url)
    assert client.wait_connected(5)
    def targets():
        return [d["target"] for _, e, d in server.received if e == "start_scan"]

    assert client.send("start_scan", {"target": "https://a"}) == "sent"
    wait_for(lambda: targets() == ["https://a"])
    server.stop()
    wait_for(lambda: not client.status.connected)
    assert [client.send("start_scan", {"target": f"https://{i}"}) for i in range(3)] == ["queued"] * 3
    assert client.status.queued == 3
    server.start()
    wait_for(lambda: len(targets()) == 4)
    assert targets() == ["https://a", "https://0", "https://1", "https://2"]
    assert client.status.queued == 0


def test_outbox_is_bounded_and_counts_what_it_dropped(make_client):
    client = make_client(max_outbox=2)
    for i in range(5):
        client.send("start_scan", {"target": str(i)})
    assert (client.status.queued, client.status.dropped) == (2, 3)


def test_server_initiated_disconnect_is_retried(server, make_client):
    client = make_client(**FAST)
    statuses = []
    client.on("connection_status", statuses.append)
    client.connect(server.url)
    assert client.wait_connected(5)
    server.run(server.sio.disconnect(next(iter(server.sio.manager.rooms["/"][None]))))
    wait_for(lambda: server.connects == 2)
    wait_for(lambda: client.status.connected)
    assert statuses[0] == {"connected": False, "reason": "connecting"}
    assert statuses[1:] == [{"connected": True}, {"connected": False, "reason": "server disconnect"},
                            {"connected": True}]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_reconnect_schedule_follows_the_guide_then_retries_slowly(make_client):
    """Default options: attempts after 1, 2, 4, 5, 5 s, then connection_error, then every 30 s
    (reconnect_now cuts the wait short)."""
    from tests.sioserver import SioServer

    port = free_port()
    client = make_client()
    failures, errors = [], []
    client.on("connection_status",
              lambda d: d.get("reason") != "connecting" and failures.append(time.monotonic()))
    client.on("connection_error", lambda d: errors.append((time.monotonic(), d)))
    start = time.monotonic()
    client.connect(f"http://127.0.0.1:{port}")
    wait_for(lambda: errors, timeout=30)
    times = [round(t - start, 1) for t in failures]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert len(times) == 6, times
    for gap, expected in zip(gaps, [1, 2, 4, 5, 5]):
        assert expected - 0.1 <= gap <= expected + 0.8, times
    at, data = errors[0]
    assert data["attempts"] == 5 and data["error"]
    assert client.status.attempts == 5 and not client.status.connected
    time.sleep(1.5)
    assert len(failures) == 6  # slow pace now: no attempt within 30 s
    server = SioServer(port).start()
    try:
        client.reconnect_now()
        assert client.wait_connected(5)
        assert client.status.attempts == 0
    finally:
        server.stop()


def test_call_returns_the_ack_or_a_clear_error(server, make_client):
    client = make_client()
    assert client.call("start_scan", {"target": "x"}) == {"ok": False, "error": "not connected to the gateway"}
    client.connect(server.url)
    assert client.wait_connected(5)
    assert client.call("start_scan", {"target": "x"}) == {"ok": True}


def test_a_burst_that_arrived_before_a_drop_is_in_the_store_before_the_drop_is_told(server, make_client, monkeypatch):
    """A burst's events wait a few milliseconds to be applied together (realtime/inbox.py): a
    drop right after them must not be told first, as if they had come after it."""
    monkeypatch.setattr(inbox, "COALESCE", 2.0)  # a wait no drop comes after by chance
    client = make_client(**FAST)
    told = []
    client.on("connection_status", lambda status: told.append(
        (status, getattr(client.store.snapshot().scans.get("burst"), "progress", None))))
    client.connect(server.url)
    assert client.wait_connected(5)
    sid = next(iter(server.sio.manager.rooms["/"][None]))
    server.emit("scan_progress", {"scan_id": "burst", "progress": 0.5}, to=sid)
    wait_for(lambda: "burst" in client.store.snapshot().scans)  # handed on: what follows is a burst

    async def burst_then_drop():
        for i in range(2, 201):
            await server.sio.emit("scan_progress", {"scan_id": "burst", "progress": i / 2}, to=sid)
        await server.sio.disconnect(sid)

    server.run(burst_then_drop())
    wait_for(lambda: any(status.get("reason") == "server disconnect" for status, _ in told))
    assert next(progress for status, progress in told if status.get("reason") == "server disconnect") == 100.0


def test_a_reply_is_read_after_the_events_the_gateway_sent_before_it(server, make_client, monkeypatch):
    """A page that asks the gateway (a triage, a cancel) reads the store once the reply comes:
    what the gateway sent before the reply must be in it, burst or not."""
    monkeypatch.setattr(inbox, "COALESCE", 2.0)
    client = make_client()
    client.connect(server.url)
    assert client.wait_connected(5)

    @server.sio.on("cancel_scan")
    async def cancel(sid, data):
        for i in range(1, 51):
            await server.sio.emit("scan_progress", {"scan_id": "asked", "progress": i}, to=sid)
        return {"ok": True}

    assert client.call("cancel_scan", {"scan_id": "asked"}) == {"ok": True}
    assert client.store.snapshot().scans["asked"].progress == 50.0

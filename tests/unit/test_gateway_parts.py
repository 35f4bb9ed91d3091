"""The gateway's parts on their own: no server, no socket, no network."""
import asyncio

import pytest

from realtime.auth import Identity
from realtime.gateway.api import Refused, parse_items, validate
from realtime.gateway.local_stream import LocalStream
from realtime.gateway.server import Gateway
from realtime.gateway.sessions import Sessions
from realtime.options import GatewayOptions
from realtime.store import EventStore


class Sockets:
    """Stands in for socketio.AsyncServer.emit: records what would be sent where."""

    def __init__(self):
        self.sent = []

    async def emit(self, event, data, to=None):
        self.sent.append((event, data["seq"], to))


def progress(scan, value):
    return "scan_progress", {"scan_id": scan, "progress": value}


async def publish(stream, events):
    done = [await stream.submit(event, data) for event, data in events]
    await asyncio.gather(*done)


def test_the_local_stream_stamps_sends_and_replays_in_order():
    sockets = Sockets()
    stream = LocalStream(GatewayOptions(replay_events=3), EventStore(), sockets.emit)

    async def run():
        await stream.start()
        await publish(stream, [progress("a", 1), progress("b", 2), ("notification", {"message": "x", "user_id": 7}),
                               progress("a", 3), ("scan_progress", {"scan_id": "a", "progress": 999})])
        answers = {
            "none": await stream.missed(stream.epoch, None, {"all"}),
            "other stream": await stream.missed("another", 1, {"all"}),
            "ahead": await stream.missed(stream.epoch, 9, {"all"}),
            "too old": await stream.missed(stream.epoch, 0, {"all"}),
            "scan a": await stream.missed(stream.epoch, 1, {"scan_a"}),
        }
        await stream.stop()
        return answers

    answers = asyncio.run(run())
    assert sockets.sent == [("scan_progress", 1, ["all", "scan_a"]), ("scan_progress", 2, ["all", "scan_b"]),
                            ("notification", 3, "user_7"), ("scan_progress", 4, ["all", "scan_a"])]
    assert stream.store.snapshot().rejected  # the invalid one is rejected, not sent, and takes no place
    assert answers["none"] == "no stream position yet"
    assert answers["other stream"].startswith("the gateway restarted")
    assert answers["ahead"] == "ahead of this stream"
    assert answers["too old"] == "the missed events are older than the replay buffer"  # buffer: seqs 2-4
    assert [s.seq for s in answers["scan a"]] == [4]


def test_the_local_stream_comes_back_from_its_state_db(tmp_path):
    options = GatewayOptions(state_db=str(tmp_path / "state.sqlite"))
    first = LocalStream(options, EventStore(), Sockets().emit)

    async def run(stream, events):
        await stream.start()
        await publish(stream, events)
        await stream.stop()

    asyncio.run(run(first, [progress("a", 1), progress("a", 2)]))
    sockets = Sockets()
    again = LocalStream(options, EventStore(), sockets.emit)
    asyncio.run(run(again, [progress("a", 3)]))
    assert again.epoch == first.epoch and sockets.sent == [("scan_progress", 3, ["all", "scan_a"])]
    assert again.store.snapshot().scans["a"].progress == 3
    assert [s.seq for s in again.replay.after(0, {"all"})] == [1, 2, 3]


def test_a_gateway_constructor_starts_nothing_and_opens_no_file(tmp_path):
    state = tmp_path / "state.sqlite"
    gateway = Gateway(GatewayOptions(state_db=str(state), demo=True))
    assert not state.exists() and gateway.stream.journal is None
    assert gateway.mode == "demo" and gateway.clients == 0


def test_sessions_count_addresses_and_stop_a_socket_that_keeps_flooding():
    sessions = Sessions(GatewayOptions(max_connections_per_ip=2, socket_rate=0.001, socket_burst=2))
    viewer = Identity(sub="7", role="viewer")
    sessions.open("s1", viewer, "10.0.0.1")
    sessions.open("s2", viewer, "10.0.0.1")
    assert sessions.full("10.0.0.1") == "too many connections from 10.0.0.1" and not sessions.full("10.0.0.2")
    sessions.close("s2")
    assert not sessions.full("10.0.0.1") and len(sessions) == 1
    answers = [sessions.admit("s1") for _ in range(4)]
    assert [a.refusal is None for a in answers] == [True, True, False, False]
    assert [a.abuse for a in answers] == [False, False, False, True]
    assert sessions.admit("gone").refusal == {"ok": False, "error": "not connected"}


def test_publishing_refuses_bad_bodies_with_a_reason():
    with pytest.raises(Refused) as refused:
        parse_items(b"[]", max_batch=10)
    assert refused.value.status == 400
    with pytest.raises(Refused) as refused:
        parse_items(b"[1, 2, 3]", max_batch=2)
    assert refused.value.status == 413 and "limit is 2" in refused.value.message
    accepted, details = validate([{"event": "scan_progress", "data": {"scan_id": 1, "progress": 5}}, "x",
                                  {"event": "nope", "data": {}}])
    assert [event for event, _ in accepted] == ["scan_progress"]
    assert [(d["index"], d["error"]) for d in details] == [
        (1, 'each item must be {"event": "<name>", "data": {...}}'), (2, "unknown event nope")]

"""Parts of issue 14's delivery guarantees that need no process: idempotency keys, derived ids,
Retry-After, how far behind a socket is."""
import asyncio

from realtime.auth import Identity
from realtime.gateway.api import with_ids
from realtime.gateway.backlog import TICK, Backlog
from realtime.gateway.sessions import Sessions
from realtime.gateway.stream import AcceptedKeys
from realtime.options import GatewayOptions
from realtime.publisher import MAX_WAIT, retry_after


def test_accepted_keys_expire_by_age_and_count():
    keys = AcceptedKeys(seconds=10, limit=2)
    keys.add("a", 100.0)
    keys.add("b", 105.0)
    keys.add("c", 106.0)
    assert keys.expire(now=106.0) == ["a"]  # over the limit
    assert "b" in keys and "c" in keys
    assert keys.expire(now=115.5) == ["b"]  # older than 10 s
    assert "c" in keys and "b" not in keys


def test_notifications_without_an_id_get_the_same_id_on_every_retry_of_a_batch():
    batch = [("notification", {"message": "x"}), ("notification", {"message": "x"}),
             ("notification", {"message": "y", "id": "mine"}), ("scan_progress", {"scan_id": "1", "progress": 1})]
    first, again, other = with_ids(batch, "k1"), with_ids(batch, "k1"), with_ids(batch, "k2")
    assert first == again
    assert first[0][1]["id"] != first[1][1]["id"]  # two equal notifications stay two
    assert first[2][1]["id"] == "mine" and "id" not in first[3][1]
    assert other[0][1]["id"] != first[0][1]["id"]
    assert with_ids(batch, None) == batch


def test_retry_after_is_capped_and_falls_back():
    assert retry_after("2", 0.5) == 2.0
    assert retry_after("3600", 0.5) == MAX_WAIT
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 0.5) == 0.5
    assert retry_after(None, 0.5) == 0.5


class FakeStream:
    emitted = 0


def test_a_socket_is_asked_for_its_backlog_only_when_events_went_out_since_its_last_answer():
    """An idle dashboard costs nothing: a quiet stream sends no backlog checks."""
    options = GatewayOptions()
    sessions, stream = Sessions(options), FakeStream()
    stream.emitted = 7
    session = sessions.open("sid", Identity(sub=None, role="viewer"), "127.0.0.1", stream.emitted)
    asked = []

    async def emit(event, data, to, callback):
        asked.append(to)
        callback(True)  # answered at once

    backlog = Backlog(options, sessions, stream, emit=emit, disconnect=None)
    asyncio.run(backlog.check_all(now=1.0))
    assert asked == []  # nothing went out since it connected
    stream.emitted = 8
    asyncio.run(backlog.check_all(now=2.0))
    asyncio.run(backlog.check_all(now=3.0))
    assert asked == ["sid"] and session.confirmed == 8 and session.check_sent is None


def test_a_socket_keeping_up_is_asked_once_a_second_and_one_falling_behind_every_round():
    def asks_in(seconds: float, events_per_round: int) -> int:
        options = GatewayOptions(max_backlog_events=100)
        sessions, stream = Sessions(options), FakeStream()
        sessions.open("sid", Identity(sub=None, role="viewer"), "127.0.0.1", stream.emitted)
        asked = []

        async def emit(event, data, to, callback):
            asked.append(to)
            callback(True)  # answered at once

        async def stream_events():
            while True:
                stream.emitted += events_per_round
                await asyncio.sleep(TICK)

        async def run():
            backlog = Backlog(options, sessions, stream, emit=emit, disconnect=None)
            events = asyncio.create_task(stream_events())
            await backlog.start()
            await asyncio.sleep(seconds)
            await backlog.stop()
            events.cancel()

        asyncio.run(run())
        return len(asked)

    assert asks_in(2.6, events_per_round=1) <= 3  # a trickle: once a second (it was every round: 10)
    assert asks_in(2.6, events_per_round=30) >= 8  # over a quarter of its limit each round: every round


def test_a_socket_is_behind_when_a_check_goes_unanswered_or_too_many_events_are_unconfirmed():
    options = GatewayOptions(max_backlog_seconds=5, max_backlog_events=100)
    sessions, stream = Sessions(options), FakeStream()
    session = sessions.open("sid", Identity(sub=None, role="viewer"), "127.0.0.1", stream.emitted)
    backlog = Backlog(options, sessions, stream, emit=None, disconnect=None)
    assert backlog.behind(session, now=0.0) is None
    session.check_sent = 10.0
    assert backlog.behind(session, now=14.9) is None
    assert "nothing confirmed for 5 s" in backlog.behind(session, now=15.1)
    session.check_sent, stream.emitted = None, 101
    assert "more than 100 events unconfirmed" in backlog.behind(session, now=20.0)
    session.confirmed = 50
    assert backlog.behind(session, now=20.0) is None

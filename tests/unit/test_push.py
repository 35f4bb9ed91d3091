"""Issue 21's server side without a browser: what each kind of change counts, who may hear of
what (tickets), and the change route's answers."""
import asyncio
import time

import pytest

from realtime import changes
from realtime.live import allowed
from realtime.push import ChangeFeed
from realtime.store import EventStore


def feed_of(store, min_interval=0.0):
    feed = ChangeFeed(hold=0.5, tick=0.005)
    feed.attach(store, min_interval)
    return feed


def totals(hub, *kind_sets):
    return [hub.total(kinds) for kinds in kind_sets]


def test_each_change_counts_for_the_kinds_that_show_it():
    store = EventStore()
    hub = changes.Changes(store, min_interval=0)
    mine, other = ("scan:mine",), ("scan:other",)
    store.apply("scan_started", {"scan_id": "mine", "scan_name": "Mine"})
    assert hub.refresh()
    assert hub.total(("scans",)) == 1 and hub.total(mine) == 1 and hub.total(other) == 0
    assert hub.total(("findings",)) == 0 and hub.total(("toasts",)) == 1
    store.apply("vulnerability_found", {"scan_id": "other", "title": "x", "severity": "low"})
    hub.refresh()
    assert totals(hub, ("findings",), mine, other, ("toasts",)) == [1, 1, 1, 1]  # a low finding: no toast
    store.apply("scan_progress", {"scan_id": "other", "progress": 5})
    store.apply("notification", {"message": "hello"})
    hub.refresh()
    assert totals(hub, ("notifications",), mine, other, ("scans",)) == [1, 1, 2, 3]
    assert not hub.refresh()  # nothing new: nothing moves
    store.mark_read()  # a change no event record explains
    hub.refresh()
    assert hub.total((changes.OTHER,)) == 1 and hub.total(mine) == 1


def test_a_flood_advances_the_counters_once_per_interval():
    store = EventStore()
    hub = changes.Changes(store, min_interval=60)
    store.apply("scan_started", {"scan_id": "a"})
    assert hub.refresh()
    for i in range(100):
        store.apply("scan_progress", {"scan_id": "a", "progress": i})
        assert not hub.refresh()  # within the interval: the changes wait
    assert hub.total(("scans",)) == 1 and hub.due() > 0


def test_a_gap_in_the_bounded_log_counts_as_every_kind():
    from realtime.options import StoreOptions

    store = EventStore(StoreOptions(max_events=5))
    hub = changes.Changes(store, min_interval=0)
    for i in range(20):
        store.apply("scan_progress", {"scan_id": "a", "progress": i})
    hub.refresh()
    assert hub.total(("scan:never-seen",)) == 1  # the dropped records might have been its


def test_tickets_grant_their_kinds_only_until_they_expire():
    tickets = changes.Tickets()
    ticket = tickets.mint(["scan:mine"], ttl=60)
    assert tickets.check(ticket) == ["scan:mine"]
    body, _, signature = ticket.rpartition(".")
    assert tickets.check(body.replace("scan:mine", "scans") + "." + signature) is None  # forged
    assert changes.Tickets().check(ticket) is None  # another process's key
    assert tickets.check(tickets.mint(["scans"], ttl=-1)) is None  # expired
    for junk in ("", ".", "x.y", "{}." + signature, "\u202e"):
        assert tickets.check(junk) is None


def test_a_share_link_tab_may_hear_of_its_scan_only():
    assert allowed(["scan:mine", "scans"], read_only=True, shared_scan="mine") == ("scan:mine",)
    assert allowed(["scan:other"], read_only=True, shared_scan="mine") == ()
    assert allowed(["scans"], read_only=False, shared_scan="") == ("scans", changes.OTHER)
    with pytest.raises(ValueError):
        allowed(["everything"], read_only=False, shared_scan="")


def test_the_route_answers_on_change_and_holds_otherwise():
    store = EventStore()
    feed = feed_of(store)
    ticket = feed.tickets.mint(["scan:mine", changes.OTHER], ttl=60)

    async def scenario():
        first = await feed.wait(["scan:mine"], -1)  # a first look answers at once
        started = time.monotonic()
        held = await feed.wait(["scan:mine"], first)  # nothing changes: held, then the same
        waited = time.monotonic() - started
        waiting = asyncio.create_task(feed.wait(["scan:mine"], first))
        await asyncio.sleep(0.05)
        store.apply("scan_progress", {"scan_id": "other", "progress": 1})  # not its scan
        await asyncio.sleep(0.05)
        assert not waiting.done()
        store.apply("scan_progress", {"scan_id": "mine", "progress": 1})
        moved = await asyncio.wait_for(waiting, 2)
        await feed.stop()
        return first, held, waited, moved

    first, held, waited, moved = asyncio.run(scenario())
    assert held == first and waited >= 0.4 and moved > first
    assert feed.tickets.check(ticket) == [changes.OTHER, "scan:mine"]


def test_the_route_refuses_what_a_client_may_send():
    import json
    from urllib.parse import urlencode

    from starlette.requests import Request

    feed = feed_of(EventStore())

    def get(**params):
        scope = {"type": "http", "method": "GET", "path": "/c", "headers": [],
                 "query_string": urlencode(params).encode()}
        answer = asyncio.run(feed.endpoint(Request(scope)))
        return answer.status_code, json.loads(answer.body), answer.headers

    assert get()[0] == 403
    assert get(ticket="forged.ticket")[1]["error"].startswith("ticket")
    good = feed.tickets.mint(["scans"], ttl=60)
    assert get(ticket=good, since="NaN")[0] == 400
    status, body, headers = get(ticket=good, since="-1")
    assert status == 200 and body == {"version": 0} and headers["cache-control"] == "no-store"
    assert ChangeFeed().total(["scans"]) == 0  # no store yet: nothing to hear

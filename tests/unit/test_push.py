"""Issue 21's server side without a browser: what each kind of change counts, who may hear of
what (tickets), and the change socket's answers."""
import asyncio
import json
import time
from dataclasses import replace

import pytest
from starlette.websockets import WebSocketDisconnect

from realtime import changes
from realtime.live import allowed
from realtime.models import ConnectionState
from realtime.push import LOOK, MAX_WATCHES, PREVIEWS, ChangeFeed, Tab
from realtime.store import EventStore


def feed_of(store, min_interval=0.0):
    feed = ChangeFeed(hold=5)
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


def test_every_event_a_toast_is_made_of_counts_for_the_toasts_kind():
    """The sidebar's area hears of toasts only: an event that toasts but is not counted for them
    would toast a heartbeat late (a triage in another browser did)."""
    from realtime.views.toasts import plan_toasts

    samples = {"scan_started": {"scan_id": "s", "scan_name": "S"}, "scan_completed": {"scan_id": "s"},
               "scan_failed": {"scan_id": "s", "error": "boom"}, "notification": {"message": "m"},
               "finding_triaged": {"scan_id": "s", "fingerprint": "f" * 16, "state": "false_positive", "by": "a"},
               "vulnerability_found": {"scan_id": "s", "title": "t", "severity": "critical"},
               "scan_progress": {"scan_id": "s", "progress": 1}, "metrics_update": {"active_scans": 1}}
    for event, data in samples.items():
        store = EventStore()
        store.apply(event, data)
        record = store.snapshot().events[0]
        # The watcher reads the record's fields without making its payload (read first: reading
        # `data` makes it): the same kinds.
        by_fields = changes.kinds_of(record.event, record), changes.routine(record.event, record)
        assert by_fields == (changes.kinds_of(record.event, record.data), changes.routine(record.event, record.data))
        toasted = bool(plan_toasts([record]))
        assert toasted == (changes.TOASTS in changes.kinds_of(record.event, record.data)), event
    assert changes.FINDINGS in changes.kinds_of("finding_triaged", samples["finding_triaged"])


def test_a_records_fields_read_without_its_payload_are_the_payloads():
    store = EventStore()
    store.apply("vulnerability_found", {"scan_id": 7, "title": "t", "severity": "HIGH"})
    store.apply("something_unknown", "text")
    found, unknown = reversed(store.snapshot().events)
    assert (found.get("scan_id"), found.get("severity"), found.get("nothing")) == ("7", "high", None)
    assert (found.get("scan_id"), found.get("severity")) == (found.data["scan_id"], found.data["severity"])
    assert unknown.get("scan_id") is None and unknown.get("title") is None


def test_a_change_of_how_many_scans_are_under_way_is_heard_when_no_toast_tells_it():
    """The sidebar counts the scans under way and has no heartbeat: a scan first seen by its
    progress, or one back in contact, changes that count with no toast; the Active Scans card
    counts what the list under it shows, queued scans too."""
    store = EventStore()
    hub = changes.Changes(store, min_interval=0)
    active = (changes.ACTIVE,)
    store.set_epoch("one")
    store.apply("scan_progress", {"scan_id": "a", "progress": 5})  # a scan already under way when we came
    hub.refresh()
    assert hub.total(active) == 1 and hub.total(("toasts",)) == 0
    store.apply("scan_progress", {"scan_id": "a", "progress": 6})
    hub.refresh()
    assert hub.total(active) == 1  # still one under way: nothing to tell
    store.set_epoch("two")  # the stream changed: scan a lost contact
    hub.refresh()
    lost = hub.total(active)
    store.apply("scan_progress", {"scan_id": "a", "progress": 7})  # back in contact
    hub.refresh()
    assert hub.total(active) == lost + 1 and hub.total(("toasts",)) == 0
    store.apply("scan_started", {"scan_id": "q", "status": "queued"})
    assert store.snapshot().metrics["active_scans"] == 2


def test_a_change_no_record_explains_is_heard_though_records_come_in_the_same_look():
    """The gateway's stream going down changes the connection panel with no log record; progress
    taken in by the same look must not hide it (the panel has no heartbeat to show it later)."""
    store = EventStore()
    hub = changes.Changes(store, min_interval=0)
    store.apply("scan_progress", {"scan_id": "a", "progress": 1})
    hub.refresh()
    other = hub.total((changes.OTHER,))
    store.set_connection(ConnectionState(connected=True, url="u", stream={"ok": False, "since": 1.0}))
    store.apply("scan_progress", {"scan_id": "a", "progress": 2})
    assert hub.refresh() and hub.total((changes.OTHER,)) == other + 1
    store.apply("scan_progress", {"scan_id": "a", "progress": 3})
    hub.refresh()
    assert hub.total((changes.OTHER,)) == other + 1  # records alone: no change without one


def test_a_flood_advances_the_counters_once_per_interval():
    store = EventStore()
    hub = changes.Changes(store, min_interval=60)
    store.apply("scan_started", {"scan_id": "a"})
    assert hub.refresh()
    for i in range(100):
        store.apply("scan_progress", {"scan_id": "a", "progress": i})
        assert not hub.refresh()  # within the interval: the changes wait
    assert hub.total(("scans",)) == 1 and hub.due() > 0


def test_what_the_counts_say_changed_is_in_the_snapshot_viewers_share():
    """A render counts changes, then reads the shared snapshot (taken under 0.25 s ago, say): what
    it was counted as showing must be in it, or its area is never told of that change again."""
    store = EventStore()
    hub = changes.Changes(store, min_interval=0)
    store.apply("scan_started", {"scan_id": "a"})
    hub.refresh()
    store.snapshot(max_age=0.25)
    for event, data, seen in (("scan_progress", {"scan_id": "a", "progress": 42}, lambda s: s.progress == 42),
                              ("scan_completed", {"scan_id": "a"}, lambda s: s.status == "completed")):
        store.apply(event, data)
        assert hub.refresh()
        assert seen(store.snapshot(max_age=0.25).scans["a"]), event


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


class FakeSocket:
    """The WebSocket side the change socket uses: what a tab sends, what it is told."""

    def __init__(self):
        self.inbox, self.told, self.closed = asyncio.Queue(), asyncio.Queue(), None

    async def accept(self):
        pass

    async def close(self, code=1000):
        self.closed = code

    async def send_json(self, message):
        await self.told.put(message)

    async def receive_text(self):
        text = await self.inbox.get()
        if text is None:
            raise WebSocketDisconnect(1001)
        return text

    async def next(self, timeout=2.0):
        return await asyncio.wait_for(self.told.get(), timeout)


def watch(feed, key, kinds, since, **more):
    return json.dumps({"watch": key, "ticket": feed.tickets.mint(kinds, ttl=60), "since": since, **more})


async def watching_scans(feed):
    """A tab on the feed's socket, greeted, with one area watching scans from 0."""
    ws = FakeSocket()
    task = asyncio.create_task(feed.socket(ws))
    assert await ws.next() == {"hello": 1}
    ws.inbox.put_nowait(watch(feed, "scans", ["scans"], 0))
    return ws, task


def test_one_socket_tells_each_area_of_its_kinds_only_and_a_share_tab_of_its_scan_only():
    store = EventStore()
    feed = feed_of(store)

    async def scenario():
        tab, share = FakeSocket(), FakeSocket()
        tasks = [asyncio.create_task(feed.socket(ws)) for ws in (tab, share)]
        assert await tab.next() == {"hello": 1} and await share.next() == {"hello": 1}
        tab.inbox.put_nowait(watch(feed, "scans", ["scans", changes.OTHER], 0))
        tab.inbox.put_nowait(watch(feed, "mine", ["scan:mine"], 0))
        share.inbox.put_nowait(watch(feed, "live", list(allowed(["scan:mine"], True, "mine")), 0))
        await asyncio.sleep(0.05)
        store.apply("scan_progress", {"scan_id": "other", "progress": 1})  # not the share tab's scan
        assert await tab.next() == {"key": "scans", "version": 1}
        store.apply("scan_progress", {"scan_id": "mine", "progress": 1})
        told = [await tab.next(), await tab.next()]
        assert sorted(told, key=str) == [{"key": "mine", "version": 1}, {"key": "scans", "version": 2}]
        assert await share.next() == {"key": "live", "version": 1}  # its scan, and nothing before
        assert share.told.empty()
        tab.inbox.put_nowait(json.dumps({"drop": "scans"}))
        await asyncio.sleep(0.05)
        store.apply("scan_started", {"scan_id": "third"})
        await asyncio.sleep(0.1)
        assert tab.told.empty() and share.told.empty()  # a dropped area, another scan: silence
        for ws in (tab, share):
            ws.inbox.put_nowait(None)  # the tabs close
        await asyncio.gather(*tasks)
        assert not feed.tabs
        await feed.stop()

    asyncio.run(scenario())


def test_an_area_listing_notifications_is_told_the_new_ones_with_the_change_and_a_share_tab_never():
    """The Dashboard's newest notifications reach its tab with the notice of the change (shown
    before the rerun): each once, newest first, at most PREVIEWS, as bounded one-line text with
    format characters shown; one sent again is not new; an area without `after`, or whose ticket
    may not hear of notifications (a share link's, though the notification is about its scan),
    gets none."""
    store = EventStore()
    feed = feed_of(store)
    store.apply("notification", {"id": "old", "message": "shown already"})  # the areas' renders show it
    for n in range(PREVIEWS):
        store.apply("notification", {"id": f"shown{n}", "message": "shown already"})

    async def scenario():
        tab, share = FakeSocket(), FakeSocket()
        tasks = [asyncio.create_task(feed.socket(ws)) for ws in (tab, share)]
        assert await tab.next() == {"hello": 1} and await share.next() == {"hello": 1}
        shown, kinds = store.snapshot().logged, ["notifications", changes.OTHER]
        tab.inbox.put_nowait(watch(feed, "latest", kinds, feed.total(kinds), after=shown))
        tab.inbox.put_nowait(watch(feed, "plain", kinds, feed.total(kinds)))
        scan_kinds = list(allowed(["scan:mine"], True, "mine"))
        share.inbox.put_nowait(watch(feed, "live", scan_kinds, feed.total(scan_kinds), after=shown))
        await asyncio.sleep(0.05)
        store.apply("notification", {"id": "n-bold", "title": "**Bold** <img src=x>", "type": "warning",
                                     "message": "gpj\u202eexe.  two\nlines", "scan_id": "mine"})
        told = {m["key"]: m for m in (await tab.next(), await tab.next())}
        assert "notices" not in told["plain"]
        [notice] = told["latest"]["notices"]
        assert notice == {"at": shown, "type": "warning", "title": "**Bold** <img src=x>",
                          "message": "gpj<U+202E>exe. two lines", "ago": "0 s ago"}
        assert "notices" not in await share.next()  # told of its scan's change, not of the notification
        for n in range(PREVIEWS + 2):
            store.apply("notification", {"id": f"n{n}", "message": f"n{n}", "timestamp": time.time() - 120})
            store.apply("scan_progress", {"scan_id": "a", "progress": n})  # other records between them
        told = {m["key"]: m for m in (await tab.next(), await tab.next())}
        assert [n["message"] for n in told["latest"]["notices"]] == [f"n{n}" for n in range(PREVIEWS + 1, 1, -1)]
        assert told["latest"]["notices"][0]["ago"] == "2 min ago"  # the notification's own time
        store.apply("notification", {"id": "old", "message": "shown already"})  # sent again: not new
        store.apply("notification", {"id": "newest", "message": "newest"})
        told = {m["key"]: m for m in (await tab.next(), await tab.next())}
        assert [n["message"] for n in told["latest"]["notices"]] == ["newest"]  # the earlier ones were told
        for ws in (tab, share):
            ws.inbox.put_nowait(None)
        await asyncio.gather(*tasks)
        await feed.stop()

    asyncio.run(scenario())


def test_a_new_notification_is_told_at_once_while_the_change_that_reruns_its_area_waits():
    """Spacing reruns (`min_interval`) does not hold back a notification's preview: it is told at
    once, on its own; the change comes once the interval is over, and nothing is told twice. A
    share tab's area hears of its scan's changes, never of a notification's text."""
    store = EventStore()
    spacing = 5.0
    feed = feed_of(store, min_interval=spacing)

    async def scenario():
        tab, share = FakeSocket(), FakeSocket()
        tasks = [asyncio.create_task(feed.socket(ws)) for ws in (tab, share)]
        assert await tab.next() == {"hello": 1} and await share.next() == {"hello": 1}
        kinds, shown = ["notifications", changes.OTHER], store.snapshot().logged
        tab.inbox.put_nowait(watch(feed, "latest", kinds, feed.total(kinds), after=shown))
        scan_kinds = list(allowed(["scan:mine"], True, "mine"))
        share.inbox.put_nowait(watch(feed, "live", scan_kinds, feed.total(scan_kinds), after=shown))
        await asyncio.sleep(0.05)
        loop = asyncio.get_running_loop()
        start = loop.time()  # the counters advance after this, and not again for `spacing` s
        store.apply("notification", {"id": "first", "message": "first", "scan_id": "mine"})
        told = await tab.next()
        assert told["version"] == 1 and [n["message"] for n in told["notices"]] == ["first"]
        store.apply("notification", {"id": "second", "message": "second", "scan_id": "mine"})  # within it
        told = await tab.next()
        assert loop.time() - start < spacing and "version" not in told  # before the interval is over
        assert [n["message"] for n in told["notices"]] == ["second"]
        assert await tab.next(timeout=3 * spacing) == {"key": "latest", "version": 2}  # its notice told already
        assert loop.time() - start >= spacing
        await asyncio.sleep(0.1)
        assert tab.told.empty()
        heard = [share.told.get_nowait() for _ in range(share.told.qsize())]
        assert heard and not any("notices" in m for m in heard)  # told of its scan's changes only
        for ws in (tab, share):
            ws.inbox.put_nowait(None)
        await asyncio.gather(*tasks)
        await feed.stop()

    asyncio.run(scenario())


def test_the_socket_refuses_what_a_client_may_send():
    feed = feed_of(EventStore())
    tab = Tab()
    good = feed.tickets.mint(["scans"], ttl=60)
    assert "error" in feed.take(tab, "not json")
    assert "error" in feed.take(tab, "x" * 5000)
    assert "error" in feed.take(tab, json.dumps({"watch": "a", "ticket": good, "since": "1"}))
    assert "error" in feed.take(tab, json.dumps({"watch": "a", "ticket": good, "since": 1, "after": "0"}))
    refused = feed.take(tab, json.dumps({"watch": "a", "ticket": "forged.ticket", "since": 0}))
    assert refused["key"] == "a" and refused["error"].startswith("ticket")
    share = feed.tickets.mint(["scan:mine"], ttl=60)
    forged = share.replace("scan:mine", "scans")  # a share tab's ticket widened by hand
    assert "error" in feed.take(tab, json.dumps({"watch": "a", "ticket": forged, "since": 0}))
    for i in range(MAX_WATCHES):
        assert feed.take(tab, json.dumps({"watch": f"k{i}", "ticket": good, "since": 0})) is None
    assert "error" in feed.take(tab, json.dumps({"watch": "one-more", "ticket": good, "since": 0}))
    assert len(tab.watches) == MAX_WATCHES
    tab.watches["k0"].ticket = feed.tickets.mint(["scans"], ttl=-1)  # expired while watched
    assert {"key": "k0", "renew": 1} in feed.news(tab)
    assert "k0" not in tab.watches
    assert ChangeFeed().total(["scans"]) == 0  # no store yet: nothing to hear


def test_a_tab_that_comes_while_the_dashboard_starts_is_told_once_its_store_comes():
    """The first visitor's run builds the store: its tab's socket is not refused meanwhile (a
    refused tab would poll, backing off, long after the store came)."""
    feed = ChangeFeed(hold=5)
    store = EventStore()
    store.apply("scan_started", {"scan_id": "early"})

    async def scenario():
        ws, task = await watching_scans(feed)
        await asyncio.sleep(0.05)
        assert ws.told.empty() and ws.closed is None  # nothing to tell yet, and not refused
        feed.attach(store, 0.0)
        store.apply("scan_started", {"scan_id": "later"})
        assert await ws.next() == {"key": "scans", "version": 1}
        ws.inbox.put_nowait(None)
        await task
        await feed.stop()

    asyncio.run(scenario())


def test_routine_changes_wait_for_the_routine_interval_and_a_notice_of_their_kind_brings_them():
    store = EventStore()
    hub = changes.Changes(store, min_interval=0, routine_interval=60)
    store.apply("scan_started", {"scan_id": "a"})
    assert hub.refresh()
    for i in range(5):  # progress, metrics, a medium finding: routine, they wait
        store.apply("scan_progress", {"scan_id": "a", "progress": i})
    store.apply("vulnerability_found", {"scan_id": "a", "title": "m", "severity": "medium"})
    assert not hub.refresh() and hub.total(("findings",)) == 0
    store.apply("vulnerability_found", {"scan_id": "a", "title": "h", "severity": "high"})  # at once
    assert hub.refresh()
    assert hub.total(("findings",)) == 2 and hub.total(("scan:a",)) == 8  # the waiting ones came along
    store.apply("scan_progress", {"scan_id": "a", "progress": 9})
    assert not hub.refresh()
    store.apply("notification", {"message": "hello"})
    assert hub.refresh() and hub.total(("notifications",)) == 1
    # The notice reruns the areas of its kinds only: an area of scans (the Dashboard's cards, the
    # costly one) still waits for the routine interval instead of rerunning with every notice.
    assert hub.total(("scans",)) == 8 and hub.total(("scan:a",)) == 8
    assert 0 < hub.pending() <= 60
    hub.routine_interval = 0
    assert hub.refresh() and hub.total(("scans",)) == 9 and hub.total(("scan:a",)) == 9
    assert hub.pending() is None and not hub.refresh()


def test_a_routine_release_does_not_hold_back_the_next_notice():
    """Notices are spaced by min_interval among themselves only: a routine release just before a
    notification held it back up to 200 ms (most of the 1-tab bench's slow samples)."""
    store = EventStore()
    hub = changes.Changes(store, min_interval=60, routine_interval=0)
    store.apply("scan_progress", {"scan_id": "a", "progress": 1})
    assert hub.refresh() and hub.total(("scan:a",)) == 1  # routine, released at once (interval 0)
    store.apply("notification", {"message": "right after"})
    assert hub.refresh() and hub.total(("notifications",)) == 1  # told now, not 60 s later
    store.apply("notification", {"message": "the next"})
    assert not hub.refresh() and 0 < hub.due() <= 60  # notices among themselves: spaced


def test_the_watcher_looks_only_when_the_store_changes_and_still_brings_what_it_held_back():
    """Idle tabs cost the process nothing (issue 21): no look at the store on a timer. A change
    held back by `min_interval` still comes once the interval is over, with no change after it."""
    store = EventStore()
    feed = feed_of(store, min_interval=0.3)
    looks = []
    refresh = feed.changes.refresh
    feed.changes.refresh = lambda: looks.append(1) or refresh()

    async def scenario():
        ws, task = await watching_scans(feed)
        store.apply("scan_started", {"scan_id": "a"})
        assert await ws.next() == {"key": "scans", "version": 1}
        store.apply("scan_started", {"scan_id": "b"})  # within min_interval: held back
        loop = asyncio.get_running_loop()
        held = loop.time()
        assert await ws.next() == {"key": "scans", "version": 2}
        assert 0.15 < loop.time() - held < 1.0
        looks.clear()
        await asyncio.sleep(0.5)  # nothing changes
        assert len(looks) <= 1 and ws.told.empty()
        ws.inbox.put_nowait(None)
        await task
        await feed.stop()

    asyncio.run(scenario())


def test_a_flood_of_progress_costs_the_watcher_one_look_per_look_interval_not_one_per_event():
    """Each look reads the store's new log records. Routine changes wait without advancing anything,
    so nothing else spaces the looks out: the watcher itself does."""
    store = EventStore()
    store.apply("scan_started", {"scan_id": "a"})
    feed = feed_of(store, min_interval=0.2)
    looks = []
    refresh = feed.changes.refresh
    feed.changes.refresh = lambda: looks.append(1) or refresh()

    def flood(seconds):
        end, i = time.monotonic() + seconds, 0
        while time.monotonic() < end:
            store.apply("scan_progress", {"scan_id": "a", "progress": i % 100})
            i += 1
            time.sleep(0.0005)
        return i

    async def scenario():
        ws, task = await watching_scans(feed)
        await asyncio.sleep(0.1)
        looks.clear()
        events = await asyncio.to_thread(flood, 0.5)
        assert events > 100 and len(looks) <= 0.5 / LOOK + 3
        ws.inbox.put_nowait(None)
        await task
        await feed.stop()

    asyncio.run(scenario())


def test_counters_of_scans_the_store_dropped_go_without_any_total_shrinking():
    """A counter per scan ever seen grew without bound over months of scans."""
    from realtime.options import StoreOptions

    store = EventStore(StoreOptions(max_scans=5))
    hub = changes.Changes(store, min_interval=0)
    store.apply("scan_started", {"scan_id": "kept"})
    readers = [("scan:kept",), ("scan:s0",), ("scan:kept", "notifications")]
    seen = totals(hub, *readers)
    for i in range(400):
        store.apply("scan_started", {"scan_id": f"s{i}"})
        store.apply("scan_completed", {"scan_id": f"s{i}"})  # finished: the store drops these first
        hub.refresh()
        now = totals(hub, *readers)
        assert all(b >= a for a, b in zip(seen, now)), (i, seen, now)
        seen = now
    assert len(hub._counts) < 2 * 5 + 64 + 10  # about the scans held, not the 401 seen
    before = hub.total(("scan:kept",))
    store.apply("scan_progress", {"scan_id": "kept", "progress": 50})
    hub.refresh()
    assert hub.total(("scan:kept",)) == before + 1  # a scan still held is still told of
    assert "scan:kept" in hub._counts  # (its counter kept: had it gone, the sum above would not show it)


def test_a_change_of_what_the_connection_panel_says_is_urgent_and_nothing_else_is():
    """The tab reruns an area told `urgent` without resting first (changes.js's REST): the panel
    (connected, why not, the attempt, the gateway's stream) must not lag; a new scan must wait.
    What the panel said is the render's (the watch comes later): a change in between is urgent."""
    store = EventStore()
    feed = feed_of(store)

    async def scenario():
        tab = FakeSocket()
        task = asyncio.create_task(feed.socket(tab))
        assert await tab.next() == {"hello": 1}
        panel, plain = ["connection", changes.OTHER], ["scans", changes.OTHER]
        tab.inbox.put_nowait(watch(feed, "sidebar", panel, feed.total(panel), panel=feed.panel()))
        tab.inbox.put_nowait(watch(feed, "scans", plain, feed.total(plain)))
        await asyncio.sleep(0.05)
        store.apply("scan_started", {"scan_id": "s1"})
        assert (await tab.next())["key"] == "scans" and tab.told.empty()  # not the panel's
        lost = ConnectionState(connected=False, reason="transport close", attempts=1)
        store.set_connection(lost, log="disconnected: transport close")
        told = {m["key"]: m for m in (await tab.next(), await tab.next())}  # (a change no event explains: both)
        assert told["sidebar"].get("urgent") == 1 and "urgent" not in told["scans"]
        store.set_connection(replace(lost, queued=3))  # the panel says the same
        assert "urgent" not in await tab.next() and "urgent" not in await tab.next()
        store.set_connection(replace(lost, stream={"ok": False, "since": 1.0, "error": "redis down"}))
        told = {m["key"]: m.get("urgent") for m in (await tab.next(), await tab.next())}
        assert told == {"sidebar": 1, "scans": None}
        tab.inbox.put_nowait(json.dumps({"drop": "sidebar"}))  # a rerun draws the area anew:
        await asyncio.sleep(0.05)
        drawn, since = feed.panel(), feed.total(panel)  # its render reads the store...
        store.set_connection(replace(lost, attempts=2), log="disconnected: transport close")
        assert "urgent" not in await tab.next()  # (the scans area)
        tab.inbox.put_nowait(watch(feed, "sidebar", panel, since, panel=drawn))  # ...its watch comes after
        assert await tab.next() == {"key": "sidebar", "version": feed.total(panel), "urgent": 1}
        tab.inbox.put_nowait(None)
        await task
        await feed.stop()

    asyncio.run(scenario())

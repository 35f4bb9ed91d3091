"""The change socket: `ws(s)://…/_bughunt/changes` (served by app.py's `st.App`). A tab opens ONE
(realtime/changes.js keeps one per window, shared by all its live areas): a WebSocket is not one
of the browser's six HTTP connections per host, so any number of tabs and areas can wait at once.

The tab sends `{"watch": key, "ticket": …, "since": N}` for each live area it shows (again with
each render of the area) and `{"drop": key}` when an area goes; the socket answers
`{"key": key, "version": M}` once the kinds the area's ticket names have changed past N, and
`{"key": key, "error": why}` for a ticket it refuses (that area polls until its next render),
`{"key": key, "renew": 1}` when the ticket of an area quiet for long expired (it reruns for a
fresh one).
An area that lists the newest notifications adds `"after": L` to its watch (the event log position
its render shows them up to); when its ticket lets it hear of notifications, its answers then carry
`"notices"`: the notifications the store took in since, newest first (`PREVIEWS` at most, as
bounded one-line text), which the tab shows at once, before the rerun that draws them as the page
does (a notice is on screen in milliseconds where a rerun of ten busy tabs takes seconds). A new
notification is told at once, as `{"key": key, "notices": [...]}` while the change that reruns the
area waits (`BUGHUNT_PUSH_MIN_INTERVAL` after the last one): spacing the reruns need not delay it.
It says `{"hello": 1}` first, so a tab knows the route (not a proxy's stand-in) answers, and
`{"alive": 1}` when it has said nothing for `HOLD` seconds, under proxies' idle timeouts.

One watcher task per process looks at the store when it changes (the store wakes it) while any
tab is connected, and stops when none is: an idle dashboard costs nothing. Plain Starlette: no
Streamlit here."""
from __future__ import annotations

import asyncio
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from realtime import protocol
from realtime.changes import CONNECTION, NOTIFICATIONS, Changes, Tickets
from realtime.models import newest_records
from realtime.views.text import ago, one_line

PATH = "/_bughunt/changes"
HOLD = 25.0  # seconds of silence before a keep-alive: under the usual proxy idle timeouts (30-60 s)
MAX_SOCKETS = 10_000  # tabs connected at once; more are refused (close code 1013, try again later)
MAX_WATCHES = 64  # live areas per tab (a page has a handful)
LOOK = 0.02  # seconds at least between two looks at the store: a flood wakes the watcher per event
MAX_MESSAGE = 4096  # characters of one message from a tab (a ticket is a few hundred)
PREVIEWS = 5  # notifications one answer previews (the Dashboard lists the newest five)


@dataclass
class Watch:
    ticket: str
    kinds: list[str]
    since: int
    after: int | None = None  # previews: the log position up to which the area shows notifications
    panel: str | None = None  # an area showing the connection: what the panel said as last drawn or told


class Tab:
    """One connected tab: its areas' watches, and a flag raised when any may have news."""

    def __init__(self) -> None:
        self.watches: dict[str, Watch] = {}
        self.dirty = asyncio.Event()
        self.dirty.set()  # a first look: each watch's `since` may already be behind


class ChangeFeed:
    def __init__(self, hold: float = HOLD):
        self.hold = hold
        self.tickets = Tickets()
        self.changes: Changes | None = None
        self.tabs: set[Tab] = set()
        self._watcher: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._woken = False  # a wake is on its way to the watcher: the next needs no call of its own
        # (store, the log position the watcher looked for notifications up to, the position just
        # past the newest it found): kept with its store, as a store may be replaced meanwhile.
        self._notices: tuple[Any, int, int] = (None, 0, 0)

    def attach(self, store: Any, min_interval: float, routine_interval: float = 0.0) -> None:
        """Follow this store (the dashboard's runtime calls it when it builds one)."""
        self.changes = Changes(store, min_interval, routine_interval)
        store.listen(self.poke)
        self.poke()

    def poke(self) -> None:
        """Wake the watcher to look at the store (any thread; one wake covers any number)."""
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not self._woken:
            self._woken = True
            try:
                loop.call_soon_threadsafe(wake.set)
            except RuntimeError:
                pass  # its loop closed: the next tab's watcher starts afresh

    def total(self, kinds: Any) -> int:
        return self.changes.total(kinds) if self.changes is not None else 0

    async def socket(self, ws: WebSocket) -> None:
        """One tab's change socket, until it closes."""
        if len(self.tabs) >= MAX_SOCKETS:
            await ws.close(code=1013)  # full: the tab polls meanwhile
            return
        await ws.accept()
        tab = Tab()
        self.tabs.add(tab)
        self._watch()
        tasks = {asyncio.create_task(self._read(ws, tab)), asyncio.create_task(self._tell(ws, tab))}
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)  # the tab went, or a send failed
        finally:
            self.tabs.discard(tab)
            self.poke()  # the watcher stops once no tab is left
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _read(self, ws: WebSocket, tab: Tab) -> None:
        try:
            while True:
                text = await ws.receive_text()
                if (answer := self.take(tab, text)) is not None:
                    await ws.send_json(answer)
        except (WebSocketDisconnect, RuntimeError):
            pass  # the tab went (RuntimeError: a binary frame, or a receive after the close)

    def take(self, tab: Tab, text: str) -> dict | None:
        """Apply one message of a tab; an answer for it when it is refused."""
        try:
            message = json.loads(text) if len(text) <= MAX_MESSAGE else None
        except ValueError:
            message = None
        if not isinstance(message, dict):
            return {"error": f"not a JSON object of at most {MAX_MESSAGE} characters"}
        if isinstance(message.get("drop"), str):
            tab.watches.pop(message["drop"], None)
            return None
        key, ticket, since = message.get("watch"), message.get("ticket"), message.get("since")
        after, panel = message.get("after"), message.get("panel")
        if not isinstance(key, str) or not isinstance(ticket, str) or type(since) is not int or (
                after is not None and type(after) is not int) or (
                panel is not None and not (isinstance(panel, str) and len(panel) <= 64)):
            return {"error": "watch needs a key, a ticket, an integer since (and after, and panel, if any)"}
        kinds = self.tickets.check(ticket)
        if kinds is None:
            tab.watches.pop(key, None)
            return {"key": key, "error": "ticket invalid or expired: reload the page"}
        if key not in tab.watches and len(tab.watches) >= MAX_WATCHES:
            return {"key": key, "error": f"more than {MAX_WATCHES} live areas in one tab"}
        tab.watches[key] = Watch(ticket, kinds, since, after if NOTIFICATIONS in kinds else None,
                                 panel if CONNECTION in kinds else None)
        tab.dirty.set()
        return None

    async def _tell(self, ws: WebSocket, tab: Tab) -> None:
        await ws.send_json({"hello": 1})
        while True:
            try:
                async with asyncio.timeout(self.hold):  # (wait_for can swallow the cancel that ends the tab)
                    await tab.dirty.wait()
            except TimeoutError:
                await ws.send_json({"alive": 1})
                continue
            tab.dirty.clear()
            for message in self.news(tab):
                await ws.send_json(message)

    def news(self, tab: Tab) -> list[dict]:
        """What the tab's areas have not heard yet; an area whose ticket expired meanwhile is
        dropped (its next render brings a fresh one)."""
        out: list[dict] = []
        if self.changes is None:  # the dashboard is starting: its store comes with the first run
            return out
        for key, watch in list(tab.watches.items()):
            if self.tickets.check(watch.ticket) is None:
                del tab.watches[key]
                out.append({"key": key, "renew": 1})  # the area reruns for a fresh one
            elif (total := self.changes.total(watch.kinds)) != watch.since:
                watch.since = total
                out.append({"key": key, "version": total, **self._urgent(watch), **self._previews(watch)})
            elif self._behind(watch) and (previews := self._previews(watch)):
                out.append({"key": key, **previews})  # ahead of the change, which min_interval holds back
        return out

    def _urgent(self, watch: Watch) -> dict:
        """A change of what the connection panel says is urgent: the tab reruns the area without
        resting first (changes.js), as the panel must not say "Connected" for long after the link
        or the gateway's stream went."""
        if watch.panel is None:
            return {}
        told, watch.panel = watch.panel, self.panel()
        return {"urgent": 1} if watch.panel != told else {}

    def panel(self) -> str:
        """A fingerprint of what the connection panel says: connected or not, why, the attempt,
        whether one is under way, the gateway's stream (a page sends the one its render read)."""
        if self.changes is None:
            return ""
        state = self.changes.store.snapshot().connection  # (a render's, when no event came since: shared)
        said = repr((state.connected, state.reason, state.attempts, state.trying, state.stream))
        return hashlib.blake2s(said.encode(), digest_size=8).hexdigest()

    def _previews(self, watch: Watch) -> dict:
        """The notifications logged since the watch's `after` (which moves on past them)."""
        if watch.after is None:
            return {}
        snap = self.changes.store.snapshot()  # (only when an area is told: shared with its rerun)
        found, watch.after = notices(snap, watch.after), snap.logged
        return {"notices": found} if found else {}

    def _watch(self) -> None:
        if self._watcher is None or self._watcher.done():
            self._loop, self._wake, self._woken = asyncio.get_running_loop(), asyncio.Event(), False
            self._watcher = self._loop.create_task(self._run(), name="bughunt-changes")

    def sync(self) -> None:
        """Count what changed up to now (a render does, before it reads the store and the total
        it shows: else the watcher's later count would tell it of changes it already shows)."""
        if self.changes is not None and self.changes.refresh():
            self.poke()  # other tabs' areas may wait for what this run counted

    def touch(self, kind: str) -> None:
        """Tell the areas showing `kind` of a change the store does not hold (the watcher, woken,
        passes it on at once)."""
        if self.changes is not None:
            self.changes.touch(kind)
            self.poke()

    async def _run(self) -> None:
        told: tuple = ()
        loop, looked = asyncio.get_running_loop(), float("-inf")
        while self.tabs:
            if (gap := looked + LOOK - loop.time()) > 0:
                await asyncio.sleep(gap)  # a flood wakes it per event: 50 looks a second at most
            looked = loop.time()
            self._woken = False
            self._wake.clear()
            changes = self.changes  # None while the dashboard starts: its store comes with the first run
            wait = None
            if changes is not None:
                changes.refresh()
                noticed = self._notified(changes.store)  # (told at once: previews wait for no interval)
                if (changes, changes.advances) != told:  # advanced here or by a render's sync, or a new store
                    told = (changes, changes.advances)
                    for tab in self.tabs:
                        tab.dirty.set()
                elif noticed:  # only the tabs with an area that previews it
                    for tab in self.tabs:
                        if any(map(self._behind, tab.watches.values())):
                            tab.dirty.set()
                wait = changes.pending()  # changes held back (min_interval, routine): look again then
            try:
                async with asyncio.timeout(self.hold if wait is None else wait):
                    await self._wake.wait()
            except TimeoutError:
                pass

    def _notified(self, store: Any) -> bool:
        """Whether the store logged a notification since the last look (the areas previewing them
        are told at once, whatever holds the counters back). Runs on the watcher's loop only."""
        owner, read_to, noticed = self._notices
        if owner is not store:  # a new store: from where its log stands
            read_to = noticed = store.news(sys.maxsize).logged  # (no records)
        news = store.news(read_to)
        found = next((r.index + 1 for r in news.records if r.event == "notification"), None)  # newest first
        self._notices = (store, news.logged, found or noticed)
        return found is not None

    def _behind(self, watch: Watch) -> bool:
        """An area previewing notifications has not been told of the newest one logged."""
        owner, _, noticed = self._notices
        return watch.after is not None and owner is self.changes.store and watch.after < noticed

    async def stop(self) -> None:
        """Stop the watcher now (it also stops by itself once no tab is connected)."""
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)


def notices(snap: Any, after: int) -> list[dict]:
    """The notifications the store took in at or after log position `after` (newest first, the
    newest PREVIEWS at most): their position, type and text as one bounded line each (format
    characters shown), and how long ago they happened. A notification sent again is logged but
    not taken in (the store has it): it is not new, unless it is still among the newest."""
    newest = {n.id for n in snap.notifications[:PREVIEWS]}
    found, now = [], time.time()
    for record in newest_records(snap.events, after):
        if len(found) == PREVIEWS:
            break
        if record.event != "notification":
            continue
        try:
            ev = protocol.parse("notification", record.data)  # (a journal's records hold plain data)
        except protocol.InvalidEvent:
            continue  # (it was valid when applied: never, but a preview is not worth a closed socket)
        if ev.notification_id() in newest:
            found.append({"at": record.index, "type": ev.type, "title": one_line(ev.title or ""),
                          "message": one_line(ev.message), "ago": ago(now - ev.epoch(record.at))})
    return found


FEED = ChangeFeed()  # the process's feed: app.py routes to it, the runtime attaches its store

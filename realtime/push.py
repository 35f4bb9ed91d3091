"""The change route: `GET /_bughunt/changes?ticket=…&since=N` (served by app.py's `st.App`) answers
`{"version": M}` as soon as the ticket's kinds have changed past N, or after `HOLD` seconds with
the same N (a long poll: it passes proxies that would buffer a stream). A tab's live areas wait
on it and rerun when it answers with a newer version (realtime/live.py).

One watcher task per process looks at the store every `TICK` while anyone waits, and stops when
nobody does. Plain Starlette: no Streamlit here."""
from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from realtime.changes import Changes, Tickets

PATH = "/_bughunt/changes"
HOLD = 25.0  # seconds a poll is held open: under the usual proxy idle timeouts (30-60 s)
TICK = 0.02  # seconds between looks at the store's version while someone waits
NO_STORE = {"Cache-Control": "no-store"}


class ChangeFeed:
    def __init__(self, hold: float = HOLD, tick: float = TICK):
        self.hold, self.tick = hold, tick
        self.tickets = Tickets()
        self.changes: Changes | None = None
        self._moved = asyncio.Event()
        self._waiting = 0
        self._watcher: asyncio.Task | None = None

    def attach(self, store: Any, min_interval: float) -> None:
        """Follow this store (the dashboard's runtime calls it when it builds one)."""
        self.changes = Changes(store, min_interval)

    def total(self, kinds: Any) -> int:
        return self.changes.total(kinds) if self.changes is not None else 0

    async def endpoint(self, request: Request) -> JSONResponse:
        kinds = self.tickets.check(request.query_params.get("ticket", ""))
        if kinds is None:
            return refuse(403, "ticket missing, invalid or expired: reload the page")
        try:
            since = int(request.query_params.get("since", "-1"))
        except ValueError:
            return refuse(400, "since must be an integer")
        if self.changes is None:
            return refuse(503, "the dashboard is starting")
        return JSONResponse({"version": await self.wait(kinds, since)}, headers=NO_STORE)

    async def wait(self, kinds: list[str], since: int) -> int:
        """The kinds' total once it differs from `since`, or after `hold` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.hold
        self._waiting += 1
        try:
            self._watch()
            while (total := self.changes.total(kinds)) == since and loop.time() < deadline:
                try:
                    await asyncio.wait_for(self._moved.wait(), deadline - loop.time())
                except TimeoutError:
                    pass
            return total
        finally:
            self._waiting -= 1

    def _watch(self) -> None:
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.get_running_loop().create_task(self._run(), name="bughunt-changes")

    async def _run(self) -> None:
        while self._waiting:
            if self.changes.refresh():
                moved, self._moved = self._moved, asyncio.Event()
                moved.set()  # every waiter re-reads its total
            await asyncio.sleep(self.tick)

    async def stop(self) -> None:
        """Stop the watcher now (it also stops by itself once nobody waits)."""
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)


def refuse(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"error": reason}, status_code=status, headers=NO_STORE)


FEED = ChangeFeed()  # the process's feed: app.py routes to it, the runtime attaches its store

"""The client's inbox: received events, handed on in arrival order. An event after a quiet spell
goes at once; the events of a burst wait up to `COALESCE` seconds to go together: one run through
the store's code, its data still in the CPU's caches, takes ~10 % more events a second under a
flood (bench/README.md, "ingest"). Used on the client's loop only."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("bughunt.client")

COALESCE = 0.005  # seconds a flood's event may wait for the ones after it: far under a screen's rerun


class Inbox:
    def __init__(self, take: Callable[[str, tuple], None]):
        self.take = take
        self._events: list[tuple[str, tuple]] = []
        self._handed_at = float("-inf")  # loop time of the last hand-over

    def put(self, event: str, args: tuple) -> None:
        if not self._events:
            loop = asyncio.get_running_loop()
            if loop.time() - self._handed_at < COALESCE:  # a burst: the next events come with this one
                loop.call_later(COALESCE, self.flush)
            else:
                loop.call_soon(self.flush)
        self._events.append((event, args))

    def flush(self) -> None:
        """Hand on everything received so far (the timer then finds nothing left)."""
        events, self._events = self._events, []
        self._handed_at = asyncio.get_running_loop().time()
        for event, args in events:
            try:
                self.take(event, args)
            except Exception:  # noqa: BLE001 - as each event went alone: one failing loses no other
                log.exception("applying a received %s failed", event)

    def after(self, answer: Callable[..., Any]) -> Callable[..., Any]:
        """`answer` (the gateway's reply to a request), called once what came before the reply is
        handed on: a page that asked then reads the store as the gateway left it."""
        def answered(*args: Any) -> Any:
            self.flush()
            return answer(*args)
        return answered

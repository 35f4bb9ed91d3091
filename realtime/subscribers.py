"""Subscribers: the handlers a RealtimeClient calls for each event, `'*'` ones for every event."""
from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("bughunt.client")

Handler = Callable[..., Any]


class Subscribers:
    """Subscribe from any thread; handlers run on the client's loop, one failing never stops the
    others. Handler tuples are replaced, never changed, so dispatch reads them without a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._handlers: dict[str, tuple[Handler, ...]] = {}

    def on(self, event: str, handler: Handler) -> Callable[[], None]:
        """Subscribe; `'*'` handlers get (event, data). Returns the unsubscribe function."""
        with self._lock:
            self._handlers[event] = self._handlers.get(event, ()) + (handler,)

        def unsubscribe() -> None:
            with self._lock:
                handlers = list(self._handlers.get(event, ()))
                if handler in handlers:
                    handlers.remove(handler)
                    self._handlers[event] = tuple(handlers)

        return unsubscribe

    def wanted(self, event: str) -> bool:
        """Whether anyone listens to `event` (so its payload is worth preparing)."""
        return bool(self._handlers.get(event) or self._handlers.get("*"))

    def dispatch(self, event: str, data: Any) -> None:
        for handler in self._handlers.get(event, ()):
            _run(handler, event, data)
        for handler in self._handlers.get("*", ()):
            _run(handler, event, data, star=True)


def _run(handler: Handler, event: str, data: Any, star: bool = False) -> None:
    try:
        result = handler(event, data) if star else handler(data)
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            task.add_done_callback(lambda t: t.cancelled() or t.exception() and log.error(
                "handler for %s failed", event, exc_info=t.exception()))
    except Exception:  # noqa: BLE001 - one bad handler must not stop the stream
        log.exception("handler for %s failed", event)

"""Room leases: join a room while any viewer looks at it, leave when none has for a while.

Browser sessions end without a hook, so a page renews a lease on every tick instead, and a lease
nobody renewed for `ttl` seconds expires and leaves the room.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RoomLeases:
    def __init__(self, join: Callable[[str], None], leave: Callable[[str], None], ttl: float):
        self._join, self._leave, self.ttl = join, leave, ttl
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._janitor: threading.Thread | None = None

    def renew(self, room: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            new = room not in self._expiry
            self._expiry[room] = now + self.ttl
        if new:
            self._join(room)
        self.expire(now)

    def expire(self, now: float | None = None) -> list[str]:
        now = time.monotonic() if now is None else now
        with self._lock:
            gone = [room for room, until in self._expiry.items() if until <= now]
            for room in gone:
                del self._expiry[room]
        for room in gone:
            self._leave(room)
        return gone

    def start(self) -> RoomLeases:
        """Expire leases in the background too (the janitor), so rooms are left even when no tab
        is open; `stop()` ends it."""
        if self._janitor is None:
            self._stopped.clear()
            self._janitor = threading.Thread(target=self._sweep, name="room-leases", daemon=True)
            self._janitor.start()
        return self

    def stop(self) -> None:
        janitor, self._janitor = self._janitor, None
        if janitor is not None:
            self._stopped.set()
            janitor.join(5)

    def _sweep(self) -> None:
        while not self._stopped.wait(self.ttl / 2):
            self.expire()

    @property
    def rooms(self) -> list[str]:
        with self._lock:
            return sorted(self._expiry)

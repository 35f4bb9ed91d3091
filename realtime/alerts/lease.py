"""One active alert worker at a time: a lease renewed while it runs, taken over by a standby
once the holder stops renewing. In the worker's SQLite file (workers on one host sharing it) or
in Redis (`SET NX PX`, workers on several hosts). Senders check `held()` before every send, so
a worker that lost its lease (paused, cut off) stops sending before another one starts."""
from __future__ import annotations

import os
import socket
import sqlite3
import time
import uuid

from realtime.alerts.state import transaction

RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0
"""
RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


class Lease:
    def __init__(self, ttl: float):
        self.ttl = ttl
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._until = 0.0  # monotonic time our lease surely lasts until

    def held(self) -> bool:
        return time.monotonic() < self._until

    def acquire(self) -> bool:
        """Take the lease or renew ours; False while another worker holds it."""
        started = time.monotonic()
        ok = self._take()
        # Safety margin: count from before the request, and stop a little early.
        self._until = started + self.ttl * 0.8 if ok else 0.0
        return ok

    def _take(self) -> bool:
        raise NotImplementedError

    def release(self) -> None:
        self._until = 0.0


class SqliteLease(Lease):
    def __init__(self, db: sqlite3.Connection, ttl: float, name: str = "alerts"):
        super().__init__(ttl)
        self.db, self.name = db, name

    def _take(self) -> bool:
        now = time.time()
        with transaction(self.db):
            row = self.db.execute("SELECT owner, until FROM lease WHERE name = ?", (self.name,)).fetchone()
            if row and row[0] != self.owner and row[1] > now:
                return False
            self.db.execute("INSERT OR REPLACE INTO lease (name, owner, until) VALUES (?, ?, ?)",
                            (self.name, self.owner, now + self.ttl))
        return True

    def release(self) -> None:
        super().release()
        self.db.execute("DELETE FROM lease WHERE name = ? AND owner = ?", (self.name, self.owner))


class RedisLease(Lease):
    def __init__(self, url: str, ttl: float, key: str = "bughunt:alerts:lease"):
        import redis

        super().__init__(ttl)
        self.redis, self.key = redis.Redis.from_url(url, socket_timeout=max(1.0, ttl / 4)), key

    def _take(self) -> bool:
        try:
            return bool(self.redis.eval(RENEW, 1, self.key, self.owner, int(self.ttl * 1000)))
        except Exception:  # noqa: BLE001 - Redis unreachable: we cannot know, so we do not hold it
            return False

    def release(self) -> None:
        super().release()
        try:
            self.redis.eval(RELEASE, 1, self.key, self.owner)
        except Exception:  # noqa: BLE001 - it expires on its own
            pass

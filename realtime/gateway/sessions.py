"""Sessions and limits: what the gateway knows of each socket, connections per address, and the
rate buckets of sockets and producers. No I/O: the Socket.IO handlers and the HTTP API act on
what these say."""
from __future__ import annotations

import dataclasses

from realtime.auth import Identity
from realtime.gateway.limits import TokenBucket
from realtime.options import GatewayOptions


@dataclasses.dataclass
class Session:
    """What the gateway knows of one socket."""

    identity: Identity
    ip: str
    bucket: TokenBucket
    replay_bucket: TokenBucket  # events its resumes may replay (realtime.gateway.replay)
    rooms: set[str] = dataclasses.field(default_factory=set)
    refusals: int = 0
    forged: bool = False  # sent a connect/disconnect event of its own (logged once)
    stalled_since: float | None = None  # monotonic time since which it leaves its replay unread
    check_sent: float | None = None  # when the outstanding backlog_check went out (monotonic)
    asked: float = float("-inf")  # when the last backlog_check went out (monotonic)
    confirmed: int = 0  # the stream's emitted count when the last answered backlog_check went out


@dataclasses.dataclass
class Admission:
    """The answer to one socket message: go on (`refusal` None), or refuse it; `abuse`: the
    socket kept going past its limit and is to be disconnected."""

    session: Session | None
    refusal: dict | None = None
    abuse: bool = False


class Sessions:
    def __init__(self, options: GatewayOptions):
        self.options = options
        self._by_sid: dict[str, Session] = {}
        self._per_ip: dict[str, int] = {}
        self._publish_buckets: dict[str, TokenBucket] = {}

    def __len__(self) -> int:
        return len(self._by_sid)

    def __contains__(self, sid: str) -> bool:
        return sid in self._by_sid

    def sids(self) -> list[str]:
        return list(self._by_sid)

    def get(self, sid: str) -> Session | None:
        return self._by_sid.get(sid)

    def full(self, ip: str) -> str | None:
        """Why another socket from `ip` is refused, or None."""
        if self._per_ip.get(ip, 0) >= self.options.max_connections_per_ip:
            return f"too many connections from {ip}"
        return None

    def open(self, sid: str, identity: Identity, ip: str, emitted: int = 0) -> Session:
        """A new socket; `emitted`: the stream's emitted count now (its backlog starts there)."""
        self._per_ip[ip] = self._per_ip.get(ip, 0) + 1
        options = self.options
        session = Session(identity, ip, TokenBucket(options.socket_rate, options.socket_burst),
                          TokenBucket(options.replay_rate, options.replay_rate), confirmed=emitted)
        self._by_sid[sid] = session
        return session

    def close(self, sid: str) -> Session | None:
        session = self._by_sid.pop(sid, None)
        if session is not None:
            self._per_ip[session.ip] -= 1
            if not self._per_ip[session.ip]:
                del self._per_ip[session.ip]
        return session

    def admit(self, sid: str) -> Admission:
        """Rate-limit one socket message."""
        session = self._by_sid.get(sid)
        if session is None:
            return Admission(None, {"ok": False, "error": "not connected"})
        if session.bucket.take():
            return Admission(session)
        session.refusals += 1
        refusal = {"ok": False, "error": f"rate limit: at most {self.options.socket_rate:g} messages/s"}
        return Admission(session, refusal, abuse=session.refusals >= self.options.socket_burst)

    def room_limit(self, session: Session, adding: set[str] = frozenset()) -> str | None:
        """Why `session` may not join a room (or all of `adding`), or None."""
        limit = self.options.max_rooms_per_socket
        joined = len(session.rooms | adding) if adding else len(session.rooms) + 1
        return f"at most {limit} rooms per connection" if joined > limit else None

    def may_publish(self, producer: str, events: int) -> bool:
        """Take `events` from the producer's bucket (rates are per producer)."""
        bucket = self._publish_buckets.get(producer)
        if bucket is None:
            bucket = self._publish_buckets[producer] = TokenBucket(self.options.publish_rate,
                                                                   self.options.publish_burst)
        return bucket.take(events)

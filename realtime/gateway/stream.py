"""The event stream: one ordered, seq-stamped sequence of events per gateway (or per Redis).

`Stream` is the interface the rest of the gateway sees; `LocalStream` (realtime.gateway.local_stream)
and `RedisStream` (realtime.gateway.redis_stream) implement it. Whatever the implementation, an event
is delivered the same way (`Stream.deliver`): validated again, given its `seq`, applied to the
gateway's own store, remembered for resumes, and sent to its rooms. Delivery and a slice of a
resume's replay never interleave: both run under `Stream.held()` (realtime.gateway.replay).
"""
from __future__ import annotations

import abc
import asyncio
import bisect
import itertools
import logging
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, NamedTuple

from realtime import protocol, stream_health
from realtime.options import GatewayOptions
from realtime.store import EventStore

log = logging.getLogger("bughunt.gateway")

Send = Callable[..., Awaitable[Any]]  # socketio.AsyncServer.emit: send(event, data, to=rooms)
Rooms = str | list[str]


class StreamUnavailable(Exception):
    """The stream cannot take events now (Redis down, its epoch changing): answer 503, retry later."""


class Sent(NamedTuple):
    """One event of the replay buffer."""

    seq: int
    event: str
    data: dict
    rooms: frozenset[str]
    at: float


def audience(event: str, parsed: protocol.Event) -> Rooms:
    """Rooms an event goes to, in one emit so each client gets it once."""
    if isinstance(parsed, protocol.Notification):
        if parsed.user_id:
            return f"user_{parsed.user_id}"  # private: never to `all`
        return ["all", f"scan_{parsed.scan_id}"] if parsed.scan_id else "all"
    if isinstance(parsed, protocol.MetricsUpdate):
        return "all"
    return ["all", f"scan_{parsed.scan_id}"]


def room_set(rooms: Rooms) -> frozenset[str]:
    return frozenset([rooms] if isinstance(rooms, str) else rooms)


class ReplayBuffer:
    """The last events of the stream, by count and by age, for clients that resume."""

    def __init__(self, events: int, seconds: float):
        self.seconds = seconds
        self._sent: deque[Sent] = deque(maxlen=events)

    def __len__(self) -> int:
        return len(self._sent)

    def append(self, sent: Sent) -> None:
        self._sent.append(sent)

    def clear(self) -> None:
        self._sent.clear()

    def first_seq(self, default: int) -> int:
        """The oldest seq still resumable (expired events dropped first), or `default`."""
        cutoff = time.time() - self.seconds
        while self._sent and self._sent[0].at < cutoff:
            self._sent.popleft()
        return self._sent[0].seq if self._sent else default

    def after(self, since: int, rooms: Iterable[str], limit: int | None = None) -> list[Sent]:
        """Up to `limit` events after `since` for `rooms`, oldest first (seqs only grow, so the
        start is found by bisection rather than by a scan)."""
        rooms = set(rooms)
        start = bisect.bisect_right(self._sent, since, key=lambda s: s.seq)
        matching = (s for s in itertools.islice(self._sent, start, None) if s.rooms & rooms)
        return list(itertools.islice(matching, limit))


class AcceptedKeys:
    """Idempotency keys of accepted batches, each kept `seconds` (and at most `limit` of them):
    a batch sent again under its key within that time is answered without being put again."""

    def __init__(self, seconds: float, limit: int = 100_000):
        self.seconds, self.limit = seconds, limit
        self._at: OrderedDict[str, float] = OrderedDict()

    def __contains__(self, key: str) -> bool:
        return key in self._at

    def add(self, key: str, at: float) -> None:
        self._at[key] = at
        self._at.move_to_end(key)

    def expire(self, now: float) -> list[str]:
        """Forget keys past their time (or over the limit); returns them."""
        gone = []
        while self._at and (len(self._at) > self.limit or next(iter(self._at.values())) < now - self.seconds):
            gone.append(self._at.popitem(last=False)[0])
        return gone


class Stream(abc.ABC):
    """One ordered stream. `start()`/`stop()` run in the gateway's event loop; the constructor
    starts nothing and opens nothing."""

    mode = "local"

    def __init__(self, options: GatewayOptions, store: EventStore, send: Send):
        self.options, self.store, self.send = options, store, send
        self.epoch = uuid.uuid4().hex[:12]  # this stream; a restart without its state starts another
        self.emitted = 0
        self.replay = ReplayBuffer(options.replay_events, options.replay_seconds)
        self._gate = asyncio.Lock()  # delivery and a resume's replay never interleave
        self.down: tuple[float, str] | None = None  # since when and why the stream cannot take events
        self.up_since = time.time()
        self.on_health: Callable[[dict], Awaitable[None]] | None = None  # set by the server: tell every socket

    @property
    def last_seq(self) -> int:
        return self.store.stream[1] or 0

    def health(self) -> dict:
        """What clients are told of the stream (realtime.stream_health)."""
        return stream_health.health(self.down, self.up_since)

    async def mark(self, down: str | None) -> None:
        """The stream cannot take events now because of `down` (None: it can again); clients are
        told when that changes."""
        if (down is None) == (self.down is None):
            return
        if down is None:
            self.down, self.up_since = None, time.time()
        else:
            self.down = (time.time(), down)
        log.warning("stream %s", f"down: {down}" if down else "back: events can be taken again")
        if self.on_health is not None:
            try:
                await self.on_health(self.health())
            except Exception:  # noqa: BLE001 - telling clients must not stop the stream
                log.exception("telling clients the stream's status failed")

    @abc.abstractmethod
    async def start(self) -> None: ...

    @abc.abstractmethod
    async def stop(self) -> None: ...

    @abc.abstractmethod
    async def submit(self, event: str, wire: dict) -> Awaitable[None]:
        """Put a validated event (`protocol.wire`) on the stream, in order. Waits while the stream
        is full; the returned awaitable completes once the event is durable and sent (locally)
        or published (Redis)."""

    async def submit_batch(self, items: list[tuple[str, dict]], key: str | None = None) -> Awaitable[None]:
        """Put a producer's batch on the stream; `key` (its idempotency key): a batch whose key
        was accepted before is not put again. Raises StreamUnavailable when it cannot now."""
        pending = [await self.submit(event, wire) for event, wire in items]
        return asyncio.gather(*pending)

    def stamped(self, event: str, wire: dict) -> dict:
        """`wire` stamped by this gateway's finding registry (`self.registry`); unstamped if that fails."""
        try:
            return self.registry.stamp(event, wire)
        except Exception:  # noqa: BLE001 - a finding without its history beats a stopped stream
            log.exception("stamping %s failed", event)
            return wire

    async def finding(self, fp: str) -> tuple[str, list | None] | None:
        """The scan a fingerprint was last seen in and [title, severity, url] there; None: unknown."""
        return self.registry.lookup(fp)

    async def scan_diff(self, scan_id: str) -> dict | None:
        """A scan against the previous completed scan of its target (None: unknown scan)."""
        return self.registry.diff(scan_id)

    async def lease(self, name: str, seconds: float) -> bool:
        """Whether this gateway speaks for the stream about `name` for the next `seconds` (with
        several gateways only one does, e.g. metrics)."""
        return True

    def held(self) -> asyncio.Lock:
        """Held while a resume replays one slice (and joins its rooms): live delivery waits meanwhile."""
        return self._gate

    async def missed(self, epoch: str | None, since: int | None, rooms: Iterable[str],
                     limit: int | None = None) -> list[Sent] | str:
        """What a client at `since` on `epoch` missed in `rooms` (the first `limit` events), or
        why it cannot be replayed. Call it while holding `held()`."""
        last = self.last_seq
        if since is None:
            return "no stream position yet"
        if epoch != self.epoch:
            return "the gateway restarted without its state: a new stream"
        if since > last:
            return "ahead of this stream"
        if since + 1 < self.replay.first_seq(default=last + 1):
            return "the missed events are older than the replay buffer"
        return self.replay.after(since, rooms, limit)

    def deliver(self, event: str, data: Any, seq: int) -> tuple[dict, Rooms] | None:
        """Stamp `seq`, apply to our store, remember for resumes, and say where the event goes
        (None: dropped). Called in stream order; data from Redis is untrusted like any other,
        so it is validated again."""
        try:
            parsed = protocol.parse(event, data)
        except protocol.InvalidEvent as exc:
            log.warning("dropped %s from the stream: %s", protocol.preview(event, 80), exc.reason)
            self.store.apply(event, data)  # lands in the rejected list
            return None
        parsed = parsed.model_copy(update={"seq": seq})
        self.store.apply_parsed(event, parsed)
        wire = parsed.model_dump(exclude_none=True, mode="json")
        self.emitted += 1
        rooms = audience(event, parsed)
        self.replay.append(Sent(seq, event, wire, room_set(rooms), time.time()))
        return wire, rooms

    async def emit(self, event: str, wire: dict, rooms: Rooms) -> None:
        try:
            await self.send(event, wire, to=rooms)
        except Exception:  # noqa: BLE001 - one failed emit must not stop the stream
            log.exception("emit of %s failed", event)


async def periodically(seconds: float, tick: Callable[[], Awaitable[Any]], what: str) -> None:
    """Run `tick()` every `seconds` until cancelled; a failed round is logged and the next tries again."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await tick()
        except StreamUnavailable as exc:  # e.g. Redis restarting: expected, said without a traceback
            log.warning("%s skipped: %s", what, exc)
        except Exception:  # noqa: BLE001 - one failed round must not end the loop
            log.exception("%s failed", what)


async def stop_task(task: asyncio.Task | None) -> None:
    """Cancel a background task and wait until it has ended."""
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

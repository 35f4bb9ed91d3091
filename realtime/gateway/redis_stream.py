"""RedisStream: one stream shared by every gateway, kept in a Redis Stream (XADD/XREAD/XRANGE).

Pub/sub loses what is published while nobody listens; a Redis Stream keeps it. An event takes its
`seq` in the same atomic step that appends it (a Lua script: check the epoch, INCR, XADD with the
id `<seq>-1`), and every gateway, the sender included, delivers it when its reader (XREAD BLOCK
from the last id it delivered) brings it. So every client on every gateway sees seq strictly
increasing, and a gateway that re-connects to Redis continues exactly where it stopped.

The stream's identity is its epoch, kept in Redis beside the counter. The script refuses to append
unless the epoch the gateway follows is still Redis's: a Redis that lost its data (no epoch key,
or a counter below what a gateway delivered) gets a new epoch at once, every gateway switches to
it and disconnects its sockets, and every client resyncs from `/api/state`: never a silent drop.

External producers use `RedisEmitter` write-only:

    emitter = RedisEmitter("redis://127.0.0.1:6379/0")
    await emitter.emit("scan_progress", {"scan_id": "42", "progress": 40})
"""
from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from redis import asyncio as aioredis
from redis.exceptions import RedisError

from realtime import protocol
from realtime.gateway.shared_registry import SharedRegistry
from realtime.gateway.stream import Rooms, Stream, StreamUnavailable, stop_task

log = logging.getLogger("bughunt.gateway")

# KEYS: epoch, seq, stream, idempotency key (or ""). ARGV: epoch, maxlen, key ttl, messages...
# Returns the last seq appended, 0 for a batch whose key was accepted already, -1 for another epoch.
APPEND_SCRIPT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
if KEYS[4] ~= '' and not redis.call('SET', KEYS[4], '1', 'NX', 'EX', ARGV[3]) then return 0 end
local seq = 0
for i = 4, #ARGV do
  seq = redis.call('INCR', KEYS[2])
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], seq .. '-1', 'm', ARGV[i])
end
return seq
"""
# A new epoch when the one a gateway followed (ARGV[1]) is gone or still current but broken
# (its counter behind what was delivered): the seq counter and the stream start afresh.
RENEW_SCRIPT = """
local epoch = redis.call('GET', KEYS[1])
if epoch and epoch ~= ARGV[1] then return epoch end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('DEL', KEYS[2], KEYS[3])
return ARGV[2]
"""
RETRY_MAX = 5.0  # seconds between attempts to reach Redis again
BLOCK_MS = 1000  # an idle reader checks the epoch this often


def unreachable(exc: BaseException) -> str:
    return f"redis is unreachable ({type(exc).__name__})"


def message(event: str, wire: dict) -> str:
    return json.dumps({"event": event, "data": [wire]})


class RedisEmitter:
    """Appends events to the shared stream. Opens its connection at the first emit."""

    def __init__(self, url: str, channel: str = "bughunt", maxlen: int = 100_000, key_seconds: float = 600.0):
        self.channel, self.maxlen, self.key_seconds = channel, maxlen, key_seconds
        self.redis = aioredis.Redis.from_url(url)
        self._append = self.redis.register_script(APPEND_SCRIPT)
        self._renew = self.redis.register_script(RENEW_SCRIPT)

    def key(self, name: str) -> str:
        return f"{self.channel}:{name}"

    @property
    def keys(self) -> list[str]:
        return [self.key("epoch"), self.key("seq"), self.key("stream")]

    async def epoch(self) -> str:
        """The stream's epoch (a new one when Redis holds none)."""
        current = await self.redis.get(self.key("epoch"))
        return current.decode() if current else await self.renew(None)

    async def renew(self, lost: str | None) -> str:
        """Replace the epoch `lost` (None: none exists) with a new one; returns the current one."""
        fresh = uuid.uuid4().hex[:12]
        current = await self._renew(keys=self.keys, args=[lost or "", fresh])
        if current.decode() == fresh:
            log.warning("redis stream: new epoch %s (the stream %s was lost)", fresh, lost or "-")
        return current.decode()

    async def append(self, epoch: str, bodies: list[str], idempotency: str | None = None) -> int:
        """Append messages under `epoch`: their last seq, 0 when `idempotency` was accepted
        already, -1 when the stream is another epoch now. Raises RedisError/OSError."""
        idem = self.key(f"idem:{idempotency}") if idempotency else ""
        return int(await self._append(keys=[*self.keys, idem],
                                      args=[epoch, self.maxlen, int(self.key_seconds), *bodies]))

    async def emit(self, event: str, data: Any) -> int:
        """Validate (raises protocol.InvalidEvent) and append one event; returns its seq."""
        body = message(event, protocol.wire(event, data))
        for _ in range(3):
            seq = await self.append(await self.epoch(), [body])
            if seq > 0:
                return seq
        raise RedisError("the stream's epoch keeps changing")

    async def aclose(self) -> None:
        await self.redis.aclose()


class RedisStream(Stream):
    mode = "redis"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        o = self.options
        self.emitter = RedisEmitter(o.redis_url, o.redis_channel, o.redis_maxlen, o.idempotency_seconds)
        self.redis = self.emitter.redis
        self.registry = SharedRegistry(self.redis, o.redis_channel, o)
        self.host_id = uuid.uuid4().hex  # this gateway, among those sharing the stream
        self.on_new_epoch: Callable[[], Awaitable[None]] | None = None  # set by the server: clients resync
        self._task: asyncio.Task | None = None
        self._waiting: dict[int, asyncio.Future] = {}  # last seq of a batch → its producer's answer
        self._read_id = "0"

    async def start(self) -> None:
        self.epoch = await self.emitter.epoch()
        self.store.set_epoch(self.epoch)
        self._task = asyncio.create_task(self._follow(), name="bughunt-redis-stream")

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None
        self._fail_waiting("the gateway is stopping")
        await self.emitter.aclose()

    async def submit(self, event: str, wire: dict) -> Awaitable[None]:
        return await self.submit_batch([(event, wire)])

    async def submit_batch(self, items: list[tuple[str, dict]], key: str | None = None) -> Awaitable[None]:
        """Append a batch atomically; the awaitable completes once this gateway delivered it."""
        try:
            items = await self.registry.stamp(items)  # before the append: every gateway delivers the same
            seq = await self.emitter.append(self.epoch, [message(e, w) for e, w in items], key)
        except (RedisError, OSError) as exc:
            await self.mark(unreachable(exc))
            raise StreamUnavailable(unreachable(exc)) from None
        if seq == -1:
            raise StreamUnavailable("the stream is changing epoch (redis lost its data)")
        done = asyncio.get_running_loop().create_future()
        if seq == 0 or seq <= self.last_seq:
            done.set_result(None)  # accepted before (same key), or delivered already
        else:
            self._waiting[seq] = done
        return done

    async def finding(self, fp: str) -> tuple[str, list | None] | None:
        try:
            return await self.registry.lookup(fp)
        except (RedisError, OSError) as exc:
            raise StreamUnavailable(unreachable(exc)) from None

    async def scan_diff(self, scan_id: str) -> dict | None:
        try:
            return await self.registry.diff(scan_id)
        except (RedisError, OSError) as exc:
            raise StreamUnavailable(unreachable(exc)) from None

    async def lease(self, name: str, seconds: float) -> bool:
        key, ttl = self.emitter.key(name), int(seconds * 1000)
        try:
            if await self.redis.set(key, self.host_id, nx=True, px=ttl):
                return True
            if await self.redis.get(key) == self.host_id.encode():
                await self.redis.pexpire(key, ttl)
                return True
        except (RedisError, OSError):
            pass
        return False

    async def _follow(self) -> None:
        """Deliver what the stream brings, from the last id delivered; when Redis goes away,
        try again (waiting longer after each failure) and check the epoch first."""
        delay = 0.2
        while True:
            try:
                await self._check_epoch()
                while True:
                    reply = await self.redis.xread({self.emitter.key("stream"): self._read_id}, block=BLOCK_MS,
                                                   count=500)
                    delay = 0.2
                    await self.mark(None)  # a publish that failed meanwhile may have marked it down
                    if not reply:
                        await self._check_epoch()
                    for _name, entries in reply:
                        await self._receive(entries)
            except (RedisError, OSError) as exc:
                log.warning("lost the redis stream (%s); retrying in %g s", exc, delay)
                self._fail_waiting("redis connection lost")
                await self.mark(unreachable(exc))
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)

    async def _check_epoch(self) -> None:
        """Switch to a new stream when Redis lost ours: no epoch, another one, or a counter below
        what we delivered (a Redis restarted from an older snapshot)."""
        current = await self.redis.get(self.emitter.key("epoch"))
        counter = int(await self.redis.get(self.emitter.key("seq")) or 0)
        await self.mark(None)  # Redis answers: clients hear it is back before any resync
        if current is None or (current.decode() == self.epoch and counter < self.last_seq):
            current = (await self.emitter.renew(self.epoch)).encode()
        if current.decode() != self.epoch:
            await self._switch(current.decode())

    async def _lost_gap(self, first: int) -> None:
        """The stream was trimmed (MAXLEN) past what we read: events we never delivered. Our
        clients must not resume across the gap: forget the replay buffer and make them resync."""
        log.warning("redis stream: seq %d..%d were trimmed before this gateway read them "
                    "(BUGHUNT_REDIS_MAXLEN); clients resync", self.last_seq + 1, first - 1)
        async with self.held():
            self.replay.clear()
        if self.on_new_epoch is not None:
            await self.on_new_epoch()

    async def _switch(self, epoch: str) -> None:
        log.warning("redis stream: following the new epoch %s (was %s); clients resync", epoch, self.epoch)
        async with self.held():
            self.epoch, self._read_id = epoch, "0"
            self.store.set_epoch(epoch)
            self.replay.clear()
            self._fail_waiting("redis lost the stream")
        if self.on_new_epoch is not None:
            await self.on_new_epoch()

    async def _receive(self, entries: list) -> None:
        first = int(entries[0][0].decode().partition("-")[0])
        if self.last_seq and first > self.last_seq + 1:
            await self._lost_gap(first)
        async with self.held():
            sends = []
            for entry_id, fields in entries:
                self._read_id = entry_id.decode()
                sent = self._deliver_entry(int(self._read_id.partition("-")[0]), fields.get(b"m", b""))
                if sent is not None:
                    sends.append(sent)
            for event, wire, rooms in sends:
                await self.emit(event, wire, rooms)
        for seq in [s for s in self._waiting if s <= self.last_seq]:
            future = self._waiting.pop(seq)
            if not future.done():
                future.set_result(None)

    def _deliver_entry(self, seq: int, raw: bytes) -> tuple[str, dict, Rooms] | None:
        try:
            body = json.loads(raw)
            event, data = str(body.get("event")), body.get("data")
        except (ValueError, AttributeError):
            data = None
        if not isinstance(data, list) or len(data) != 1:
            log.warning("dropped a malformed message from the stream at seq %s", seq)
            return None
        delivered = self.deliver(event, data[0], seq)
        return None if delivered is None else (event, *delivered)

    def _fail_waiting(self, reason: str) -> None:
        """Producers waiting for delivery get 503: their events may not have reached anyone."""
        waiting, self._waiting = self._waiting, {}
        for future in waiting.values():
            if not future.done():
                future.set_exception(StreamUnavailable(reason))

"""RedisStream: one stream shared by every gateway on the same Redis channel.

python-socketio's AsyncRedisManager delivers an emit to its own clients first and then publishes
it, so two gateways would interleave events differently and no `seq` could grow strictly for
every client. Here an event takes its `seq` from a Redis counter *in the same atomic step* that
publishes it (a Lua script), and every gateway, the sender included, delivers it when it comes
back from its own subscription. Redis hands published messages to every subscriber in one
order, so every client on every gateway sees seq strictly increasing. Each gateway sends only to
its own sockets (`sio.emit`); its Socket.IO server needs no client manager of its own.

External producers use `RedisEmitter` write-only:

    emitter = RedisEmitter("redis://127.0.0.1:6379/0")
    await emitter.emit("scan_progress", {"scan_id": "42", "progress": 40})
"""
from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable
from typing import Any

from redis import asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from realtime import protocol
from realtime.gateway.stream import Stream, stop_task

log = logging.getLogger("bughunt.gateway")

# KEYS[1]: the counter, KEYS[2]: the channel. "seq|message" keeps the message opaque to Lua.
PUBLISH_SCRIPT = """
local seq = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', KEYS[2], seq .. '|' .. ARGV[1])
return seq
"""
RETRY_MAX = 30.0  # seconds between attempts to subscribe again once Redis is gone


def message(event: str, wire: dict, room: Any = None) -> dict:
    """A stream message (python-socketio's pub/sub emit format, which older emitters send)."""
    return {"method": "emit", "event": event, "data": [wire], "namespace": "/", "room": room}


class RedisEmitter:
    """Publishes events into the shared stream. Opens its connection at the first emit."""

    def __init__(self, url: str, channel: str = "bughunt"):
        self.channel = channel
        self.redis = aioredis.Redis.from_url(url)
        self._script = self.redis.register_script(PUBLISH_SCRIPT)

    @property
    def seq_key(self) -> str:
        return f"{self.channel}:seq"

    async def emit(self, event: str, data: Any) -> int:
        """Validate (raises protocol.InvalidEvent) and publish an event; returns its seq."""
        return await self.publish_sequenced(message(event, protocol.wire(event, data)))

    async def publish_sequenced(self, body: dict) -> int:
        """Publish a stream message as it is (gateways validate what they receive). Tried twice:
        a connection that Redis closed (e.g. it restarted) fails once, then a new one is made."""
        for retries_left in (1, 0):
            try:
                return int(await self._script(keys=[self.seq_key, self.channel], args=[json.dumps(body)]))
            except (RedisConnectionError, OSError) as exc:
                if not retries_left:
                    raise
                log.warning("redis publish failed (%s); retrying", exc)
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        await self.redis.aclose()


class RedisStream(Stream):
    mode = "redis"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.emitter = RedisEmitter(self.options.redis_url, self.options.redis_channel)
        self.redis = self.emitter.redis
        self.host_id = uuid.uuid4().hex  # this gateway, among those sharing the stream
        self._task: asyncio.Task | None = None

    def key(self, name: str) -> str:
        return f"{self.options.redis_channel}:{name}"

    async def start(self) -> None:
        # One stream across gateways: its epoch lives in Redis beside its seq counter.
        await self.redis.set(self.key("epoch"), self.epoch, nx=True)
        self.epoch = (await self.redis.get(self.key("epoch"))).decode()
        # Subscribed before we serve: our store follows the stream even while nobody watches.
        pubsub = await self._subscribe()
        self._task = asyncio.create_task(self._follow(pubsub), name="bughunt-redis-stream")

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None
        await self.emitter.aclose()

    async def submit(self, event: str, wire: dict) -> Awaitable[None]:
        await self.emitter.publish_sequenced(message(event, wire))
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    async def lease(self, name: str, seconds: float) -> bool:
        key, ttl = self.key(name), int(seconds * 1000)
        if await self.redis.set(key, self.host_id, nx=True, px=ttl):
            return True
        if await self.redis.get(key) == self.host_id.encode():
            await self.redis.pexpire(key, ttl)
            return True
        return False

    async def _subscribe(self) -> aioredis.client.PubSub:
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(self.options.redis_channel)
        return pubsub

    async def _follow(self, pubsub: aioredis.client.PubSub | None) -> None:
        """Deliver what the subscription brings; when Redis goes away, subscribe again (waiting
        longer after each failure)."""
        delay = 1.0
        while True:
            try:
                pubsub = pubsub or await self._subscribe()
                async for item in pubsub.listen():
                    delay = 1.0
                    if item.get("type") == "message":
                        await self._receive(item["data"])
            except (RedisError, OSError) as exc:
                log.warning("lost the redis subscription (%s); retrying in %g s", exc, delay)
            if pubsub is not None:
                await pubsub.aclose()
                pubsub = None
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)

    async def _receive(self, raw: bytes) -> None:
        head, sep, body = raw.decode(errors="replace").partition("|")
        if not sep or not head.isdigit():
            return  # not a stream message (e.g. python-socketio's own traffic on the channel)
        try:
            sent = json.loads(body)
            event, data = str(sent.get("event")), sent.get("data")
        except (ValueError, AttributeError):
            data = None
        if not isinstance(data, list) or len(data) != 1:
            log.warning("dropped a malformed message from the stream at seq %s", head)
            return
        async with self.held():
            delivered = self.deliver(event, data[0], int(head))
            if delivered is not None:
                await self.emit(event, *delivered)

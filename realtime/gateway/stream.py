"""StreamManager: python-socketio's AsyncRedisManager made into one ordered stream.

The stock manager delivers an emit to its own clients first and then publishes it, so two
gateways interleave events differently and no `seq` could grow strictly for every client. Here
an emit of a server event takes its `seq` from a Redis counter *in the same atomic step* that
publishes it (a Lua script), and every gateway, the sender included, delivers it when it comes
back from Redis. Redis hands published messages to every subscriber in one order, so every
client on every gateway sees seq strictly increasing.

External producers use the same class write-only:

    emitter = StreamManager("redis://127.0.0.1:6379/0", write_only=True)
    await emitter.emit("scan_progress", {"scan_id": "42", "progress": 40})
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import socketio

from realtime import protocol

log = logging.getLogger("bughunt.gateway")

# KEYS[1]: the counter, KEYS[2]: the channel. "seq|message" keeps the message opaque to Lua.
PUBLISH_SCRIPT = """
local seq = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', KEYS[2], seq .. '|' .. ARGV[1])
return seq
"""

Deliver = Callable[[str, Any, int], "tuple[dict, Any] | None"]


class StreamManager(socketio.AsyncRedisManager):
    name = "bughunt-redis"

    def __init__(self, url: str, channel: str = "bughunt", write_only: bool = False,
                 deliver: Deliver | None = None):
        super().__init__(url, channel=channel, write_only=write_only)
        self.deliver = deliver  # the gateway: (event, data, seq) -> (data, rooms), None drops
        self.gate: asyncio.Lock | None = None  # the gateway's: a resume's replay is not interleaved

    @property
    def seq_key(self) -> str:
        return f"{self.channel}:seq"

    async def emit(self, event, data, namespace=None, room=None, skip_sid=None, callback=None,
                   to=None, **kwargs):
        if kwargs.get("ignore_queue") or callback is not None or event not in protocol.SERVER_EVENTS:
            return await super().emit(event, data, namespace=namespace, room=room, skip_sid=skip_sid,
                                      callback=callback, to=to, **kwargs)
        message = {"method": "emit", "event": event, "data": [protocol.wire(event, data)],
                   "namespace": namespace or "/", "room": to or room, "skip_sid": None,
                   "callback": None, "host_id": None}
        return await self.publish_sequenced(message)

    async def publish_sequenced(self, message: dict) -> int:
        body = self.json.dumps(message)
        for retries_left in (1, 0):
            try:
                if not self.connected:
                    self._redis_connect()
                return int(await self.redis.eval(PUBLISH_SCRIPT, 2, self.seq_key, self.channel, body))
            except Exception:
                if not retries_left:
                    raise
                log.warning("redis publish failed; reconnecting")
                self.connected = False
        raise AssertionError("unreachable")

    async def _handle_emit(self, message):
        if self.gate is None:
            return await super()._handle_emit(message)
        async with self.gate:
            return await super()._handle_emit(message)

    async def _listen(self):
        async for raw in super()._listen():
            message = self._sequenced(raw)
            if message is not None:
                yield message

    def _sequenced(self, raw: Any) -> Any:
        text = raw.decode() if isinstance(raw, bytes) else raw
        head, sep, body = text.partition("|")
        if not sep or not head.isdigit():
            return raw  # the stock manager's own traffic (room changes, disconnects)
        message = self.json.loads(body)
        data = message.get("data")
        if self.deliver is None or not isinstance(data, list) or len(data) != 1:
            return None
        delivered = self.deliver(str(message.get("event")), data[0], int(head))
        if delivered is None:
            return None
        message["data"], message["room"] = [delivered[0]], delivered[1]
        message["host_id"] = None  # so the sending gateway delivers it too
        return message

"""Limits: token buckets (refilled continuously) for rates, and the nesting depth of socket messages."""
from __future__ import annotations

import json
import time

import socketio

from realtime import protocol


class TokenBucket:
    def __init__(self, rate: float, burst: float):
        self.rate, self.burst = rate, burst
        self.tokens = burst
        self.stamp = time.monotonic()

    def tokens_now(self) -> float:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return self.tokens

    def charge(self, n: float) -> None:
        """Take `n` whatever is left: work already done is paid for by waiting afterwards."""
        self.tokens = self.tokens_now() - n

    def take(self, n: float = 1) -> bool:
        if self.tokens_now() >= n:
            self.tokens -= n
            return True
        return False


MALFORMED = "\x00malformed"  # the event name a too-deep socket message arrives as (no client can name it)


class DepthLimitedJson:
    """The JSON codec of the gateway's Socket.IO packets: a message nested deeper than
    `max_depth` decodes as `[MALFORMED, reason]`, so its sender gets an ack with the reason
    (the packet's ack id is read before its JSON) instead of silence and a traceback."""

    def __init__(self, max_depth: int):
        self.max_depth = max_depth

    @staticmethod
    def dumps(*args, **kwargs) -> str:
        return json.dumps(*args, **kwargs)

    def loads(self, text: str | bytes, **kwargs) -> object:
        try:
            return protocol.loads(text, self.max_depth)
        except protocol.TooDeep as exc:
            return [MALFORMED, str(exc)]


def packet_class(max_depth: int) -> type[socketio.packet.Packet]:
    """A Socket.IO packet class (the server's `serializer`) decoding with DepthLimitedJson."""
    return type("DepthLimitedPacket", (socketio.packet.Packet,), {"json": DepthLimitedJson(max_depth)})

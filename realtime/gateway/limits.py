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


class StrictJson:
    """JSON for untrusted text: too deep is a ValueError (protocol.loads), never a RecursionError.
    Engine.IO's packets decode with it (the server's `json`): Engine.IO drops a message it cannot
    decode as JSON."""

    def __init__(self, max_depth: int):
        self.max_depth = max_depth

    @staticmethod
    def dumps(*args, **kwargs) -> str:
        return json.dumps(*args, **kwargs)

    def loads(self, text: str | bytes, **kwargs) -> object:
        return protocol.loads(text, self.max_depth)


class DepthLimitedJson(StrictJson):
    """The JSON of the gateway's Socket.IO packets: a message nested deeper than `max_depth`
    decodes as `[MALFORMED, reason]`, so its sender gets an ack with the reason (the packet's ack
    id is read before its JSON) instead of silence and a traceback."""

    def loads(self, text: str | bytes, **kwargs) -> object:
        try:
            return protocol.loads(text, self.max_depth)
        except protocol.TooDeep as exc:
            return [MALFORMED, str(exc)]


class TolerantPacket(socketio.packet.Packet):
    """The gateway's Socket.IO packet class (its `serializer`): what does not decode as a packet
    (an Engine.IO message that is no Socket.IO packet, JSON too deep) arrives as the event
    MALFORMED with the reason, answered like any refused request rather than logged as a crash."""

    def decode(self, encoded_packet: object) -> int:
        try:
            return super().decode(encoded_packet)
        except ValueError as exc:
            self.packet_type, self.namespace, self.id = socketio.packet.EVENT, "/", None
            self.data = [MALFORMED, f"not a Socket.IO packet: {protocol.preview(str(exc), 100)}"]
            return 0


def depth_limited(max_depth: int) -> dict:
    """python-socketio server arguments decoding every packet within `max_depth`: `json` (which
    python-socketio hands to Engine.IO too) and `serializer`, a packet class of our own."""
    packet = type("DepthLimitedPacket", (TolerantPacket,), {})
    return {"json": StrictJson(max_depth), "serializer": packet}


def limit_packets(server: socketio.AsyncServer, max_depth: int) -> None:
    """After the server is built (its `json` argument is set on its packet class too): our
    packet class turns too-deep messages into MALFORMED events with an ack."""
    server.packet_class.json = DepthLimitedJson(max_depth)

"""Backlog: how far behind each socket is, and disconnecting one that stalls.

Neither python-socketio nor engine.io offers a public way to see what is still queued for a
socket, so the gateway asks: a socket with no check outstanding is sent a `backlog_check` with an
acknowledgement callback, if events went out on the stream since the last check it answered was
sent (a quiet stream asks nothing: an idle client is not woken), once every `ASK_EVERY` seconds, or
at the next round (every `TICK` seconds) once it is a quarter of `max_backlog_events` behind (a
flood). Packets reach a client in order, so the answer
arrives only once everything sent before the check has arrived. A socket is disconnected, with
the reason logged, when a check stays unanswered for `max_backlog_seconds`, or when more than
`max_backlog_events` events went out on the stream since the last check it answered was sent.
Leaving its rooms at once stops its backlog growing; the connection itself ends at the ping
timeout. A client that resumes gets what it missed.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from realtime import protocol
from realtime.gateway.sessions import Session, Sessions
from realtime.gateway.stream import Stream, periodically, stop_task
from realtime.options import GatewayOptions

log = logging.getLogger("bughunt.gateway")

TICK = 0.25  # seconds between rounds of checks
ASK_EVERY = 1.0  # seconds between checks of a socket keeping up: each is a message and an answer


class Backlog:
    def __init__(self, options: GatewayOptions, sessions: Sessions, stream: Stream,
                 emit: Callable[..., Awaitable[Any]], disconnect: Callable[[str], Awaitable[None]]):
        self.options, self.sessions, self.stream = options, sessions, stream
        self.emit, self.disconnect = emit, disconnect
        self.dropped = 0
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(
            periodically(TICK, lambda: self.check_all(time.monotonic()), "backlog check"), name="bughunt-backlog")

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None

    async def check_all(self, now: float) -> None:
        for sid in self.sessions.sids():
            session = self.sessions.get(sid)
            if session is None:
                continue
            why = self.behind(session, now)
            if why:
                self.dropped += 1
                log.warning("disconnecting %s (%s, user %s): %s", sid, session.ip, session.identity.sub, why)
                await self.disconnect(sid)
            elif session.check_sent is None and self.due(session, now):
                await self.ask(sid, session, now)

    def behind(self, session: Session, now: float) -> str | None:
        """Why the socket is too far behind, or None."""
        o = self.options
        if session.check_sent is not None and now - session.check_sent > o.max_backlog_seconds:
            return f"slow consumer: nothing confirmed for {o.max_backlog_seconds:g} s"
        if self.stream.emitted - session.confirmed > o.max_backlog_events:
            return f"slow consumer: more than {o.max_backlog_events} events unconfirmed"
        return None

    def due(self, session: Session, now: float) -> bool:
        """Whether to ask the socket (with no check outstanding) now: events went out since its last
        answer (else there is nothing to confirm), and it was asked ASK_EVERY ago, or it is a
        quarter of the way to `max_backlog_events` (a flood: its limit must not pass unasked)."""
        unconfirmed = self.stream.emitted - session.confirmed
        return unconfirmed > 0 and (now - session.asked >= ASK_EVERY
                                    or unconfirmed > self.options.max_backlog_events / 4)

    async def ask(self, sid: str, session: Session, now: float) -> None:
        session.check_sent = session.asked = now
        emitted = self.stream.emitted

        def answered(*_: Any) -> None:
            session.check_sent, session.confirmed = None, emitted

        await self.emit(protocol.BACKLOG_CHECK, {}, to=sid, callback=answered)

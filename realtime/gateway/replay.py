"""Resumes as bounded work: one replay job per socket, paced and sent in slices.

A resume replays what its socket missed, then joins its rooms. The replay runs as one job per
socket (a newer resume cancels the older job, a disconnect cancels it too); it takes the
stream's gate for one slice of `replay_slice` events at a time, so live delivery waits at most
one slice; it is paced by the socket's replay bucket (`replay_rate` events/s, charged by the
events sent, across all of that socket's resumes); and it stops sending while the socket leaves
more than `replay_max_unread` packets unread: a socket that has left them unread for `DRAIN_SECONDS`
(whichever of its resumes was waiting) is dropped.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable

from realtime import protocol
from realtime.gateway.sessions import Session
from realtime.gateway.stream import Stream

DRAIN_SECONDS = 5.0  # how long a replay waits for its socket to read its backlog
POLL = 0.05


class NotReading(Exception):
    """The socket did not read its replay in time."""


class ReplayJobs:
    """The running replay job of each socket, by sid."""

    def __init__(self) -> None:
        self._jobs: dict[str, asyncio.Task] = {}

    def __len__(self) -> int:
        return len(self._jobs)

    def begin(self, sid: str, work: Awaitable) -> asyncio.Task:
        """Run `work` as `sid`'s replay job, cancelling the one it had."""
        self.cancel(sid)
        job = self._jobs[sid] = asyncio.ensure_future(work)
        job.add_done_callback(lambda done: self._jobs.pop(sid, None) if self._jobs.get(sid) is done else None)
        return job

    def cancel(self, sid: str) -> None:
        job = self._jobs.pop(sid, None)
        if job is not None:
            job.cancel()


class Replay:
    """One resume's replay for one socket: `run()` gives the number of events replayed, or why
    it could not replay (a resync is needed); raises NotReading."""

    def __init__(self, stream: Stream, request: protocol.Resume, rooms: Iterable[str], *,
                 session: Session, slice_size: int, replay_max_unread: int,
                 send: Callable[[str, dict], Awaitable], join: Callable[[], Awaitable],
                 backlog: Callable[[], int]):
        self.stream, self.request, self.rooms = stream, request, set(rooms)
        self.session, self.bucket = session, session.replay_bucket
        self.slice_size, self.replay_max_unread = slice_size, replay_max_unread
        self.send, self.join, self.backlog = send, join, backlog

    async def run(self) -> int | str:
        cursor, sent = self.request.since, 0
        while True:
            await self.paced()
            async with self.stream.held():
                missed = await self.stream.missed(self.request.epoch, cursor, self.rooms, self.slice_size)
                if isinstance(missed, str):
                    await self.join()
                    return missed
                for event in missed:
                    await self.send(event.event, event.data)
                if len(missed) < self.slice_size:  # caught up: join while live delivery still waits
                    await self.join()
                    return sent + len(missed)
            cursor, sent = missed[-1].seq, sent + len(missed)
            self.bucket.charge(len(missed))

    async def paced(self) -> None:
        """Wait for the replay bucket and for the socket to read what it was sent."""
        while self.backlog() > self.replay_max_unread:
            stalled = self.session.stalled_since = self.session.stalled_since or time.monotonic()
            if time.monotonic() - stalled >= DRAIN_SECONDS:
                raise NotReading
            await asyncio.sleep(POLL)
        self.session.stalled_since = None
        while self.bucket.tokens_now() < 0:
            await asyncio.sleep(min(1.0, -self.bucket.tokens_now() / self.bucket.rate))

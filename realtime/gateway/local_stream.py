"""LocalStream: one gateway's own stream, one emitter task, optionally kept in --state-db.

Submitted events wait in a bounded queue; the emitter task takes them a batch at a time, gives
them their seqs, writes the batch to --state-db in one transaction *before* sending it, then
sends it in order. With --state-db a restarted gateway continues the same stream (epoch, seq,
store and replay buffer), so clients that were connected before the restart can resume.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable

from realtime import protocol
from realtime.gateway.stream import Rooms, Sent, Stream, audience, room_set, stop_task
from realtime.journal import Journal

log = logging.getLogger("bughunt.gateway")

BATCH = 500  # events written and sent per round at most


class LocalStream(Stream):
    mode = "local"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.journal: Journal | None = None
        self._queue: asyncio.Queue | None = None
        self._task: asyncio.Task | None = None
        self._seq = 0

    async def start(self) -> None:
        if self.options.state_db:
            self.journal = Journal(self.options.state_db)
            self.restore()
        self._queue = asyncio.Queue(self.options.queue_size)
        self._task = asyncio.create_task(self._run(), name="bughunt-stream")

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None
        if self.journal is not None:
            self.journal.close()
            self.journal = None

    async def submit(self, event: str, wire: dict) -> Awaitable[None]:
        done = asyncio.get_running_loop().create_future()
        await self._queue.put((event, wire, done))
        return done

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty() and len(batch) < BATCH:
                batch.append(self._queue.get_nowait())
            async with self.held():
                await self._send(self._stamp(batch))
            for _, _, done in batch:
                if not done.done():
                    done.set_result(None)

    def _stamp(self, batch: list[tuple[str, dict, asyncio.Future]]) -> list[tuple[str, dict, Rooms]]:
        delivered = []
        for event, wire, _ in batch:
            self._seq += 1
            sent = self.deliver(event, wire, self._seq)
            if sent is not None:
                delivered.append((event, *sent))
        return delivered

    async def _send(self, delivered: list[tuple[str, dict, Rooms]]) -> None:
        if self.journal is not None and delivered:
            now = time.time()
            try:
                await asyncio.to_thread(self.journal.write, [(self.epoch, e, w, now) for e, w, _ in delivered])
            except Exception:  # noqa: BLE001 - keep streaming; say loudly that state is at risk
                log.exception("writing the state db failed")
        for event, wire, rooms in delivered:
            await self.emit(event, wire, rooms)

    def restore(self) -> None:
        """Come back from --state-db: the same stream (epoch and seq), our store, and the
        replay buffer."""
        self.epoch = self.journal.get_meta("epoch") or self.epoch
        self.journal.set_meta("epoch", self.epoch)
        self.journal.replay(self.store)
        self._seq = self.last_seq
        cutoff = time.time() - self.options.replay_seconds
        for _, seq, event, data, at in self.journal.rows(since_at=cutoff):
            if seq is None:
                continue
            try:
                rooms = audience(event, protocol.parse(event, data))
            except protocol.InvalidEvent:
                continue
            self.replay.append(Sent(seq, event, data, room_set(rooms), at))
        log.info("restored stream %s at seq %d (%d events resumable)", self.epoch, self._seq, len(self.replay))

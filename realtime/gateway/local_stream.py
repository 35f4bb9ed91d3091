"""LocalStream: one gateway's own stream, one emitter task, optionally kept in --state-db.

Submitted batches wait in a bounded queue; the emitter task takes them a few at a time, gives
their events seqs, writes them (and the batches' idempotency keys) to --state-db in one
transaction *before* sending them, then sends them in order. With --state-db a restarted gateway
continues the same stream (epoch, seq, store, replay buffer and accepted keys), so clients that
were connected before the restart can resume and a producer's retry is not counted twice. The
state db is compacted as it grows (`BUGHUNT_STATE_MAX_EVENTS`, `BUGHUNT_STATE_MAX_DAYS`; progress
folded to each scan's latest), so a restart stays quick whatever the history.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable

from realtime import protocol
from realtime.gateway.registry import FP, MEMBER, SCAN, TRIAGE, FindingRegistry
from realtime.gateway.stream import AcceptedKeys, Rooms, Sent, Stream, audience, room_set, stop_task
from realtime.journal import Journal
from realtime.options import JournalOptions

log = logging.getLogger("bughunt.gateway")

BATCH = 500  # events written and sent per round at most
COMPACT_EVERY = 60.0  # seconds between compactions of --state-db
KEY_PREFIX = "idem:"  # accepted idempotency keys in the state db's meta table
Batch = tuple[list[tuple[str, dict]], str | None, asyncio.Future]


class LocalStream(Stream):
    mode = "local"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.journal: Journal | None = None
        self.keys = AcceptedKeys(self.options.idempotency_seconds)
        self.registry = FindingRegistry(self.options, persist=bool(self.options.state_db))
        self._in_flight: dict[str, asyncio.Future] = {}  # keys queued but not yet written
        self._queue: asyncio.Queue | None = None
        self._tasks: list[asyncio.Task] = []
        self._seq = 0

    async def start(self) -> None:
        if self.options.state_db:
            o = self.options
            self.journal = Journal(o.state_db, JournalOptions(
                max_events=o.state_max_events, max_days=o.state_max_days, compact_after=o.state_compact_after))
            self.restore()
            self._tasks.append(asyncio.create_task(self._compact_loop(), name="bughunt-state-compaction"))
        self._queue = asyncio.Queue(self.options.queue_size)
        self._tasks.append(asyncio.create_task(self._run(), name="bughunt-stream"))

    async def stop(self) -> None:
        for task in self._tasks:
            await stop_task(task)
        self._tasks = []
        if self.journal is not None:
            self.journal.close()
            self.journal = None

    async def submit(self, event: str, wire: dict) -> Awaitable[None]:
        return await self.submit_batch([(event, wire)])

    async def submit_batch(self, items: list[tuple[str, dict]], key: str | None = None) -> Awaitable[None]:
        if key is not None and key in self.keys:
            return _done()
        if key is not None and key in self._in_flight:
            return asyncio.shield(self._in_flight[key])
        done = asyncio.get_running_loop().create_future()
        if key is not None:
            self._in_flight[key] = done
        await self._queue.put((items, key, done))
        return done

    async def _run(self) -> None:
        while True:
            batches = [await self._queue.get()]
            while not self._queue.empty() and sum(len(b[0]) for b in batches) < BATCH:
                batches.append(self._queue.get_nowait())
            async with self.held():
                await self._send(self._stamp(batches), [key for _, key, _ in batches if key is not None])
            for _, key, done in batches:
                self._in_flight.pop(key, None)
                if not done.done():
                    done.set_result(None)

    def _stamp(self, batches: list[Batch]) -> list[tuple[str, dict, Rooms]]:
        delivered = []
        for items, _, _ in batches:
            for event, wire in items:
                self._seq += 1
                sent = self.deliver(event, self.stamped(event, wire), self._seq)
                if sent is not None:
                    delivered.append((event, *sent))
        return delivered

    async def _send(self, delivered: list[tuple[str, dict, Rooms]], keys: list[str]) -> None:
        now = time.time()
        if self.journal is not None and (delivered or keys):
            rows = [(self.epoch, e, w, now) for e, w, _ in delivered]
            registry, dropped = self.registry.changes()  # the findings' history, with the events it stamped
            meta = {"seq": str(self._seq), **{KEY_PREFIX + k: str(now) for k in keys}, **registry}
            try:
                await asyncio.to_thread(self._write, rows, meta, dropped)
            except Exception:  # noqa: BLE001 - keep streaming; say loudly that state is at risk
                log.exception("writing the state db failed")
        for key in keys:
            self.keys.add(key, now)
        for event, wire, rooms in delivered:
            await self.emit(event, wire, rooms)

    def _write(self, rows: list, meta: dict[str, str], dropped: list[str]) -> None:
        self.journal.write(rows, meta)
        if dropped:  # forgotten by the registry: a row left behind is only forgotten again at restart
            self.journal.drop_meta(dropped)

    async def _compact_loop(self) -> None:
        while True:
            await asyncio.sleep(COMPACT_EVERY)
            await asyncio.to_thread(self.compact)

    def compact(self) -> None:
        """Retention of the state db by age and count, progress folded to each scan's latest;
        idempotency keys past their time forgotten."""
        try:
            self.journal.compact()
            self.journal.drop_meta([KEY_PREFIX + k for k in self.keys.expire(time.time())])
        except Exception:  # noqa: BLE001 - a failed compaction is retried next round
            log.exception("compacting the state db failed")

    def restore(self) -> None:
        """Come back from --state-db: the same stream (epoch and seq), our store, the replay
        buffer and the accepted idempotency keys."""
        self.epoch = self.journal.get_meta("epoch") or self.epoch
        self.journal.set_meta("epoch", self.epoch)
        self.compact()
        self.journal.replay(self.store)
        self.registry.load({prefix: self.journal.meta_items(prefix) for prefix in (FP, TRIAGE, SCAN, MEMBER)})
        self._seq = max(self.last_seq, int(self.journal.get_meta("seq") or 0))
        for key, at in sorted(self.journal.meta_items(KEY_PREFIX), key=lambda item: float(item[1])):
            self.keys.add(key[len(KEY_PREFIX):], float(at))
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


def _done() -> asyncio.Future:
    done = asyncio.get_running_loop().create_future()
    done.set_result(None)
    return done

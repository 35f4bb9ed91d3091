"""Journal: the events a store applied, in SQLite (WAL), so a restart loses nothing.

The dashboard's store appends to it from its hot path through a queue; a writer thread (`start()`
… `close()`) commits in small batches. The gateway (`--state-db`) writes synchronously, before it sends, so nothing a
client saw can be missing from it after a crash. On start, `replay(store)` rebuilds the store.

    python -m realtime.journal stats | export [FILE] | import FILE   [--journal PATH]
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import queue
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TextIO

from realtime import protocol
from realtime.options import JournalOptions, from_env

log = logging.getLogger("bughunt.journal")

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, epoch TEXT, seq INTEGER, event TEXT NOT NULL, scan_id TEXT,
    data TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS events_at ON events(at);
CREATE INDEX IF NOT EXISTS events_progress ON events(event, scan_id);
CREATE TABLE IF NOT EXISTS reads (id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS viewer_reads (viewer TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (viewer, id));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""
SNAPSHOT = "_snapshot"  # a gateway snapshot the store caught up from (data: the /api/state document)
IMPORTED = "import"  # the epoch older versions gave imported events (they belong to no stream)
BATCH = 1000
LINGER = 0.25  # seconds the writer gathers events into one commit
_STOP = object()
GATEWAY = "gateway"  # meta key: the gateway URL whose stream the journal holds


class OtherStream(Exception):
    """The journal belongs to another gateway's stream."""


def resolve(path: str) -> str:
    if path == ":memory:":
        return path
    path = os.path.expanduser(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    return path


class Journal:
    def __init__(self, path: str, options: JournalOptions | None = None):
        self.options = options or JournalOptions()
        self.path = resolve(path)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # a killed process loses nothing committed
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()  # one connection, used by the writer thread and callers
        self._queue: queue.Queue = queue.Queue(maxsize=100_000)
        self._writer: threading.Thread | None = None
        self._last_compaction = 0.0
        self.written = 0
        self.durable: tuple[str | None, int] | None = None  # (epoch, seq) of the newest committed event
        self.failure: str | None = None  # why writing stopped (the disk filled up, ...)
        self.lost = 0  # events applied after the failure, kept in memory only
        self.on_failure: Callable[[], None] | None = None  # called once, when writing stops

    # ---- writing -------------------------------------------------------------------------

    def start(self) -> Journal:
        """Start the writer thread that `append`, `append_snapshot` and `mark_read` feed. The
        synchronous API (`write`, `rows`, `replay`, meta) needs no writer."""
        with self._lock:
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_loop, name="journal", daemon=True)
                self._writer.start()
        return self

    def append(self, epoch: str | None, event: str, parsed: protocol.Event, at: float) -> None:
        """Queue an applied event; the writer thread serialises and commits it."""
        self._enqueue(("event", epoch, event, parsed, at))

    def append_snapshot(self, doc: dict, at: float) -> None:
        self._enqueue(("event", doc.get("epoch"), SNAPSHOT, doc, at))

    def mark_read(self, ids: list[str], viewer: str | None = None) -> None:
        """Commit read flags before returning: a person's click must survive a stop right after it
        (events need not: the gateway sends again what the journal lacks). `viewer`'s own flags
        (realtime.readstate), or everyone's when None (older journals, when flags were global)."""
        self._enqueue(("read", ids, viewer))
        self.flush(2.0)

    def read_ids(self, viewer: str) -> list[str]:
        """The notifications `viewer` marked read."""
        with self._lock:
            return [nid for (nid,) in self._db.execute("SELECT id FROM viewer_reads WHERE viewer = ?", (viewer,))]

    def _enqueue(self, item: tuple) -> None:
        writer = self._writer
        if writer is None or not writer.is_alive():
            # Nothing would ever take it off the queue (and a full queue blocks the store).
            raise RuntimeError("the journal's writer is not running: call start() first")
        self._queue.put(item)

    def write(self, rows: Iterable[tuple[str | None, str, dict, float]], meta: dict[str, str] | None = None) -> None:
        """Commit (epoch, event, data, at) rows now, and `meta` with them, in one transaction
        (the gateway's write-ahead path)."""
        with self._lock:
            self._insert([(epoch, data.get("seq"), event, data.get("scan_id"), json.dumps(data), at)
                          for epoch, event, data, at in rows], meta)

    def _insert(self, rows: list[tuple], meta: dict[str, str] | None = None) -> None:
        self._db.execute("BEGIN")
        try:
            self._db.executemany("INSERT INTO events (epoch, seq, event, scan_id, data, at) VALUES (?,?,?,?,?,?)",
                                 rows)
            if meta:
                self._db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", meta.items())
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        self.written += len(rows)
        for epoch, seq, *_ in reversed(rows):
            if seq is not None:
                self.durable = (epoch, seq)
                break

    def _write_loop(self) -> None:
        while True:
            items = [self._queue.get()]
            # A slow trickle still commits a few times a second, not once per event; a flush
            # (someone waiting) commits at once.
            deadline = time.monotonic() + LINGER
            while (len(items) < BATCH and not isinstance(items[-1], threading.Event)
                   and (left := deadline - time.monotonic()) > 0):
                try:
                    items.append(self._queue.get(timeout=left))
                except queue.Empty:
                    break
            self._write_safely([i for i in items if isinstance(i, tuple)])
            for item in items:
                if isinstance(item, threading.Event):
                    item.set()
            if any(item is _STOP for item in items):
                return

    def _write_safely(self, items: list[tuple]) -> None:
        """Write, or once writing failed, count what is not written: the journal then holds an
        unbroken prefix of the stream, so a restart resumes from what it holds and the gateway
        sends the rest again (a journal with a hole would resume past it, losing it for good)."""
        if self.failure is not None:
            self.lost += len(items)
            return
        try:
            self._write_items(items)
            if time.time() - self._last_compaction > 300:
                self.compact()
        except Exception as exc:  # noqa: BLE001 - a full disk must not kill the dashboard
            since = f"events after seq {self.durable[1]}" if self.durable else "all events"
            self.failure = (f"writing {self.path} failed at {time.strftime('%H:%M:%S')} ({exc}); {since} are "
                            "in memory only, and a restart fetches them from the gateway again")
            self.lost += len(items)
            log.error("journal write failed; journaling stopped: %s", self.failure)
            if self.on_failure is not None:
                self.on_failure()

    def _write_items(self, items: list[tuple]) -> None:
        rows, reads, viewer_reads = [], [], []
        for item in items:
            if item[0] == "read":
                _, ids, viewer = item
                if viewer is None:
                    reads.extend((nid,) for nid in ids)
                else:
                    viewer_reads.extend((viewer, nid) for nid in ids)
                continue
            _, epoch, event, payload, at = item
            if event == SNAPSHOT:
                rows.append((epoch, payload.get("last_seq"), event, None, json.dumps(payload), at))
            else:
                rows.append((epoch, payload.seq, event, getattr(payload, "scan_id", None),
                             payload.model_dump_json(exclude_none=True), at))
        with self._lock:
            if rows:
                self._insert(rows)
            if reads:
                self._db.executemany("INSERT OR IGNORE INTO reads (id) VALUES (?)", reads)
            if viewer_reads:
                self._db.executemany("INSERT OR IGNORE INTO viewer_reads (viewer, id) VALUES (?, ?)", viewer_reads)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far is committed."""
        if self._writer is None:
            return True
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def compact(self, now: float | None = None) -> None:
        """Retention by age and count; old progress events folded to each scan's latest."""
        now = time.time() if now is None else now
        o = self.options
        with self._lock:
            self._db.execute(
                "DELETE FROM events WHERE event = 'scan_progress' AND at < ? AND id NOT IN "
                "(SELECT MAX(id) FROM events WHERE event = 'scan_progress' GROUP BY scan_id)",
                (now - o.compact_after,))
            self._db.execute("DELETE FROM events WHERE at < ?", (now - o.max_days * 86400,))
            self._db.execute("DELETE FROM events WHERE id <= (SELECT id FROM events ORDER BY id DESC "
                             "LIMIT 1 OFFSET ?)", (o.max_events,))
            self._db.execute("DELETE FROM viewer_reads WHERE rowid <= (SELECT rowid FROM viewer_reads ORDER BY rowid "
                             "DESC LIMIT 1 OFFSET ?)", (o.max_events,))  # read flags: as many as events
        self._last_compaction = now

    def close(self) -> None:
        """Commit what is queued, stop the writer, close the database; safe to call twice."""
        writer = self._writer
        if writer is not None and writer.is_alive():
            self._queue.put(_STOP)
            writer.join(10)
        with self._lock:
            self._db.close()

    # ---- reading -------------------------------------------------------------------------

    def rows(self, since_at: float = float("-inf")) -> Iterator[tuple[str | None, int | None, str, Any, float]]:
        """(epoch, seq, event, data, at) in the order they were applied."""
        with self._lock:
            cursor = self._db.execute(
                "SELECT epoch, seq, event, data, at FROM events WHERE at >= ? ORDER BY id", (since_at,))
            batch = cursor.fetchall()
        for epoch, seq, event, data, at in batch:
            yield epoch, seq, event, json.loads(data), at

    def replay(self, store: Any) -> int:
        """Rebuild `store` from the journal: events in order, then read flags."""
        journal, store.journal = store.journal, None  # what is replayed is not journaled again
        count = 0
        try:
            for epoch, _seq, event, data, at in self.rows():
                if not protocol.sane_time(at):  # written by an older version
                    store.reject(event, f"journal: arrival time {protocol.preview(at, 40)} is not a time",
                                 data, time.time())
                elif event == SNAPSHOT:
                    store.load_state(data, at=at)
                else:
                    if epoch not in (None, IMPORTED):  # imported events belong to no stream
                        store.set_epoch(epoch, at)
                    store.apply(event, data, at=at)
                count += 1
            with self._lock:
                reads = [nid for (nid,) in self._db.execute("SELECT id FROM reads")]
            store.mark_read(reads, journal=False)
        finally:
            store.journal = journal
        return count

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def meta_items(self, prefix: str) -> list[tuple[str, str]]:
        with self._lock:
            return self._db.execute("SELECT key, value FROM meta WHERE key >= ? AND key < ?",
                                    (prefix, prefix + "\uffff")).fetchall()

    def drop_meta(self, keys: Iterable[str]) -> None:
        with self._lock:
            self._db.executemany("DELETE FROM meta WHERE key = ?", [(k,) for k in keys])

    def stats(self) -> dict[str, Any]:
        with self._lock:
            total, oldest, newest = self._db.execute("SELECT COUNT(*), MIN(at), MAX(at) FROM events").fetchone()
            by_event = dict(self._db.execute("SELECT event, COUNT(*) FROM events GROUP BY event ORDER BY 2 DESC"))
            reads = self._db.execute("SELECT COUNT(*) FROM reads").fetchone()[0]
        size = os.path.getsize(self.path) if self.path != ":memory:" else 0
        return {"path": self.path, "gateway": self.get_meta(GATEWAY), "epochs": self.epochs(), "events": total,
                "by_event": by_event, "read_flags": reads, "oldest": oldest, "newest": newest, "bytes": size}

    def epochs(self) -> list[str]:
        """The streams this journal followed, oldest first (its epoch lineage)."""
        with self._lock:
            return [e for (e,) in self._db.execute(
                "SELECT epoch FROM events WHERE epoch IS NOT NULL AND epoch != ? GROUP BY epoch ORDER BY MIN(id)",
                (IMPORTED,))]

    def bind(self, gateway: str) -> None:
        """Belong to `gateway`'s stream; a journal that belongs to another is refused (one
        journal per stream: a dashboard never shows another gateway's scans)."""
        owner = self.get_meta(GATEWAY)
        if owner is not None and owner != gateway:
            raise OtherStream(f"it holds the stream of {owner}, not {gateway}")
        if owner is None:
            self.set_meta(GATEWAY, gateway)

    # ---- JSON Lines ----------------------------------------------------------------------

    def export(self, out: TextIO) -> int:
        count = 0
        for epoch, seq, event, data, at in self.rows():
            out.write(json.dumps({"event": event, "data": data, "at": at, "epoch": epoch, "seq": seq}) + "\n")
            count += 1
        return count

    def import_lines(self, lines: Iterable[str], errors: TextIO = sys.stderr) -> tuple[int, int]:
        """Append events from JSON Lines (`{"event", "data", "at"?}`); they lose their seq and
        epoch, as they come from another stream, and leave the resume position as it was. Bad
        lines are reported and skipped."""
        rows, skipped = [], 0
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                if item.get("event") == SNAPSHOT:
                    raise protocol.InvalidEvent("snapshots are not imported")
                data = protocol.parse(item["event"], item.get("data")).model_dump(
                    exclude_none=True, exclude={"seq"}, mode="json")
                at = float(item.get("at") or time.time())
                if not protocol.sane_time(at):
                    raise protocol.InvalidEvent(f"at: {at!r} is not a time between 1990 and 2099")
                # No epoch: an imported event belongs to no stream, so the resume position stays.
                rows.append((None, item["event"], data, at))
            except json.JSONDecodeError as exc:
                skipped += 1
                print(f"line {number}: skipped: not JSON: {exc}", file=errors)
            except protocol.InvalidEvent as exc:
                skipped += 1
                print(f"line {number}: skipped: {exc.reason}", file=errors)
            except (KeyError, TypeError, AttributeError, ValueError) as exc:
                skipped += 1
                print(f"line {number}: skipped: expected {{\"event\": ..., \"data\": {{...}}}} ({exc!r})", file=errors)
        self.write(rows)
        return len(rows), skipped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m realtime.journal", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["stats", "export", "import"])
    parser.add_argument("file", nargs="?", help="export: write here (default stdout); import: read this")
    parser.add_argument("--journal", help="journal path [env BUGHUNT_JOURNAL]")
    parser.add_argument("--gateway", default=os.environ.get("BUGHUNT_WS_URL", ""),
                        help="whose journal, for `{gateway}` in the path [env BUGHUNT_WS_URL; unset: demo mode's]")
    args = parser.parse_args(argv)
    options = from_env(JournalOptions)
    from realtime.journal_files import journal_path  # it builds on this module
    journal = Journal(journal_path(args.journal or options.path, args.gateway), options)
    try:
        if args.command == "stats":
            print(json.dumps(journal.stats(), indent=2))
        elif args.command == "export":
            with (open(args.file, "w") if args.file else sys.stdout) as out:
                count = journal.export(out)
            print(f"exported {count} events", file=sys.stderr)
        else:
            if not args.file:
                parser.error("import needs a FILE")
            with open(args.file) as f:
                imported, skipped = journal.import_lines(f)
            print(f"imported {imported} events, skipped {skipped} lines", file=sys.stderr)
    finally:
        journal.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

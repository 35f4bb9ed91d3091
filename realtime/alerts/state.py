"""The worker's durable state in one SQLite file: stream cursor, scans, open digests, the
delivery log (outbox) and the one-host lease.

A batch of events is handled in one transaction: the alerts it makes (outbox rows or digest
items) and the cursor past its last seq commit together. After a crash the worker resumes from
the cursor, so an event is either fully handled (its alerts are in the outbox) or not at all
(the gateway replays it) — nothing lost, nothing made twice.
"""
from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any

from realtime.alerts.engine import Alert, ScanInfo

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS scans (scan_id TEXT PRIMARY KEY, info TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS windows (route TEXT PRIMARY KEY, opened REAL NOT NULL, due REAL NOT NULL);
CREATE TABLE IF NOT EXISTS pending (
    id INTEGER PRIMARY KEY, route TEXT NOT NULL, key TEXT NOT NULL, kind TEXT NOT NULL,
    rank INTEGER NOT NULL, alert TEXT NOT NULL, UNIQUE (route, key));
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY, route TEXT NOT NULL, destination TEXT NOT NULL, key TEXT NOT NULL,
    title TEXT NOT NULL, body TEXT NOT NULL, format TEXT NOT NULL, notify_type TEXT NOT NULL,
    created REAL NOT NULL, status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL DEFAULT 0, done_at REAL, error TEXT, UNIQUE (route, key));
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (destination, status, id);
CREATE INDEX IF NOT EXISTS outbox_route ON outbox (route, created);
CREATE TABLE IF NOT EXISTS lease (name TEXT PRIMARY KEY, owner TEXT NOT NULL, until REAL NOT NULL);
"""


def connect(path: str) -> sqlite3.Connection:
    """One connection per thread; WAL so senders and the handler do not block each other."""
    path = os.path.expanduser(path)
    if path != ":memory:":
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(SCHEMA)
    return db


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


class State:
    """What the handler thread reads and writes (senders use `Outbox`)."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    # ---- cursor and scans ------------------------------------------------------------------

    def cursor(self) -> tuple[str | None, int | None]:
        rows = dict(self.db.execute("SELECT key, value FROM meta WHERE key IN ('epoch', 'seq')"))
        return rows.get("epoch"), int(rows["seq"]) if rows.get("seq") not in (None, "") else None

    def set_cursor(self, epoch: str | None, seq: int | None) -> None:
        self.db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                            [("epoch", epoch), ("seq", "" if seq is None else str(seq))])

    def scans(self) -> list[ScanInfo]:
        return [ScanInfo(**json.loads(info)) for (info,) in self.db.execute("SELECT info FROM scans ORDER BY rowid")]

    def save_scans(self, changed: list[ScanInfo], forgotten: set[str]) -> None:
        self.db.executemany("DELETE FROM scans WHERE scan_id = ?", [(s,) for s in forgotten])
        self.db.executemany("INSERT OR REPLACE INTO scans (scan_id, info) VALUES (?, ?)",
                            [(i.scan_id, json.dumps(asdict(i))) for i in changed])

    # ---- digests -----------------------------------------------------------------------------

    def add_pending(self, route: str, alert: Alert, rank: int, window: float, now: float) -> None:
        self.db.execute("INSERT OR IGNORE INTO pending (route, key, kind, rank, alert) VALUES (?, ?, ?, ?, ?)",
                        (route, alert.key, alert.kind, rank, json.dumps(alert.to_dict())))
        self.db.execute("INSERT OR IGNORE INTO windows (route, opened, due) VALUES (?, ?, ?)",
                        (route, now, now + window))

    def due_windows(self, now: float) -> list[str]:
        return [r for (r,) in self.db.execute("SELECT route FROM windows WHERE due <= ? ORDER BY due", (now,))]

    def postpone(self, route: str, due: float) -> None:
        self.db.execute("UPDATE windows SET due = ? WHERE route = ?", (due, route))

    def take_window(self, route: str, top: int) -> tuple[list[Alert], int, dict[str, int], dict[str, int]]:
        """Close a route's window: its top alerts (most severe first), how many in all, counts by
        kind and findings by severity. The items are deleted in the caller's transaction."""
        rows = self.db.execute("SELECT alert FROM pending WHERE route = ? ORDER BY rank DESC, id LIMIT ?",
                               (route, top)).fetchall()
        by_kind = dict(self.db.execute("SELECT kind, COUNT(*) FROM pending WHERE route = ? GROUP BY kind", (route,)))
        severities: dict[str, int] = {}
        for (alert,) in self.db.execute("SELECT alert FROM pending WHERE route = ? AND kind = 'finding'", (route,)):
            severity = json.loads(alert)["severity"]
            severities[severity] = severities.get(severity, 0) + 1
        self.db.execute("DELETE FROM pending WHERE route = ?", (route,))
        self.db.execute("DELETE FROM windows WHERE route = ?", (route,))
        return [Alert(**json.loads(a)) for (a,) in rows], sum(by_kind.values()), by_kind, severities

    # ---- outbox --------------------------------------------------------------------------------

    def enqueue(self, route: str, destination: str, key: str, rendered: tuple[str, str, str], notify_type: str,
                now: float) -> bool:
        title, body, fmt = rendered
        cur = self.db.execute(
            "INSERT OR IGNORE INTO outbox (route, destination, key, title, body, format, notify_type, created) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (route, destination, key, title, body, fmt, notify_type, now))
        return cur.rowcount == 1

    def sent_within(self, route: str, since: float) -> int:
        return self.db.execute("SELECT COUNT(*) FROM outbox WHERE route = ? AND created >= ?",
                               (route, since)).fetchone()[0]

    def prune(self, before: float) -> None:
        self.db.execute("DELETE FROM outbox WHERE status != 'pending' AND done_at < ?", (before,))


class Outbox:
    """A destination's sender's view of the delivery log."""

    def __init__(self, db: sqlite3.Connection, destination: str):
        self.db, self.destination = db, destination

    def next(self) -> dict[str, Any] | None:
        row = self.db.execute(
            "SELECT id, title, body, format, notify_type, attempts, next_at, created FROM outbox "
            "WHERE destination = ? AND status = 'pending' ORDER BY id LIMIT 1", (self.destination,)).fetchone()
        keys = ("id", "title", "body", "format", "notify_type", "attempts", "next_at", "created")
        return dict(zip(keys, row)) if row else None

    def sent(self, row_id: int) -> None:
        self.db.execute("UPDATE outbox SET status = 'sent', attempts = attempts + 1, done_at = ?, error = NULL "
                        "WHERE id = ?", (time.time(), row_id))

    def retry(self, row_id: int, at: float, error: str) -> None:
        self.db.execute("UPDATE outbox SET attempts = attempts + 1, next_at = ?, error = ? WHERE id = ?",
                        (at, error, row_id))

    def failed(self, row_id: int, error: str) -> None:
        self.db.execute("UPDATE outbox SET status = 'failed', attempts = attempts + 1, done_at = ?, error = ? "
                        "WHERE id = ?", (time.time(), error, row_id))

    def counts(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT status, COUNT(*) FROM outbox WHERE destination = ? GROUP BY status",
                                    (self.destination,)))

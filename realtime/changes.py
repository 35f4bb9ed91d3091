"""What changed in the store, by kind, for change-driven reruns (see realtime/push.py).

Each kind (scans, findings, notifications, one scan's events, ...) has a counter that grows when
the store changes in a way that kind's readers would see. A live area waits for the sum of its
kinds' counters to pass the sum it last saw. Changes that are not routine advance the counters at
most once per `min_interval`, routine changes (progress, metrics, findings below high) at most
once per `routine_interval`: a flood of them costs each tab about one rerun a second, not one per
event, while a notification, a scan's start or end or a high finding shows at once (a routine
release just before does not hold it back) — and reruns only the areas that show its kinds, not
every area a held-back progress update would. No Streamlit here.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable
from typing import Any

from realtime import protocol
from realtime.models import EventRecord

SCANS, FINDINGS, NOTIFICATIONS, METRICS = "scans", "findings", "notifications", "metrics"
EVENTS, CONNECTION, TOASTS = "events", "connection", "toasts"
# How many scans are under way changed (the sidebar's count): a scan's start or end is a toast too,
# but a scan first seen by its progress, or back in contact, is not.
ACTIVE = "active"
# A change no event record explains (a notification marked read, the connection's rooms, a new
# epoch): every page's kinds include it except a share link's, which hears of its scan only.
OTHER = "other"
SCAN_PREFIX = "scan:"
SCAN_EVENTS = frozenset(("scan_started", "scan_progress", "scan_completed", "scan_failed"))
TOAST_EVENTS = frozenset(("scan_started", "scan_completed", "scan_failed", "notification", "finding_triaged"))
FINDING_EVENTS = frozenset(("vulnerability_found", "finding_triaged"))
ROUTINE_EVENTS = frozenset(("scan_progress", "metrics_update", "vulnerability_found"))


def scan_kind(scan_id: str) -> str:
    return SCAN_PREFIX + scan_id


def kinds_of(event: str, data: Any) -> set[str]:
    """The kinds a logged event changes (`data`: its payload, or its log record)."""
    data = data if isinstance(data, dict | EventRecord) else {}
    kinds = {EVENTS}
    if event in SCAN_EVENTS:
        kinds.add(SCANS)
    if event in FINDING_EVENTS:
        kinds.update((FINDINGS, SCANS))
        if event == "vulnerability_found" and data.get("severity") in ("critical", "high"):
            kinds.add(TOASTS)
    if event in TOAST_EVENTS:
        kinds.add(TOASTS)
    if event == "notification":
        kinds.add(NOTIFICATIONS)
    if event == "metrics_update":
        kinds.add(METRICS)
    if event == protocol.CONNECTION_STATUS:
        kinds.update((CONNECTION, OTHER))
    if isinstance(scan_id := data.get("scan_id"), str):
        kinds.add(scan_kind(scan_id))
    return kinds


def routine(event: str, data: Any) -> bool:
    """A change that may wait for the next routine advance."""
    if event == "vulnerability_found":
        return isinstance(data, dict | EventRecord) and data.get("severity") not in ("critical", "high")
    return event in ROUTINE_EVENTS


class Changes:
    """Per-kind change counters over one store. `refresh()` looks at the store (cheap when its
    version did not move) and advances the counters; any thread may call it."""

    def __init__(self, store: Any, min_interval: float = 0.2, routine_interval: float = 0.0):
        self.store, self.min_interval, self.routine_interval = store, min_interval, routine_interval
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._held: Counter[str] = Counter()  # routine changes seen, not told yet
        self._everything = 0  # a change of every kind at once (a resync, a gap in the log)
        # The counts of scans the store no longer holds, summed: part of every scan kind's total,
        # so dropping their counters (memory stays bounded by the scans kept) shrinks no total.
        self._dropped = 0
        head = store.news(sys.maxsize)  # (no records: where the log stands)
        self._version, self._logged, self._active = head.version, head.logged, head.active
        self._published = float("-inf")  # monotonic time the counters last advanced for changes not routine
        self._routine_told = float("-inf")  # monotonic time the held routine changes were last told
        self._advanced = 0  # how often a look advanced the counters, by whichever thread
        # What `touch` counted, under a lock of its own that is never held while waiting for the
        # store: a thread holding the store's lock may wait for one that touches (the journal's writer).
        self._touched: Counter[str] = Counter()
        self._touch_lock = threading.Lock()

    def total(self, kinds: Iterable[str]) -> int:
        """The sum a reader of these kinds compares with: it only grows."""
        with self._lock:
            kinds = tuple(kinds)
            dropped = self._dropped if any(k.startswith(SCAN_PREFIX) for k in kinds) else 0
            with self._touch_lock:
                touched = sum(self._touched.get(k, 0) for k in kinds)
            return sum(self._counts.get(k, 0) for k in kinds) + self._everything + dropped + touched

    def _routine_gap(self) -> float:
        """Routine changes are never told more often than notices may be (0 s would mean per look)."""
        return max(self.routine_interval, self.min_interval)

    def due(self) -> float:
        """Seconds until `refresh()` may advance the counters again (0: now): `min_interval` after
        the last advance for changes that are not routine (a routine release holds nothing back)."""
        return max(0.0, self._published + self.min_interval - time.monotonic())

    def pending(self) -> float | None:
        """Seconds until a `refresh()` may pass on changes it held back, or None: none waits."""
        if self.store.version != self._version:
            return self.due()
        if self._held:
            return max(self.due(), self._routine_told + self._routine_gap() - time.monotonic())
        return None

    def refresh(self) -> bool:
        """Advance the counters for what changed since the last call; False when nothing did,
        or when the last advance for changes that are not routine was under `min_interval` ago.
        Routine changes of a kind wait until `routine_interval` after the last routine ones were
        told, unless a change of that kind that is not routine comes first (it brings them along);
        other kinds go at once."""
        if self.due() > 0:
            return False
        with self._lock:
            now = time.monotonic()
            urgent: Counter[str] = Counter()
            everything = self.store.version != self._version and self._look(urgent)
            pressing = everything or bool(urgent)
            if everything or now >= self._routine_told + self._routine_gap():
                urgent.update(self._held)
                self._held.clear()
            for kind in urgent.keys() & self._held.keys():
                urgent[kind] += self._held.pop(kind)
            if not urgent and not everything:
                return False
            if not self._held:  # nothing waits: the routine interval starts now (a wait never restarts)
                self._routine_told = now
            self._counts.update(urgent)
            self._everything += everything
            if pressing:
                self._published = now
            self._advanced += 1
            # Renders share the store's last snapshot for a while (max_age): it must hold what was just
            # counted, or an area would report a total it does not show and never be told again.
            self.store.snapshot()
        return True

    def _look(self, urgent: Counter[str]) -> bool:
        """Count the store's new log records, routine ones into `_held`; True when every kind
        changed (the log dropped records not yet seen, or a snapshot replaced the state)."""
        news = self.store.news(self._logged)  # (not a snapshot: most looks cause no rerun)
        fresh = news.records
        everything = bool(fresh) and fresh[-1].index > self._logged
        for record in fresh:
            (self._held if routine(record.event, record) else urgent).update(kinds_of(record.event, record))
            everything = everything or record.event == "snapshot"
        if news.version - self._version > news.logged - self._logged:  # a change with no record: each has one
            urgent[OTHER] += 1
        if news.active != self._active:  # with what is told now (a start or end toasts), else routine
            (urgent if urgent else self._held)[ACTIVE] += 1
        self._version, self._logged, self._active = news.version, news.logged, news.active
        self._forget_gone_scans(news.scans)
        return everything

    def _forget_gone_scans(self, held: int) -> None:
        """Drop the counters of scans the store dropped, once there are more than 2 × (scans it
        holds) + 64 counters. No total shrinks; the areas watching a scan rerun once."""
        if len(self._counts) <= 2 * held + 64:
            return
        scans = self.store.snapshot().scans
        gone = [k for k in self._counts if k.startswith(SCAN_PREFIX) and k[len(SCAN_PREFIX):] not in scans]
        self._dropped += sum(self._counts.pop(k) for k in gone)

    def touch(self, kind: str) -> None:
        """Count a change of `kind` that is not in the store (whose read flags a tab shows)."""
        with self._touch_lock:
            self._touched[kind] += 1

    @property
    def advances(self) -> int:
        """How often the counters advanced (a look, a touch): the watcher tells the tabs when it moved."""
        with self._touch_lock:
            return self._advanced + self._touched.total()


class Tickets:
    """Signed, short-lived permissions to hear of some kinds: minted by a script run that passed
    the page's checks (login, share link), checked by the change socket. The key is the
    process's own: a ticket means nothing to another process."""

    def __init__(self, key: bytes | None = None):
        self._key = key or secrets.token_bytes(32)

    def mint(self, kinds: Iterable[str], ttl: float) -> str:
        body = json.dumps({"k": sorted(kinds), "e": round(time.time() + ttl)}, separators=(",", ":"))
        return body + "." + self._sign(body)

    def check(self, ticket: str) -> list[str] | None:
        """The kinds a ticket grants, or None when it is forged, malformed or expired."""
        body, _, signature = ticket.rpartition(".")
        if not body or not hmac.compare_digest(signature, self._sign(body)):
            return None
        try:
            doc = json.loads(body)
            kinds, expires = doc["k"], float(doc["e"])
        except (ValueError, KeyError, TypeError):
            return None
        if expires < time.time() or not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
            return None
        return kinds

    def _sign(self, body: str) -> str:
        return hmac.new(self._key, body.encode(), hashlib.sha256).hexdigest()

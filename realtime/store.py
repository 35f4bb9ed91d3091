"""EventStore: the state every page reads. One writer applies events; readers take snapshots. Writes happen under a
lock into mutable records; `snapshot()` turns them into frozen objects, rebuilding only what changed since the last
one, and a snapshot is cached by version: viewers of one version share one object."""
from __future__ import annotations

import logging
import threading
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from realtime import models, protocol, resync
from realtime.debug import fields
from realtime.findings import FindingLog, diff_of, finding_of, triage_of
from realtime.models import (
    ConnectionState,
    EventRecord,
    HistoryPoint,
    Notification,
    RejectedEvent,
    Sample,
    Scan,
    ScanRecord,
    Snapshot,
)
from realtime.options import StoreOptions

log = logging.getLogger("bughunt.store")
SCAN_COUNTS = ("total_scans", "active_scans", "completed_scans")  # always counted from our scans
FINDING_COUNTS = ("total_vulnerabilities", "critical_count")  # at least what our panels show


class EventStore:
    def __init__(self, options: StoreOptions | None = None, journal: Any = None):
        self.options = options or StoreOptions()
        self._lock = threading.Lock()
        self._version = self._logged = 0
        self._scans: OrderedDict[str, ScanRecord] = OrderedDict()
        self._status_counts: Counter[str] = Counter()
        self._findings = FindingLog(self.options.max_findings)
        self._server_metrics: dict[str, int] = {}
        self._notifications: OrderedDict[str, Notification] = OrderedDict()
        self._events: deque[EventRecord] = deque(maxlen=self.options.max_events)
        self._rejected: deque[RejectedEvent] = deque(maxlen=self.options.max_rejected)
        self._connection = ConnectionState()
        self._dirty_scans: set[str] = set()
        self._scans_view: dict[str, Scan] = {}
        self._changed: set[str] = set()  # which snapshot parts need rebuilding
        self._snapshot: Snapshot | None = None
        self._snapshot_at = 0.0  # monotonic time it was taken
        self._urgent = False  # a local change readers must see now, whatever max_age says
        self._samples: deque[Sample] = deque(maxlen=self.options.max_samples)
        self._samples_view: tuple[Sample, ...] = ()
        self._epoch: str | None = None
        self._last_seq, self._seq_skipped = -1, 0
        self.journal = journal
        self._handlers = {name: getattr(self, "_on_" + name) for name in protocol.SERVER_EVENTS}
        self._listeners: list[Callable[[], None]] = []

    def listen(self, callback: Callable[[], None]) -> None:
        """Call `callback` after each change, under the lock: quick, and no reads of the store."""
        self._listeners.append(callback)

    def _changed_version(self) -> None:
        self._version += 1
        for callback in self._listeners:
            callback()

    # ---- writing -------------------------------------------------------------------------

    def apply(self, event: str, payload: Any, at: float | None = None) -> protocol.Event | None:
        """Apply one server event. Returns the parsed event, or None when it was rejected (kept
        in `rejected` with its reason) or is unknown (logged, no state change)."""
        at = time.time() if at is None else at
        try:
            parsed = protocol.parse(event, payload)
        except protocol.InvalidEvent as exc:
            self.reject(event, exc.reason, payload, at)
            return None
        return self.apply_parsed(event, parsed, at)

    def reject(self, event: Any, reason: str, payload: Any, at: float) -> None:
        """Keep a server event that cannot be applied in `rejected`, with its reason."""
        if event in protocol.SERVER_EVENTS:
            log.info(fields("event rejected", event=event, reason=reason))
        with self._lock:
            if event in protocol.SERVER_EVENTS:
                self._rejected.append(RejectedEvent(str(event), reason, protocol.preview(payload), at))
                self._changed.add("rejected")
            else:  # unknown names are the '*' monitor's business, not state
                self._log(None, protocol.preview(event, 100), protocol.preview(payload), at)
            self._changed_version()

    def apply_parsed(self, event: str, parsed: protocol.Event, at: float | None = None) -> protocol.Event | None:
        """Apply an event already validated by `protocol.parse` (None: its seq was applied)."""
        at = time.time() if at is None else at
        seq = parsed.seq
        with self._lock:
            if seq is not None:
                if seq <= self._last_seq:  # applied already: exactly once, so overlaps are harmless
                    self._seq_skipped += 1
                    self._changed_version()
                    return None
                self._last_seq = seq
            self._handlers[event](parsed, at)
            self._log(seq, event, None, at, parsed)
            self._changed_version()
            if self.journal is not None:
                self.journal.append(self._epoch, event, parsed, at)
        return parsed

    @property
    def stream(self) -> tuple[str | None, int | None]:
        """(epoch, last applied seq): where to resume from."""
        with self._lock:
            return self._epoch, None if self._last_seq < 0 else self._last_seq

    def set_epoch(self, epoch: str | None, at: float | None = None) -> None:
        """Follow another stream: its seqs start afresh, and the scans under way on the old one
        lose contact (nothing will ever finish them there)."""
        with self._lock:
            if epoch != self._epoch:
                if self._epoch is not None:
                    self._lose_contact(f"the gateway's stream changed (new epoch {protocol.preview(epoch, 40)})",
                                       time.time() if at is None else at)
                self._epoch, self._last_seq = epoch, -1
                self._changed_version()

    def _lose_contact(self, why: str, at: float, keep: Any = ()) -> None:
        for rec in self._scans.values():
            if rec.status in protocol.ACTIVE_STATUSES and rec.scan_id not in keep:
                self._set_status(rec, protocol.LOST_CONTACT)
                rec.lost_at, rec.lost_why, rec.frozen, self._urgent = at, why, None, True
                self._dirty_scans.add(rec.scan_id)

    def load_state(self, doc: dict[str, Any], at: float | None = None) -> dict[str, int]:
        """Catch up from a gateway snapshot (GET /api/state): scans and metrics as the gateway has them (a
        scan we had under way that it lacks loses contact), findings and notifications it has that we lack
        (read flags stay ours). The stream position becomes the snapshot's. Returns what it loaded and left out."""
        at = time.time() if at is None else at
        doc = resync.checked(doc)
        with self._lock:
            if doc["scans"] is not None:
                self._lose_contact("not in the gateway's state when the dashboard resynced", at,
                                   {data["scan_id"] for data in doc["scans"]})
            for data in doc["scans"] or ():
                rec = self._scan(data["scan_id"], data["updated_at"])
                self._set_status(rec, data["status"])
                resync.fill_scan(rec, data, self.options.max_history)
            added = 0
            for vuln in reversed(doc["vulnerabilities"]):  # oldest first, like arrival
                if self._findings.add(vuln):
                    added += 1
                    if vuln.scan_id in self._scans:  # later live findings add to these
                        self._scans[vuln.scan_id].found += 1
            for note in reversed(doc["notifications"]):
                self._notifications.setdefault(note.id, note)
            while len(self._notifications) > self.options.max_notifications:
                self._notifications.popitem(last=False)
            self._server_metrics = dict(doc.get("metrics", {}))
            self._epoch = doc.get("epoch")
            self._last_seq = doc["last_seq"] if doc.get("last_seq") is not None else -1
            self._changed.update(("findings", "notifications"))
            self._urgent = True
            self._log(self._last_seq, models.STATE_LOADED, f"caught up from the gateway at seq {self._last_seq}", at)
            self._changed_version()
            if self.journal is not None:
                self.journal.append_snapshot(doc["original"], at)
        return {**doc["counts"], "findings": added}

    def _log(self, seq: int | None, event: str, data: Any, at: float,
             parsed: protocol.Event | None = None) -> None:
        self._events.append(EventRecord(self._logged, seq, event, data, at, parsed))
        self._logged += 1
        self._changed.add("events")

    def _scan(self, scan_id: str, at: float) -> ScanRecord:
        rec = self._scans.get(scan_id)
        if rec is None:
            if len(self._scans) >= self.options.max_scans:
                self._evict_scan()
            rec = self._scans[scan_id] = ScanRecord(scan_id, at)
            self._status_counts[rec.status] += 1
        elif rec.status == protocol.LOST_CONTACT:
            self._set_status(rec, "running")  # any later event of the scan brings it back
        rec.updated_at = at
        rec.frozen = None
        self._dirty_scans.add(scan_id)
        return rec

    def _evict_scan(self) -> None:
        victim = next((s for s, r in self._scans.items()
                       if r.status in protocol.TERMINAL_STATUSES), next(iter(self._scans)))
        self._status_counts[self._scans.pop(victim).status] -= 1
        self._scans_view.pop(victim, None)
        self._dirty_scans.discard(victim)

    def _set_status(self, rec: ScanRecord, status: str) -> None:
        self._status_counts[rec.status] -= 1
        self._status_counts[status] += 1
        rec.status = status
        if status != protocol.LOST_CONTACT:
            rec.lost_at = rec.lost_why = None  # back in contact

    def _on_scan_started(self, ev: protocol.ScanStarted, at: float) -> None:
        rec = self._scan(ev.scan_id, at)
        if rec.status in protocol.TERMINAL_STATUSES:
            return  # terminal states are sticky: a late start must not revive a scan
        rec.name = ev.scan_name or rec.name
        rec.target = ev.target or rec.target
        rec.started_at = min(rec.started_at, ev.epoch(at))
        if ev.status == "running" or rec.progress == 0:
            self._set_status(rec, ev.status)

    def _on_scan_progress(self, ev: protocol.ScanProgress, at: float) -> None:
        rec = self._scan(ev.scan_id, at)
        if rec.status in protocol.TERMINAL_STATUSES:
            return
        if rec.status == "queued":
            self._set_status(rec, "running")
        if ev.vulnerabilities_found is not None:
            rec.reported = max(rec.reported, ev.vulnerabilities_found)
        if ev.progress < rec.progress:
            return  # late or reordered: never move backwards
        rec.progress = ev.progress
        rec.phase = ev.phase or rec.phase
        rec.current_step = ev.current_step or rec.current_step
        self._add_history(rec, HistoryPoint(ev.epoch(at), ev.progress, rec.phase))

    def _add_history(self, rec: ScanRecord, point: HistoryPoint) -> None:
        history = rec.history
        history.append(point)
        if len(history) > self.options.max_history:
            # Thin out to half, keeping the first and the newest point: O(1) amortised, the curve's shape kept.
            del history[1:-1:2]

    def _finish(self, rec: ScanRecord, status: str, ev: protocol.Event, at: float) -> bool:
        """End the scan at the event's own time; its duration is the one reported, else the span
        since its start (a reported duration is the tool's word, whatever clock timed the start)."""
        if rec.status in protocol.TERMINAL_STATUSES:
            return False  # first terminal event wins; later ones are late or duplicates
        self._set_status(rec, status)
        rec.name = ev.scan_name or rec.name
        rec.finished_at = ev.epoch(at)
        reported = getattr(ev, "duration", None)
        rec.duration = reported if reported is not None else max(0.0, rec.finished_at - rec.started_at)
        return True

    def _on_scan_completed(self, ev: protocol.ScanCompleted, at: float) -> None:
        rec = self._scan(ev.scan_id, at)
        if not self._finish(rec, "completed", ev, at):
            return
        rec.progress = 100.0
        rec.current_step = None  # the last step ("NSE: 99.82 %") is over
        if ev.total_vulnerabilities is not None:
            rec.reported = max(rec.reported, ev.total_vulnerabilities)
        rec.diff = diff_of(ev.diff)
        self._add_history(rec, HistoryPoint(rec.finished_at, 100.0, rec.phase))

    def _on_scan_failed(self, ev: protocol.ScanFailed, at: float) -> None:
        rec = self._scan(ev.scan_id, at)
        if self._finish(rec, ev.status, ev, at):  # failed, or cancelled/abandoned by someone
            rec.error = ev.error

    def _on_vulnerability_found(self, ev: protocol.VulnerabilityFound, at: float) -> None:
        if self._findings.add(finding_of(ev, at)):  # else re-sent: the same finding, seen again
            self._scan(ev.scan_id, at).found += 1
        self._changed.add("findings")

    def _on_finding_triaged(self, ev: protocol.FindingTriaged, at: float) -> None:
        if self._findings.retriage(ev.fingerprint, triage_of(ev)):
            self._changed.add("findings")

    def _on_metrics_update(self, ev: protocol.MetricsUpdate, at: float) -> None:
        self._server_metrics.update(ev.values())

    def _on_notification(self, ev: protocol.Notification, at: float) -> None:
        nid = ev.notification_id()
        if nid in self._notifications:
            return
        if len(self._notifications) >= self.options.max_notifications:
            self._notifications.popitem(last=False)
        self._notifications[nid] = Notification(
            nid, ev.type, ev.title, ev.message, ev.scan_id, ev.user_id, False, ev.epoch(at))
        self._changed.add("notifications")

    def mark_read(self, ids: Any = None, journal: bool = True) -> int:
        """Mark the given notification ids (all when None) as read; returns how many changed."""
        with self._lock:
            targets = self._notifications if ids is None else dict.fromkeys(ids)  # (an id given twice: once)
            changed = [nid for nid in targets if (n := self._notifications.get(nid)) is not None and not n.read]
            for nid in changed:
                self._notifications[nid] = replace(self._notifications[nid], read=True)
            if changed:
                self._changed.add("notifications")
                self._changed_version()
                self._urgent = True
                if journal and self.journal is not None:
                    self.journal.mark_read(changed)
            return len(changed)

    def set_connection(self, state: ConnectionState, log: str | None = None) -> None:
        """Record the client's connection state; `log` adds a line to the event log."""
        with self._lock:
            self._connection = state
            if log is not None:
                self._log(None, protocol.CONNECTION_STATUS, log, time.time())
            self._changed_version()

    # ---- reading -------------------------------------------------------------------------

    @property
    def version(self) -> int:
        return self._version

    def news(self, cursor: int) -> models.LogNews:
        """The log records at or after position `cursor`, and the store's version and position."""
        with self._lock:
            return models.LogNews(self._version, self._logged, len(self._scans), self._active(),
                                  models.newest_records(reversed(self._events), cursor))

    def _active(self) -> int:
        return sum(self._status_counts[s] for s in protocol.ACTIVE_STATUSES)  # (the Active Scans card's)

    def snapshot(self, max_age: float = 0.0) -> Snapshot:
        """The current state, frozen. With `max_age`, a snapshot taken less than that many seconds ago
        is returned even if events arrived since: viewers of a busy store then share one snapshot (and
        everything derived from it) instead of one each. A local action (mark read, a catch-up) shows at once."""
        with self._lock:
            prev = self._snapshot
            if prev is not None and (prev.version == self._version or (
                    max_age and not self._urgent and time.monotonic() - self._snapshot_at < max_age)):
                return prev
            self._urgent = False
            self._snapshot_at = time.monotonic()
            for scan_id in self._dirty_scans:
                self._scans_view[scan_id] = self._scans[scan_id].freeze()
            self._dirty_scans.clear()
            changed, self._changed = self._changed, set()
            if prev is None or "findings" in changed:
                findings = self._findings.view()
                severity = MappingProxyType({s: self._findings.severity.get(s, 0) for s in protocol.SEVERITIES})
                histogram = MappingProxyType(dict(self._findings.histogram))
            else:
                findings, severity, histogram = prev.vulnerabilities, prev.severity_counts, prev.findings_histogram
            if prev is None or "notifications" in changed:
                notifications = tuple(reversed(self._notifications.values()))
                unread = sum(not n.read for n in notifications)
            else:
                notifications, unread = prev.notifications, prev.unread
            metrics = self._metrics()
            snap = Snapshot(
                version=self._version,
                scans=MappingProxyType(dict(self._scans_view)),
                vulnerabilities=findings,
                severity_counts=severity,
                findings_histogram=histogram,
                metrics=MappingProxyType(metrics), server_metrics=MappingProxyType(dict(self._server_metrics)),
                notifications=notifications,
                events=tuple(reversed(self._events)) if prev is None or "events" in changed else prev.events,
                rejected=(tuple(reversed(self._rejected))
                          if prev is None or "rejected" in changed else prev.rejected),
                connection=self._connection,
                unread=unread,
                epoch=self._epoch,
                last_seq=None if self._last_seq < 0 else self._last_seq,
                seq_skipped=self._seq_skipped,
                logged=self._logged,
                samples=self._sample(),
                triaged_away=self._findings.away,
            )
            self._snapshot = snap
            return snap

    def derived_metrics(self) -> dict[str, int]:  # counted from what the store holds, not the server's
        with self._lock:
            return self._derived_metrics()

    def _sample(self) -> tuple[Sample, ...]:
        now = time.time()
        if not self._samples or now - self._samples[-1].at >= self.options.sample_seconds:
            self._samples.append(Sample(now, self._metrics(), self._logged))
            self._samples_view = tuple(self._samples)
        return self._samples_view

    def _metrics(self) -> dict[str, int]:
        # Cards agree with the panels: scan counts are ours; a finding count is the larger of the
        # server's (findings beyond what we hold) and ours (a restarted gateway forgot some).
        derived, server = self._derived_metrics(), self._server_metrics
        found = {key: max(derived[key], server.get(key, 0)) for key in FINDING_COUNTS}
        return {**derived, **server, **found, **{key: derived[key] for key in SCAN_COUNTS}}

    def _derived_metrics(self) -> dict[str, int]:
        return {"total_scans": len(self._scans), "active_scans": self._active(),
                "total_vulnerabilities": self._findings.seen,  # triaged-away criticals are not critical work
                "critical_count": self._findings.critical_seen - self._findings.critical_away,
                "completed_scans": self._status_counts["completed"]}

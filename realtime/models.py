"""The store's records: what pages read (frozen) and the writer's mutable twin of a scan."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from realtime import protocol

if TYPE_CHECKING:
    from realtime.findings import Findings


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    at: float
    progress: float
    phase: str | None


# Triaged away: judged not to need work. Out of the Critical card, toasts and alerts by default.
TRIAGED_AWAY = frozenset(protocol.TRIAGE_STATES[1:])  # false_positive, accepted_risk, fixed


@dataclass(frozen=True, slots=True)
class ScanDiff:
    """A completed scan against the previous completed scan of its target (protocol.ScanDiff)."""

    previous_scan_id: str | None
    previous_completed_at: float | None
    new: int
    still_open: int
    fixed: int


@dataclass(frozen=True, slots=True)
class Triage:
    """How someone judged every finding of a fingerprint (protocol.Triage); `at` in epoch seconds."""

    state: str
    note: str | None = None
    by: str | None = None
    at: float | None = None

    @property
    def away(self) -> bool:
        """Judged not to need work (false positive, accepted risk, fixed)."""
        return self.state in TRIAGED_AWAY


@dataclass(frozen=True, slots=True)
class Scan:
    scan_id: str
    name: str | None
    target: str | None
    status: str
    progress: float
    phase: str | None
    current_step: str | None
    error: str | None
    vulnerability_count: int
    started_at: float
    updated_at: float
    finished_at: float | None
    duration: float | None
    history: tuple[HistoryPoint, ...]
    lost_at: float | None = None  # status "lost contact": since when, and why
    lost_why: str | None = None
    diff: ScanDiff | None = None  # a completed scan's comparison with the previous scan of its target

    @property
    def finished(self) -> bool:
        return self.status in protocol.TERMINAL_STATUSES


@dataclass(frozen=True, slots=True)
class Vulnerability:
    id: str
    scan_id: str
    title: str
    severity: str
    cvss_score: float | None
    url: str | None
    vulnerability_type: str | None
    description: str | None
    found_at: float
    extras: dict[str, Any] | None = None  # the optional triage fields (protocol.FINDING_EXTRAS) that are set
    # What's new, as the gateway's registry stamped it (None: a gateway without one)
    fingerprint: str | None = None
    known: bool | None = None
    first_seen_at: float | None = None
    previous_scan_id: str | None = None
    triage: Triage | None = None  # the fingerprint's newest triage the store has seen

    @property
    def triaged_away(self) -> bool:
        return self.triage is not None and self.triage.away


@dataclass(frozen=True, slots=True)
class Notification:
    id: str
    type: str
    title: str | None
    message: str
    scan_id: str | None
    user_id: str | None
    read: bool
    at: float


STATE_LOADED = "snapshot"  # the event name of the store's own log line when it loaded a gateway's state


class EventRecord:
    """One line of the event log. `data` is the normalised payload, made on first read: most
    records leave the bounded log unread, so the hot path only keeps the parsed event.

    Viewer threads share records (through snapshots) and read `data` concurrently: the payload
    lives in one slot, swapped whole from the parsed event to its dump, so every reader sees one
    or the other, never a half-done change (two first readers both dump, and agree)."""

    __slots__ = ("index", "seq", "event", "at", "_payload")

    def __init__(self, index: int, seq: int | None, event: str, data: Any, at: float,
                 parsed: protocol.Event | None = None):
        self.index = index  # position in everything this store logged: a cursor for viewers
        self.seq, self.event, self.at = seq, event, at
        self._payload = data if parsed is None else parsed

    @property
    def data(self) -> Any:
        payload = self._payload
        if isinstance(payload, protocol.Event):
            payload = payload.model_dump(exclude_none=True, mode="json")
            self._payload = payload
        return payload

    def get(self, name: str) -> Any:
        """One field of the payload, as `data` has it, without making `data` (the change watcher
        reads two of every record)."""
        payload = self._payload
        if isinstance(payload, protocol.Event):
            return getattr(payload, name, None)
        return payload.get(name) if isinstance(payload, dict) else None

    def __repr__(self) -> str:
        return f"EventRecord(seq={self.seq!r}, event={self.event!r}, data={self.data!r})"


def newest_records(events: Iterable[EventRecord], cursor: int) -> list[EventRecord]:
    """Log records at or after position `cursor`, from records given newest first."""
    fresh = []
    for record in events:
        if record.index < cursor:
            break
        fresh.append(record)
    return fresh


@dataclass(frozen=True, slots=True)
class LogNews:
    """What the store logged since a cursor and where it stands, without building a snapshot
    (the change watcher looks after each event; most looks cause no rerun)."""

    version: int
    logged: int
    scans: int  # how many scans the store holds
    active: int  # how many of them are under way
    records: list[EventRecord]  # newest first


@dataclass(frozen=True, slots=True)
class RejectedEvent:
    event: str
    reason: str
    payload: str
    at: float


@dataclass(frozen=True, slots=True)
class ConnectionState:
    connected: bool = False
    reason: str | None = None
    attempts: int = 0
    url: str | None = None
    since: float | None = None
    note: str | None = None  # how the last reconnect caught up ("replayed 37 missed events")
    rooms: tuple[str, ...] = ()
    refused: tuple[tuple[str, str], ...] = ()  # (room, the gateway's reason) for refused joins
    queued: int = 0
    dropped: int = 0
    trying: bool = False  # a connection attempt is under way
    next_try: float | None = None  # when the next attempt is due (epoch seconds), while waiting
    capabilities: Mapping[str, Any] | None = None  # what the gateway lets this client do (resume's answer)
    stream: Mapping[str, Any] | None = None  # whether the gateway's stream can take events (realtime.stream_health)


@dataclass(frozen=True, slots=True)
class Sample:
    """Metrics and the count of logged events at one moment, for sparklines and rates."""

    at: float
    metrics: Mapping[str, int]
    logged: int


@dataclass(frozen=True)
class Snapshot:
    version: int
    scans: Mapping[str, Scan]
    vulnerabilities: Findings  # newest first
    severity_counts: Mapping[str, int]  # findings held, by severity
    findings_histogram: Mapping[int, int]  # findings held, by HISTOGRAM_SECONDS bucket start
    metrics: Mapping[str, int]
    notifications: tuple[Notification, ...]
    events: tuple[EventRecord, ...]
    rejected: tuple[RejectedEvent, ...]
    connection: ConnectionState
    unread: int
    epoch: str | None  # the gateway stream the seqs belong to
    last_seq: int | None
    seq_skipped: int  # events whose seq was already applied: replay overlaps (or reordering)
    logged: int  # events logged so far (EventRecord.index of the newest + 1)
    samples: tuple[Sample, ...]
    server_metrics: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))  # as the gateway sent
    triaged_away: int = 0  # findings held that are triaged away (false positive, accepted risk, fixed)


class ScanRecord:
    """Mutable twin of Scan, changed in place by the writer."""

    __slots__ = ("scan_id", "name", "target", "status", "progress", "phase", "current_step",
                 "error", "found", "reported", "started_at", "updated_at", "finished_at",
                 "duration", "history", "lost_at", "lost_why", "diff", "frozen")

    def __init__(self, scan_id: str, at: float):
        self.scan_id = scan_id
        self.name = self.target = self.phase = self.current_step = self.error = None
        self.status = "running"
        self.progress = 0.0
        self.found = 0  # distinct findings received for this scan
        self.reported = 0  # count the scanner reported (it may send counts without findings)
        self.started_at = self.updated_at = at
        self.finished_at = self.duration = None
        self.history: list[HistoryPoint] = []
        self.lost_at: float | None = None
        self.lost_why: str | None = None
        self.diff: ScanDiff | None = None
        self.frozen: Scan | None = None  # cached frozen copy; None when changed since

    def freeze(self) -> Scan:
        if self.frozen is None:
            self.frozen = Scan(
                self.scan_id, self.name, self.target, self.status, self.progress, self.phase,
                self.current_step, self.error, max(self.found, self.reported), self.started_at,
                self.updated_at, self.finished_at, self.duration, tuple(self.history), self.lost_at,
                self.lost_why, self.diff)
        return self.frozen

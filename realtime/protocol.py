"""The event catalogue: every event of the wire protocol, its fields, aliases and validation.

One definition used by both ends (client store and gateway). Everything in an event is
untrusted, so every field has a type and a size limit; a payload that does not fit is rejected
with a reason instead of raising into a client or server thread.
"""
from __future__ import annotations

import hashlib
import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    ValidationError,
)

from realtime.untrusted_json import MAX_DEPTH, TooDeep, loads, preview, too_deep  # noqa: F401 - one catalogue

SEVERITIES = ("critical", "high", "medium", "low", "info")
NOTIFICATION_TYPES = ("success", "error", "warning", "info")
# In lifecycle order. "lost contact" is the dashboard's own: a scan it had as under way that the
# gateway's stream no longer knows (a new epoch, or a resync snapshot without it); a later event
# of the scan brings it back. "abandoned": someone gave up on a stuck or lost scan (its outcome unknown).
LOST_CONTACT = "lost contact"
SCAN_STATUSES = ("queued", "running", "completed", "failed", "cancelled", "abandoned", LOST_CONTACT)
ACTIVE_STATUSES = SCAN_STATUSES[:2]  # under way (a scanner may announce a scan as queued)
TERMINAL_STATUSES = frozenset(SCAN_STATUSES[2:6])  # sticky: a late event never revives a scan
TRIAGE_STATES = ("open", "false_positive", "accepted_risk", "fixed")
PHASES = ("passive_recon", "active_recon", "vulnerability_testing", "exploitation", "reporting")

# Client-local events: produced by RealtimeClient itself, never on the wire.
CONNECTION_STATUS = "connection_status"
CONNECTION_ERROR = "connection_error"
# The gateway asks each socket to acknowledge this event now and then: its answer, behind
# everything sent before it, says how far behind the client is (see docs/protocol.md).
BACKLOG_CHECK = "backlog_check"

# Long text fields get caps of their own, tight for fields never shown whole: 100,000 findings
# (the store's bound) × 4,000 characters is the most descriptions (and remediations) can cost a
# gateway or a dashboard; evidence (a request and response, a script's output) gets 8,000.
DESCRIPTION_LIMIT = 4_000
EVIDENCE_LIMIT = 8_000

ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")
ROOM_RE = re.compile(r"^(scan|user)_[A-Za-z0-9_-]{1,64}$")


def _id_to_str(value: Any) -> Any:
    # Ids arrive as ints or UUID strings; bool is an int in Python but never an id.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _room_id(value: Any) -> str:
    # One plain validator rather than a before-validator plus pattern: ids are on every event.
    if value.__class__ is not str:  # the usual case (a string) first and cheapest
        value = _id_to_str(value)
        if not isinstance(value, str):
            raise ValueError(f"must be a string or an integer, got {type(value).__name__}")
    if not ID_RE.match(value):
        raise ValueError("must be 1-64 letters, digits, '-' or '_'")
    return value


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _notification_type(value: Any) -> str:
    return value if (value := _lower(value)) in NOTIFICATION_TYPES else "info"


_aliases = AliasChoices  # a field's accepted names: _aliases("title", "name")


# Time: every stored time lies in [EARLIEST, LATEST) whatever the source (an import may bring
# old events), so pages can always show it; live events must also lie within the gateway's clock
# window (`wire`). Durations and counts are bounded for the same reason.
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
MAX_SECONDS = 366 * 86400.0 * 10  # a scan longer than ten years is a broken clock
MAX_COUNT = 10**15


def _instant(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # naive times are UTC
    if not EARLIEST <= value < LATEST:
        raise ValueError(f"{value.isoformat()} is outside {EARLIEST.year}–{LATEST.year - 1}")
    return value


def sane_time(at: Any) -> bool:
    """Whether `at` (epoch seconds) is a time pages can show."""
    return isinstance(at, (int, float)) and EARLIEST.timestamp() <= at < LATEST.timestamp()


Id = Annotated[str, PlainValidator(_room_id, json_schema_input_type=str | int)]
Count = Annotated[int, Field(strict=True, ge=0, le=MAX_COUNT)]
Seconds = Annotated[float, Field(strict=True, ge=0, le=MAX_SECONDS, allow_inf_nan=False)]
Instant = Annotated[datetime, AfterValidator(_instant)]
Fingerprint = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]
TriageState = Literal[TRIAGE_STATES]  # type: ignore[valid-type]


def Text(limit: int) -> Any:  # noqa: N802 - reads as a type
    return Annotated[str, StringConstraints(max_length=limit)]


def Texts(limit: int, count: int) -> Any:  # noqa: N802 - reads as a type
    """Up to `count` strings of up to `limit` characters each."""
    return Annotated[list[Text(limit)], Field(max_length=count)]


class Event(BaseModel):
    """Fields every server event may carry."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    seq: Annotated[int, Field(strict=True, ge=0)] | None = None
    timestamp: Instant | None = None

    def epoch(self, default: float) -> float:
        """The event's own time in epoch seconds, else `default`."""
        return default if self.timestamp is None else epoch_seconds(self.timestamp)


def epoch_seconds(ts: datetime) -> float:
    return (ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)).timestamp()


class ScanStarted(Event):
    scan_id: Id
    scan_name: Text(200) | None = Field(None, validation_alias=_aliases("scan_name", "target_name"))
    target: Text(2048) | None = Field(None, validation_alias=_aliases("target", "target_url"))
    status: Annotated[Literal[ACTIVE_STATUSES], BeforeValidator(_lower)] = "running"


class ScanProgress(Event):
    scan_id: Id
    progress: Annotated[float, Field(strict=True, ge=0, le=100, allow_inf_nan=False)]
    phase: Text(100) | None = Field(None, validation_alias=_aliases("phase", "current_phase"))
    current_step: Text(500) | None = None
    vulnerabilities_found: Count | None = None


class ScanDiff(BaseModel):  # a completed scan against the previous completed one of its target (gateway's)
    model_config = ConfigDict(extra="ignore", frozen=True)
    previous_scan_id: Id
    previous_completed_at: Instant | None = None
    new: Count
    still_open: Count
    fixed: Count


class ScanCompleted(Event):
    scan_id: Id
    scan_name: Text(200) | None = None
    total_vulnerabilities: Count | None = None
    duration: Seconds | None = None
    diff: ScanDiff | None = None


class Triage(BaseModel):  # a person's judgement of a finding, kept by the gateway per fingerprint
    model_config = ConfigDict(extra="ignore", frozen=True)
    state: TriageState
    note: Text(1000) | None = None
    by: Text(200) | None = None
    at: Instant | None = None


class ScanFailed(Event):
    scan_id: Id
    scan_name: Text(200) | None = None
    status: Literal[SCAN_STATUSES[3:6]] = "failed"  # cancelled, abandoned: `error` says by whom and why
    error: Text(2000) | None = None


class VulnerabilityFound(Event):
    scan_id: Id
    title: Text(500) = Field(validation_alias=_aliases("title", "vulnerability_name", "name"))
    severity: Annotated[Literal[SEVERITIES], BeforeValidator(_lower)]  # type: ignore[valid-type]
    id: Annotated[str, BeforeValidator(_id_to_str), StringConstraints(max_length=128)] | None = None
    cvss_score: Annotated[float, Field(strict=True, ge=0, le=10, allow_inf_nan=False)] | None = None
    url: Text(2048) | None = Field(None, validation_alias=_aliases("url", "affected_url"))
    vulnerability_type: Text(100) | None = None
    description: Text(DESCRIPTION_LIMIT) | None = None
    # What a triager needs beyond the summary (all optional, each bounded): see FINDING_EXTRAS.
    found_at: Instant | None = None
    cve: Texts(32, 50) | None = None
    cwe: Texts(32, 50) | None = None
    cvss_vector: Text(200) | None = None
    references: Texts(2048, 50) | None = None
    remediation: Text(DESCRIPTION_LIMIT) | None = None
    tags: Texts(100, 50) | None = None
    evidence: Text(EVIDENCE_LIMIT) | None = None
    extracted: Texts(1000, 50) | None = None
    details: Annotated[dict[Text(64), Text(4000)], Field(max_length=30)] | None = None
    fingerprint: Fingerprint | None = None  # identity and history: stamped by the gateway (what's new)
    known: bool | None = None
    first_seen_at: Instant | None = None
    first_seen_scan_id: Id | None = None
    previous_scan_id: Id | None = None
    times_seen: Count | None = None
    triage: Triage | None = None

    def finding_id(self) -> str:
        """The given id, else one derived from what identifies a finding, so a re-sent finding
        is recognised as the same one (extracted values tell apart results at one place)."""
        if self.id:
            return self.id
        parts = (self.scan_id, self.title, self.url or "", *(self.extracted or ()))
        return "f-" + hashlib.sha1("\x1f".join(parts).encode()).hexdigest()[:16]

    def found(self, default: float) -> float:
        """When the tool found it (`found_at`), else the event's time, else `default`."""
        return epoch_seconds(self.found_at) if self.found_at is not None else self.epoch(default)

    def extras(self) -> dict[str, Any] | None:
        """The optional triage fields that are set, as plain JSON values (None: none set)."""
        # Every extra is already plain JSON (text, lists, a flat dict): no serializer per finding.
        extras = {name: value for name in FINDING_EXTRAS if (value := getattr(self, name)) is not None}
        return extras or None


FINDING_EXTRAS = frozenset({"cve", "cwe", "cvss_vector", "references", "remediation", "tags",
                            "evidence", "extracted", "details"})


class MetricsUpdate(Event):
    total_scans: Count | None = None
    active_scans: Count | None = Field(None, validation_alias=_aliases("active_scans", "activeScans"))
    total_vulnerabilities: Count | None = Field(
        None, validation_alias=_aliases("total_vulnerabilities", "vulnerabilitiesFound"))
    critical_count: Count | None = Field(
        None, validation_alias=_aliases("critical_count", "criticalVulns"))
    completed_scans: Count | None = Field(
        None, validation_alias=_aliases("completed_scans", "completedScans"))
    targets_scanned: Count | None = Field(
        None, validation_alias=_aliases("targets_scanned", "targetsScanned"))

    def values(self) -> dict[str, int]:
        return self.model_dump(exclude_none=True, exclude={"seq", "timestamp"})


class Notification(Event):
    message: Text(2000)
    id: Annotated[str, BeforeValidator(_id_to_str), StringConstraints(max_length=128)] | None = None
    type: Annotated[str, BeforeValidator(_notification_type)] = "info"
    title: Text(200) | None = None
    scan_id: Id | None = None
    user_id: Id | None = None

    def notification_id(self) -> str:
        """The given id, else one derived from the notification (random when nothing identifies it)."""
        if self.id:
            return self.id
        if self.seq is None and self.timestamp is None:
            return "n-" + uuid.uuid4().hex[:16]
        return "n-" + hashlib.sha1(repr((self.seq, self.timestamp, self.type, self.title, self.message,
                                         self.scan_id)).encode()).hexdigest()[:16]


class FindingTriaged(Triage, Event):
    """The gateway's own event (never accepted from producers): a finding was triaged."""

    fingerprint: Fingerprint
    scan_id: Id  # the scan the finding was last seen in: the event goes where its findings went
    title: Text(500) | None = None
    severity: Annotated[Literal[SEVERITIES], BeforeValidator(_lower)] | None = None  # type: ignore[valid-type]


SERVER_EVENTS: dict[str, type[Event]] = {
    "scan_started": ScanStarted,
    "scan_progress": ScanProgress,
    "scan_completed": ScanCompleted,
    "scan_failed": ScanFailed,
    "vulnerability_found": VulnerabilityFound,
    "metrics_update": MetricsUpdate,
    "notification": Notification,
    "finding_triaged": FindingTriaged,
}
GATEWAY_EVENTS = frozenset({"finding_triaged"})  # emitted by the gateway alone


class Request(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class RoomRequest(Request):
    room: Annotated[str, StringConstraints(pattern=ROOM_RE.pattern)]


class StartScan(Request):
    target: Annotated[str, StringConstraints(min_length=1, max_length=2048)]
    scan_name: Text(200) | None = None
    options: dict[str, Any] | None = Field(None, max_length=50)


class ScanControl(Request):  # abandon_scan, cancel_scan, scan_actions; `user`: who acts (the dashboard's login)
    scan_id: Id
    reason: Text(500) | None = None
    user: Text(200) | None = None


class TriageFinding(Request):
    fingerprint: Fingerprint
    state: TriageState
    note: Text(1000) | None = None


class Resume(Request):
    """Sent first after every (re)connect by clients that connected with `auth={"resume": true}`:
    replay what I missed after `since` on stream `epoch`, then send me live events for `rooms`
    (and everything, unless `subscribe` is "rooms")."""

    since: Annotated[int, Field(strict=True, ge=0)] | None = None
    epoch: Text(64) | None = None
    rooms: list[Annotated[str, StringConstraints(pattern=ROOM_RE.pattern)]] = Field(default_factory=list,
                                                                                    max_length=100)
    subscribe: Literal["all", "rooms"] = "all"


CLIENT_EVENTS: dict[str, type[Request]] = {
    "join_room": RoomRequest,
    "leave_room": RoomRequest,
    "start_scan": StartScan,
    "resume": Resume,
    **dict.fromkeys(("abandon_scan", "cancel_scan", "scan_actions"), ScanControl),
    "triage_finding": TriageFinding,
}


class InvalidEvent(ValueError):
    """A payload that does not fit its event; `reason` says why, in one line."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _reason(error: ValidationError) -> str:
    parts = []
    for item in error.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in item["loc"]) or "payload"
        parts.append(f"{where}: {item['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


def _validate(model: type[BaseModel], payload: Any) -> Any:
    if not isinstance(payload, dict):
        raise InvalidEvent(f"payload must be a JSON object, got {type(payload).__name__}")
    try:  # the model's validator itself: model_validate's wrapper costs a tenth of a parse
        return model.__pydantic_validator__.validate_python(payload)
    except ValidationError as exc:
        raise InvalidEvent(_reason(exc)) from None


def parse(event: str, payload: Any) -> Event:
    """Validate and normalise a server event. Raises InvalidEvent (unknown name included)."""
    model = SERVER_EVENTS.get(event)
    if model is None:
        raise InvalidEvent(f"unknown event {preview(event, 80)}")
    return _validate(model, payload)


CLOCK_WINDOW = 86400.0  # default of BUGHUNT_CLOCK_WINDOW
TIME_FIELDS = ("timestamp", "found_at")  # every time an event carries (each an Instant)


def wire(event: str, payload: Any, window: float = CLOCK_WINDOW) -> dict[str, Any]:
    """Validate a server event and give its canonical wire form, stamped with the time it was
    published when it carries none. A time more than `window` seconds ahead of the publishing
    gateway's clock is refused (a scanner's clock running ahead); older times are accepted down to
    EARLIEST, as scanner output is often read after the fact (an nmap or SARIF file, an import)
    and keeps the times the tool recorded. Raises InvalidEvent."""
    parsed = parse(event, payload)
    now = datetime.now(UTC)
    for name in TIME_FIELDS:
        when = getattr(parsed, name, None)
        if when is not None and (when - now).total_seconds() > window:
            raise InvalidEvent(f"{name}: {when.isoformat()} is more than {window:g} s ahead of the gateway's clock "
                               f"({now.isoformat(timespec='seconds')}; BUGHUNT_CLOCK_WINDOW)")
    data = parsed.model_dump(exclude_none=True, mode="json")
    data.setdefault("timestamp", now.isoformat(timespec="milliseconds"))
    return data


def parse_request(event: str, payload: Any) -> Request:
    """Validate a client → server request (join_room, leave_room, start_scan)."""
    return _validate(CLIENT_EVENTS[event], payload)

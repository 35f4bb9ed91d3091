"""Settings with defaults and help text, one dataclass per part (the Flower options model).

Every field names its environment variable; README's settings table is generated from these
(`python -m realtime.reference --write`) and checked by a test, so the two cannot drift.
"""
from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


def setting(default: Any, env: str, help: str) -> Any:
    return field(default=default, metadata={"env": env, "help": help})


@dataclass(frozen=True)
class DashboardOptions:
    ws_url: str = setting(
        "", "BUGHUNT_WS_URL",
        "Gateway URL, e.g. `http://127.0.0.1:8000`; several gateways of one Redis stream, comma separated, "
        "for failover. Unset: demo mode (a gateway with simulated scans runs inside the app).")
    ws_token: str = setting("", "BUGHUNT_WS_TOKEN", "Token sent to the gateway when connecting.")
    user_id: str = setting("", "BUGHUNT_USER_ID", "Your user id: joins `user_<id>` for private notifications.")
    refresh_seconds: float = setting(1.0, "BUGHUNT_REFRESH_SECONDS", "How often live areas refresh.")
    stuck_after_seconds: float = setting(
        120.0, "BUGHUNT_STUCK_AFTER_SECONDS", "A running scan silent this long is flagged as possibly stuck.")
    table_rows: int = setting(
        1_000, "BUGHUNT_TABLE_ROWS",
        "Rows per page of the findings tables: a viewer gets one page per refresh, never every finding.")
    chart_seconds: float = setting(
        5.0, "BUGHUNT_CHART_SECONDS",
        "How often the summary charts redraw (they change slowly; redrawing them every refresh costs "
        "every viewer's browser and the server).")
    feed_items: int = setting(25, "BUGHUNT_FEED_ITEMS", "Notifications per page of the Notifications feed.")
    send_form: bool = setting(
        False, "BUGHUNT_SEND_FORM",
        "Show the Live events page's form that sends requests to the gateway. It acts with the dashboard's "
        "own gateway identity (its token), so turn it on only where every visitor is the dashboard's admin.")
    snapshot_interval: float = setting(
        0.25, "BUGHUNT_SNAPSHOT_INTERVAL",
        "Seconds viewers share one snapshot of the store (and the tables and charts made from it) while "
        "events keep arriving; 0: every refresh of every viewer sees the newest.")
    push: bool = setting(
        True, "BUGHUNT_PUSH",
        "Live areas rerun when the store changes in what they show (each tab holds one WebSocket to the "
        "dashboard's `/_bughunt/changes`), and otherwise only every `BUGHUNT_PUSH_HEARTBEAT`. A tab that cannot "
        "reach it (a proxy refuses it) falls back to rerunning every refresh, and "
        "the sidebar says so. `false`: every tab reruns every refresh, as before.")
    push_heartbeat: float = setting(
        30.0, "BUGHUNT_PUSH_HEARTBEAT",
        "With push: seconds between reruns of a live area showing relative times when nothing changed "
        "(\"3 s ago\" moves on), never more often than the tab's refresh. Charts and the sidebar's panel (its "
        "times are clock times) rerun on change only, the panel every refresh while it counts down to a reconnect.")
    push_min_interval: float = setting(
        0.2, "BUGHUNT_PUSH_MIN_INTERVAL",
        "With push: shortest time between two notices of changes that are not routine (a notification, a "
        "scan's start or end, a high or critical finding); under a flood of them each live area reruns at "
        "most once per this many seconds. A routine notice (`BUGHUNT_PUSH_ROUTINE_INTERVAL`) holds none back; "
        "nor is a new notification's text held back (the Dashboard's preview of it shows at once).")
    push_routine_interval: float = setting(
        1.0, "BUGHUNT_PUSH_ROUTINE_INTERVAL",
        "With push: shortest time (at least `BUGHUNT_PUSH_MIN_INTERVAL`) between two notices of routine "
        "changes only (scan progress, metrics, findings below high); a notification, a scan's start or end, "
        "a high or critical finding is told within `BUGHUNT_PUSH_MIN_INTERVAL` to the areas that show it, "
        "bringing their routine changes with it; the other areas keep waiting.")
    public_url: str = setting(
        "", "BUGHUNT_PUBLIC_URL",
        "The dashboard's address as people reach it (e.g. `https://bughunt.example.com` behind a proxy), for "
        "share links; unset: the address the browser shows.")
    max_viewers: int = setting(
        1_000, "BUGHUNT_MAX_VIEWERS",
        "Viewers (signed-in users, else browsers) whose read flags are kept in memory; the others' are in the "
        "journal and loaded again when they come back.")


@dataclass(frozen=True)
class JournalOptions:
    path: str = setting(
        "~/.local/share/bughunt-monitor/journal-{gateway}.sqlite", "BUGHUNT_JOURNAL",
        "SQLite journal of applied events, replayed at start so a restart keeps scans, findings and "
        "read flags; `{gateway}` becomes the gateway URL's name, so each gateway has its own journal "
        "(`:memory:` turns it off). A journal that cannot be read is moved aside.")
    max_events: int = setting(500_000, "BUGHUNT_JOURNAL_MAX_EVENTS", "Events kept in the journal (oldest go first).")
    max_days: float = setting(30.0, "BUGHUNT_JOURNAL_MAX_DAYS", "Days of events kept in the journal.")
    compact_after: float = setting(
        3600.0, "BUGHUNT_JOURNAL_COMPACT_AFTER",
        "Seconds after which a scan's progress events are compacted to its latest one.")


@dataclass(frozen=True)
class StoreOptions:
    max_events: int = setting(5_000, "BUGHUNT_MAX_EVENTS", "Events kept in the live event log.")
    max_notifications: int = setting(
        1_000, "BUGHUNT_MAX_NOTIFICATIONS", "Notifications kept (oldest dropped first).")
    max_findings: int = setting(
        100_000, "BUGHUNT_MAX_FINDINGS",
        "Findings kept (oldest dropped first); as many findings' triage decisions are remembered "
        "for findings that arrive later (least recently triaged dropped first).")
    max_scans: int = setting(
        10_000, "BUGHUNT_MAX_SCANS", "Scans kept; finished scans are dropped before running ones.")
    max_history: int = setting(
        500, "BUGHUNT_MAX_HISTORY", "Progress points kept per scan (older ones are thinned out).")
    max_rejected: int = setting(
        500, "BUGHUNT_MAX_REJECTED", "Rejected events kept, with their reasons.")
    sample_seconds: float = setting(
        2.0, "BUGHUNT_SAMPLE_SECONDS", "Seconds between metric samples (sparklines, events/s).")
    max_samples: int = setting(
        300, "BUGHUNT_MAX_SAMPLES", "Metric samples kept (300 × 2 s: the last 10 minutes).")


@dataclass(frozen=True)
class ClientOptions:
    reconnect_delay: float = setting(
        1.0, "BUGHUNT_RECONNECT_DELAY", "First reconnect delay in seconds; doubles per attempt.")
    reconnect_delay_max: float = setting(
        5.0, "BUGHUNT_RECONNECT_DELAY_MAX", "Longest delay between quick reconnect attempts.")
    reconnect_attempts: int = setting(
        5, "BUGHUNT_RECONNECT_ATTEMPTS",
        "Quick reconnect attempts before `connection_error`; then retries go on slowly.")
    slow_retry: float = setting(
        10.0, "BUGHUNT_SLOW_RETRY",
        "Seconds between retries once the quick attempts ran out: the longest a gateway that is back waits "
        "to be noticed (the sidebar counts down to the next try).")
    connect_timeout: float = setting(
        10.0, "BUGHUNT_CONNECT_TIMEOUT", "Seconds one connection attempt may take.")
    max_outbox: int = setting(
        1_000, "BUGHUNT_MAX_OUTBOX", "Sends queued while offline (oldest dropped first).")
    subscribe: str = setting(
        "all", "BUGHUNT_WS_SUBSCRIBE", "`all`: every scan's events; `rooms`: only the rooms joined.")
    transports: str = setting(
        "websocket", "BUGHUNT_WS_TRANSPORTS",
        "Engine.IO transports, comma separated: `websocket`, or `polling,websocket` behind proxies "
        "without WebSocket support.")


@dataclass(frozen=True)
class GatewayOptions:
    host: str = setting("127.0.0.1", "BUGHUNT_GATEWAY_HOST", "Address the gateway listens on.")
    port: int = setting(8000, "BUGHUNT_GATEWAY_PORT", "Port the gateway listens on (0: any free port).")
    demo: bool = setting(False, "BUGHUNT_DEMO", "Run the demo scan engine (simulated scans).")
    demo_scans: int = setting(3, "BUGHUNT_DEMO_SCANS", "Demo scans running at once.")
    seed: int = setting(0, "BUGHUNT_DEMO_SEED", "Demo random seed; the same seed gives the same scans (0: random).")
    speed: float = setting(1.0, "BUGHUNT_DEMO_SPEED", "Demo time scale: 10 runs scans ten times faster.")
    redis_url: str = setting(
        "", "BUGHUNT_REDIS_URL", "Share one event stream between gateways through Redis (e.g. redis://127.0.0.1:6379/0).")
    redis_channel: str = setting("bughunt", "BUGHUNT_REDIS_CHANNEL", "Redis channel (and key prefix) of the stream.")
    cors_origins: str = setting(
        "", "BUGHUNT_CORS_ORIGINS",
        "Browser origins allowed to connect, comma separated, e.g. `https://bughunt.example.com`. Empty: "
        "same origin only (a token is still needed); in open mode only these origins, none by default.")
    trusted_proxies: str = setting(
        "", "BUGHUNT_TRUSTED_PROXIES",
        "Addresses of reverse proxies whose X-Forwarded-For/-Proto are believed, comma separated. Empty: "
        "none; the socket peer is the client (FORWARDED_ALLOW_IPS is ignored).")
    launcher: str = setting(
        "", "BUGHUNT_LAUNCHER", "Scan launcher for `start_scan`, as `module:factory` (see README).")
    max_body_bytes: int = setting(
        1_048_576, "BUGHUNT_MAX_BODY_BYTES", "Largest accepted body of POST /api/events (and socket message).")
    max_batch: int = setting(1_000, "BUGHUNT_MAX_BATCH", "Most events in one POST /api/events batch.")
    queue_size: int = setting(
        10_000, "BUGHUNT_QUEUE_SIZE", "Events waiting to be emitted; publishers wait when it is full.")
    metrics_interval: float = setting(
        2.0, "BUGHUNT_METRICS_INTERVAL", "Seconds between `metrics_update` emits (only when the metrics changed).")
    state_findings: int = setting(1_000, "BUGHUNT_STATE_FINDINGS", "Newest findings served by GET /api/state.")
    clock_window: float = setting(
        86_400.0, "BUGHUNT_CLOCK_WINDOW",
        "Seconds an event's times (`timestamp`, `found_at`) may be ahead of the gateway's clock; further "
        "is refused (400). Older times are accepted down to 1990 (scanner output read later, imports).")
    replay_events: int = setting(
        50_000, "BUGHUNT_REPLAY_EVENTS", "Events kept for clients that resume after a disconnect.")
    replay_seconds: float = setting(900.0, "BUGHUNT_REPLAY_SECONDS", "How long events stay resumable.")
    secret_file: str = setting(
        "", "BUGHUNT_SECRET_FILE",
        "File holding the token secret (or set BUGHUNT_SECRET itself). None: open mode, loopback clients only.")
    viewers_start_scans: bool = setting(
        False, "BUGHUNT_VIEWERS_START_SCANS",
        "Whether every viewer token may `start_scan` (otherwise only admins and tokens minted with `--start-scans`).")
    viewers_control_scans: bool = setting(
        False, "BUGHUNT_VIEWERS_CONTROL_SCANS",
        "Whether every viewer token may `abandon_scan` and `cancel_scan` (otherwise only admins abandon, and "
        "admins and the scan's starter cancel). Never a read-only scan link.")
    abandon_after: float = setting(
        120.0, "BUGHUNT_ABANDON_AFTER_SECONDS",
        "Seconds a running scan must be silent before it may be abandoned (a scan the gateway does not know, "
        "lost, may be abandoned at once).")
    scans_per_user: int = setting(3, "BUGHUNT_SCANS_PER_USER", "Scans one user may have running through `start_scan`.")
    scans_total: int = setting(
        20, "BUGHUNT_SCANS_TOTAL", "Scans started through `start_scan` running at once, all users.")
    scan_targets: str = setting(
        "", "BUGHUNT_SCAN_TARGETS",
        "Targets `start_scan` accepts: shell patterns, comma separated (e.g. `https://*.example.com/*`). Empty: "
        "none with a launcher; any in demo mode (its scans are simulated).")
    replay_rate: float = setting(
        10_000.0, "BUGHUNT_REPLAY_RATE",
        "Events per second one socket's resumes may replay (the events asked for count, across resumes).")
    replay_slice: int = setting(
        200, "BUGHUNT_REPLAY_SLICE", "Events a replay sends per turn; live delivery waits at most one slice.")
    replay_max_unread: int = setting(
        5_000, "BUGHUNT_REPLAY_MAX_UNREAD",
        "Packets a socket may leave unread before its replay waits; unread for 5 s, the socket is disconnected.")
    max_depth: int = setting(
        32, "BUGHUNT_MAX_DEPTH", "Deepest JSON nesting accepted (HTTP bodies and socket messages).")
    token_max_ttl: str = setting(
        "30d", "BUGHUNT_TOKEN_MAX_TTL",
        "Longest lifetime of a token `token` mints and of a share link the gateway accepts.")
    revoked_tokens: str = setting(
        "", "BUGHUNT_REVOKED_TOKENS",
        "File of revoked token ids (one a line; `token revoke` appends). Re-read when it changes.")
    socket_rate: float = setting(20.0, "BUGHUNT_SOCKET_RATE", "Messages per second one socket may send.")
    socket_burst: int = setting(
        40, "BUGHUNT_SOCKET_BURST", "Messages a socket may send at once; after as many refusals it is disconnected.")
    publish_rate: float = setting(5_000.0, "BUGHUNT_PUBLISH_RATE", "Events per second one producer may publish.")
    publish_burst: int = setting(20_000, "BUGHUNT_PUBLISH_BURST", "Events one producer may publish at once.")
    max_connections_per_ip: int = setting(50, "BUGHUNT_MAX_CONNECTIONS_PER_IP", "Sockets one address may hold open.")
    max_rooms_per_socket: int = setting(100, "BUGHUNT_MAX_ROOMS_PER_SOCKET", "Rooms one socket may join.")
    state_db: str = setting(
        "", "BUGHUNT_STATE_DB",
        "SQLite file keeping the gateway's state and replay buffer across its restarts (written before "
        "events are sent, so a restarted gateway can still serve `resume`).")
    state_max_events: int = setting(
        20_000, "BUGHUNT_STATE_MAX_EVENTS",
        "Events kept in --state-db (oldest go first, after progress is folded to each scan's latest): a "
        "restart replays them, so this bounds restart time and memory (~60 µs an event).")
    state_max_days: float = setting(7.0, "BUGHUNT_STATE_MAX_DAYS", "Days of events kept in --state-db.")
    state_compact_after: float = setting(
        600.0, "BUGHUNT_STATE_COMPACT_AFTER",
        "Seconds after which --state-db folds a scan's progress events to its latest one.")
    viewers_triage: bool = setting(
        True, "BUGHUNT_VIEWERS_TRIAGE",
        "Whether viewer tokens may triage findings (`triage_finding`, POST /api/findings/triage); admins always "
        "may, read-only scan links never.")
    registry_max_fingerprints: int = setting(
        1_000_000, "BUGHUNT_REGISTRY_MAX_FINGERPRINTS",
        "Findings (fingerprints) whose history and triage the gateway keeps; the least recently seen go first "
        "(and come back as new). About 170 bytes each in the gateway (with Redis: in Redis). At most about "
        "88 million (larger values are taken as that: scan numbers are packed in 28 bits).")
    registry_max_scans: int = setting(
        1_000, "BUGHUNT_REGISTRY_MAX_SCANS",
        "Scans whose finding sets the gateway keeps to compare a scan with the previous one of its target "
        "(oldest go first).")
    registry_scan_findings: int = setting(
        200_000, "BUGHUNT_REGISTRY_SCAN_FINDINGS",
        "Findings kept in those scans' sets, all scans together (oldest scans go first; a scan over it alone "
        "keeps its first findings), about 300 bytes each.")
    redis_maxlen: int = setting(
        100_000, "BUGHUNT_REDIS_MAXLEN",
        "Events the Redis stream keeps (`XADD MAXLEN ~`): a gateway cut off from Redis for longer than "
        "this many events resyncs its clients.")
    idempotency_seconds: float = setting(
        600.0, "BUGHUNT_IDEMPOTENCY_SECONDS",
        "How long an accepted batch's `Idempotency-Key` is remembered: a retry within it is answered 202 "
        "without being published again.")
    publish_wait: float = setting(
        10.0, "BUGHUNT_PUBLISH_WAIT",
        "Seconds POST /api/events waits for its events to be delivered before answering 503 (retry).")
    max_backlog_events: int = setting(
        10_000, "BUGHUNT_MAX_BACKLOG_EVENTS",
        "Events sent on the stream since a client last confirmed what it received (`backlog_check`); a "
        "client further behind is disconnected, so a stalled client holds little memory (it resumes when "
        "it comes back).")
    max_backlog_seconds: float = setting(
        5.0, "BUGHUNT_MAX_BACKLOG_SECONDS",
        "Seconds a client may take to confirm a `backlog_check` (everything sent before it has reached it); "
        "a client slower than that is disconnected.")


@dataclass(frozen=True)
class PublisherOptions:
    retry_seconds: float = setting(
        300.0, "BUGHUNT_PUBLISH_RETRY_SECONDS",
        "How long `python -m realtime.publisher` and the adapters keep retrying a batch (429 and 503 after "
        "the gateway's `Retry-After`, connection errors with backoff) before they exit non-zero.")
    producer: str = setting(
        "", "BUGHUNT_PRODUCER_NAME", "This producer's name, sent as `X-Producer` (rate limits are per "
        "producer); unset: host name and process id.")


@dataclass(frozen=True)
class DebugOptions:
    debug: bool = setting(
        False, "BUGHUNT_DEBUG",
        "Debug mode: socket.io/engine.io logs and our structured logs to stderr and the Live events page.")
    debug_lines: int = setting(2_000, "BUGHUNT_DEBUG_LINES", "Debug log lines kept in memory for the Live events page.")


@dataclass(frozen=True)
class AlertOptions:
    rules: str = setting(
        "alerts.toml", "BUGHUNT_ALERT_RULES", "Rules file of the alert worker (`python -m realtime.alerts`).")
    db: str = setting(
        "~/.local/share/bughunt-monitor/alerts.sqlite", "BUGHUNT_ALERT_DB",
        "SQLite file of the alert worker: its stream cursor, open digests, delivery log and (one host) lease.")
    dashboard_url: str = setting(
        "", "BUGHUNT_DASHBOARD_URL", "Dashboard address used in alert links, e.g. `https://bughunt.example.com`.")
    link_ttl: float = setting(
        604_800.0, "BUGHUNT_ALERT_LINK_TTL",
        "Seconds a read-only scan link in an alert stays valid (links need the gateway's secret).")
    retries: int = setting(8, "BUGHUNT_ALERT_RETRIES", "Delivery attempts per alert before it is recorded as failed.")
    backoff: float = setting(
        1.0, "BUGHUNT_ALERT_BACKOFF", "First retry delay in seconds; doubles per attempt, at most 60 s.")
    lease_seconds: float = setting(
        15.0, "BUGHUNT_ALERT_LEASE_SECONDS",
        "Lease between alert workers: a standby takes over this long after the active one stops renewing.")
    redis_url: str = setting(
        "", "BUGHUNT_ALERT_REDIS_URL",
        "Hold the lease in Redis (workers on several hosts, e.g. the gateways' Redis); unset: in the SQLite file.")
    top_items: int = setting(5, "BUGHUNT_ALERT_TOP_ITEMS", "Items listed in a digest (the most severe first).")
    max_scans: int = setting(
        10_000, "BUGHUNT_ALERT_MAX_SCANS", "Scans the alert worker remembers (finished ones go first).")
    keep_days: float = setting(7.0, "BUGHUNT_ALERT_KEEP_DAYS", "Days the delivery log keeps sent and failed alerts.")
    tick: float = setting(
        1.0, "BUGHUNT_ALERT_TICK", "Seconds between checks for due digests and stuck scans.")


def _cast(kind: Any, raw: str) -> Any:
    name = kind if isinstance(kind, str) else kind.__name__
    if name == "bool":
        if raw.lower() not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            raise ValueError(raw)
        return raw.lower() in ("1", "true", "yes", "on")
    return {"int": int, "float": float, "str": str}[name](raw)


def from_env(cls: type[T], env: Mapping[str, str] | None = None, **overrides: Any) -> T:
    """Build `cls` from its defaults, the environment, then explicit overrides (in that order)."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        raw = env.get(f.metadata["env"])
        if raw not in (None, ""):
            try:
                values[f.name] = _cast(f.type, raw)
            except ValueError:
                raise ValueError(f"{f.metadata['env']}={raw!r}: expected {f.type}") from None
    values.update(overrides)
    return cls(**values)


def documented() -> list[tuple[str, Any, str]]:
    """(env var, default, help) of every setting, for README and --help."""
    return [
        (f.metadata["env"], f.default, f.metadata["help"])
        for cls in (DashboardOptions, JournalOptions, StoreOptions, ClientOptions, GatewayOptions, PublisherOptions,
                    DebugOptions, AlertOptions)
        for f in dataclasses.fields(cls)
    ]


def add_arguments(parser: Any, cls: type) -> None:
    """One command-line flag per field of `cls`; unset flags fall back to env, then defaults."""
    for f in dataclasses.fields(cls):
        flag = "--" + f.name.replace("_", "-")
        help_text = f"{f.metadata['help']} [env {f.metadata['env']}, default {f.default!r}]"
        if f.type in ("bool", bool):
            parser.add_argument(flag, dest=f.name, action="store_const", const=True, default=None,
                                help=help_text)
        else:
            parser.add_argument(flag, dest=f.name, default=None, help=help_text,
                                type=lambda raw, kind=f.type: _cast(kind, raw))


def from_args(cls: type[T], args: Any, env: Mapping[str, str] | None = None) -> T:
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls)
             if getattr(args, f.name, None) is not None}
    return from_env(cls, env, **given)


def markdown_table() -> str:
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    rows += [f"| `{env}` | `{default}` | {help} |" for env, default, help in documented()]
    return "\n".join(rows)

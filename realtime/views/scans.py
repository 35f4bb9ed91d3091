"""Scans for pages: lists, the scans table, stuck scans, ETA and phases."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import tzinfo

import pandas as pd

from realtime import protocol
from realtime.models import Scan, Snapshot
from realtime.views.links import scan_url
from realtime.views.memo import per_snapshot
from realtime.views.text import ago, shown, span, visible
from realtime.views.times import UTC, clock, utc_datetime

STUCK = "possibly stuck"  # a running scan silent for longer than BUGHUNT_STUCK_AFTER_SECONDS


def is_stuck(scan: Scan, now: float, stuck_after: float) -> bool:
    return scan.status == "running" and now - scan.updated_at > stuck_after


def stuck_note(scan: Scan, now: float, stuck_after: float) -> str | None:
    """The badge of a scan that may be stuck ("possibly stuck — last event 5 min ago"), else None."""
    return f"{STUCK} — last event {ago(now - scan.updated_at)}" if is_stuck(scan, now, stuck_after) else None


def lost_note(scan: Scan, zone: tzinfo = UTC, why: Callable[[str], str] = str) -> str:
    """When and why a scan lost contact ("lost contact since 13:05:02 — not in the gateway's state …");
    `why` renders the reason (e.g. `literal` for markdown: the clock is ours, the reason may not be)."""
    return f"{protocol.LOST_CONTACT} since {clock(scan.lost_at, zone)} — {why(scan.lost_why or 'unknown')}"


def status_text(scan: Scan, now: float, stuck_after: float, zone: tzinfo = UTC) -> str:
    if scan.status == protocol.LOST_CONTACT:
        return lost_note(scan, zone)
    return scan.status + (f" ({STUCK})" if is_stuck(scan, now, stuck_after) else "")


@per_snapshot
def scans_by_start(snap: Snapshot) -> tuple[Scan, ...]:
    return tuple(sorted(snap.scans.values(), key=lambda s: s.started_at, reverse=True))


def scan_choices(scans: Sequence[Scan], chosen: str | None = None, everything: bool = False) -> list[str]:
    """Scan ids for a picker, newest first (`""` first: all scans), and the one already chosen
    even once it is gone: a picker whose options change keeps the viewer's choice."""
    ids = [""] * everything + [s.scan_id for s in scans]
    return ids if chosen is None or chosen in ids else [*ids, chosen]


def scan_label(snap: Snapshot, scan_id: str) -> str:
    """How a picker shows a scan: "name (id)"; `""` is every scan."""
    if not scan_id:
        return "All scans"
    scan = snap.scans.get(scan_id)
    return visible(f"{scan.name or scan_id} ({scan_id})") if scan else visible(scan_id)


@per_snapshot
def active_scans(snap: Snapshot) -> tuple[Scan, ...]:
    return tuple(s for s in scans_by_start(snap) if s.status in protocol.ACTIVE_STATUSES)


def elapsed(scan: Scan, now: float) -> float:
    """How long the scan took (its duration once it ended: the reported one when there is one),
    or has run so far; a scan that lost contact stops at its last event: what it did since is unknown."""
    if scan.duration is not None:
        return scan.duration
    return max(0.0, (scan.updated_at if lost(scan) else now) - scan.started_at)


def lost(scan: Scan) -> bool:
    """Lost contact: nothing is known of the scan after its last event (no growing duration, no ETA)."""
    return scan.status == protocol.LOST_CONTACT


def duration_text(scan: Scan, now: float) -> str:
    """"4 min 2 s", or "4 min 2 s until contact was lost" (not a duration that keeps growing)."""
    text = span(elapsed(scan, now))
    return f"{text} until contact was lost" if lost(scan) else text


@per_snapshot
def lost_scans(snap: Snapshot) -> tuple[Scan, ...]:
    """Scans the dashboard had under way that the gateway's stream no longer knows."""
    return tuple(s for s in scans_by_start(snap) if s.status == protocol.LOST_CONTACT)


def scans_frame(snap: Snapshot, now: float, stuck_after: float, statuses: tuple[str, ...] = (),
                target: str = "", zone: tzinfo = UTC) -> pd.DataFrame:
    """Every scan (or those in `statuses`, of `target`), newest first; a status says when it may
    be stuck; "open" links to the scan's page."""
    rows = [{
        "status": status_text(s, now, stuck_after, zone),
        "name": shown(s.name or s.scan_id), "target": shown(s.target or ""), "progress": s.progress,
        "phase": shown(s.phase or ""), "started": utc_datetime(s.started_at),
        "duration": duration_text(s, now), "findings": s.vulnerability_count,
        "last event": ago(now - s.updated_at), "scan_id": s.scan_id, "open": scan_url(s.scan_id),
    } for s in scans_by_start(snap) if (not statuses or s.status in statuses) and (not target or s.target == target)]
    return pd.DataFrame(rows, columns=["status", "name", "target", "progress", "phase", "started",
                                       "duration", "findings", "last event", "scan_id", "open"])


def eta(scan: Scan, now: float) -> tuple[float, float] | None:
    """Seconds left as a (low, high) range from the overall and the recent progress rate;
    None until there is enough history to say anything honest."""
    h = scan.history
    if scan.finished or lost(scan) or len(h) < 5 or scan.progress < 5 or h[-1].at - h[0].at < 10:
        return None
    rates = []
    for first in (h[0], h[max(0, len(h) - 10)]):
        elapsed = h[-1].at - first.at
        if elapsed > 0 and h[-1].progress > first.progress:
            rates.append((h[-1].progress - first.progress) / elapsed)
    if not rates:
        return None
    remaining = 100 - scan.progress
    since = max(0.0, now - h[-1].at)
    low = max(0.0, remaining / max(rates) * 0.85 - since)
    high = max(low, remaining / min(rates) * 1.15 - since)
    return low, high


def phase_spans(scan: Scan, now: float) -> list[tuple[str, float, float]]:
    """(phase, start, end) in order, from the progress history."""
    spans: list[list] = []
    for point in scan.history:
        if point.phase and (not spans or spans[-1][0] != point.phase):
            if spans:
                spans[-1][2] = point.at
            spans.append([point.phase, point.at, point.at])
    if spans:
        spans[-1][2] = scan.finished_at or (scan.history[-1].at if scan.finished or lost(scan) else now)
    return [tuple(s) for s in spans]


def events_gone_note(snap: Snapshot, scan: Scan) -> str:
    """Why a scan has no rows in the event log, and what is known of it anyway."""
    known = (f"What is known: {scan.status}, {scan.progress:.0f}%, {scan.vulnerability_count:,} findings, "
             f"started {clock(scan.started_at)}, last event {clock(scan.updated_at)}.")
    if snap.events and snap.events[-1].index > 0 and scan.updated_at < snap.events[-1].at:  # (the log dropped some)
        return (f"This scan's events are older than the event log, which holds the newest {len(snap.events):,} "
                f"(since {clock(snap.events[-1].at)}; BUGHUNT_MAX_EVENTS). " + known)
    return "No events of this scan were logged here: its state came from the gateway's snapshot. " + known

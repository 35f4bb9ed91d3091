"""Targets: what was scanned, and every scan of one target over time with its findings by
severity."""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import UTC, tzinfo

import pandas as pd

from realtime import protocol
from realtime.models import Scan, Snapshot, Vulnerability
from realtime.views.links import scan_url, target_url
from realtime.views.memo import per_snapshot
from realtime.views.scans import duration_text, scans_by_start, status_text
from realtime.views.text import shown
from realtime.views.times import utc_datetime


@per_snapshot
def targets(snap: Snapshot) -> tuple[str, ...]:
    """Every target of the scans held, in order."""
    return tuple(sorted({s.target for s in snap.scans.values() if s.target}))


def target_scans(snap: Snapshot, target: str) -> list[Scan]:
    """The scans of `target`, newest first."""
    return [s for s in scans_by_start(snap) if s.target == target]


@per_snapshot
def severity_by_scan(snap: Snapshot) -> Mapping[str, Counter]:
    """Findings held, by scan and severity: one pass over the findings per snapshot."""
    counts: dict[str, Counter] = {}
    for v in snap.vulnerabilities:
        counts.setdefault(v.scan_id, Counter())[v.severity] += 1
    return counts


def target_frame(snap: Snapshot, target: str, now: float, stuck_after: float,
                 zone: tzinfo = UTC) -> pd.DataFrame:
    """Every scan of `target`, newest first: status, start, duration, findings by severity."""
    by_scan, none = severity_by_scan(snap), Counter()
    rows = [{
        "scan": scan_url(s.scan_id), "status": status_text(s, now, stuck_after, zone),
        "name": shown(s.name or s.scan_id), "started": utc_datetime(s.started_at), "duration": duration_text(s, now),
        "findings": s.vulnerability_count, **{sev: by_scan.get(s.scan_id, none)[sev] for sev in protocol.SEVERITIES},
    } for s in target_scans(snap, target)]
    return pd.DataFrame(rows, columns=["scan", "status", "name", "started", "duration", "findings",
                                       *protocol.SEVERITIES])


def target_of(snap: Snapshot, finding: Vulnerability) -> str | None:
    scan = snap.scans.get(finding.scan_id)
    return scan.target if scan else None


@per_snapshot
def targets_frame(snap: Snapshot) -> pd.DataFrame:
    """Every target: how many scans, the newest one's start and status, findings; "open" links
    to the target's page."""
    newest: dict[str, Scan] = {}
    scans: Counter[str] = Counter()
    findings: Counter[str] = Counter()
    for s in scans_by_start(snap):  # newest first
        if s.target:
            newest.setdefault(s.target, s)
            scans[s.target] += 1
            findings[s.target] += s.vulnerability_count
    rows = [{"open": target_url(t), "target": shown(t), "scans": scans[t],
             "last scan": utc_datetime(newest[t].started_at), "last status": newest[t].status,
             "findings": findings[t]} for t in sorted(newest, key=lambda t: newest[t].started_at, reverse=True)]
    return pd.DataFrame(rows, columns=["open", "target", "scans", "last scan", "last status", "findings"])

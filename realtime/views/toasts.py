"""Toasts: what a tab announces for the events it has not seen yet."""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from realtime import protocol
from realtime.models import TRIAGED_AWAY, EventRecord, Snapshot
from realtime.views.links import finding_url
from realtime.views.text import BELL, FIRE, TYPE_ICONS, WARN, literal, plural, type_icon

TRIAGED = ":material/rule:"

MAX_TOASTS = 3  # more new items than this in one tick become one summary toast


@dataclass(frozen=True)
class Toast:
    text: str  # already safe for st.toast
    icon: str

    @property
    def duration(self) -> str:
        return "long" if self.icon in (FIRE, TYPE_ICONS["error"]) else "short"  # bad news stays longer


def new_records(snap: Snapshot, cursor: int) -> list[EventRecord]:
    """Records logged at or after `cursor`, oldest first."""
    fresh = []
    for record in snap.events:  # newest first
        if record.index < cursor:
            break
        fresh.append(record)
    fresh.reverse()
    return fresh


def triaged_away(data: dict) -> bool:
    triage = data.get("triage")
    return isinstance(triage, dict) and triage.get("state") in TRIAGED_AWAY


def plan_toasts(records: Sequence[EventRecord]) -> list[Toast]:
    """Toasts for these records: notifications by type, scan starts/ends, new high and critical
    findings (known ones are counted in one line, triaged-away ones left out), triages. A
    notification about a scan speaks for that scan's events in the same batch (no double toast),
    and links to its first new high or critical finding there. A burst becomes one summary
    ("4 new findings, 1 critical · 30 known")."""
    items: list[tuple[str, str, str, dict]] = []  # (kind, icon, text, the finding it links to or {})
    known = 0
    noted = {r.data.get("scan_id") for r in records
             if r.event == "notification" and isinstance(r.data, dict)}
    lead = first_new_findings(records)
    for r in records:
        d = r.data if isinstance(r.data, dict) else {}
        name = d.get("scan_name") or d.get("scan_id", "")
        if r.event == "notification":
            title = f"{d['title']}: " if d.get("title") else ""
            items.append(("notification", type_icon(d.get("type")), literal(title + d.get("message", "")),
                          lead.get(d.get("scan_id"), {})))
        elif d.get("scan_id") in noted:
            continue
        elif r.event == "scan_started":
            items.append(("started", ":material/rocket_launch:", "Scan started: " + literal(name), {}))
        elif r.event == "scan_completed":
            items.append(("completed", ":material/check_circle:", "Scan completed: " + literal(name), {}))
        elif r.event == "scan_failed":
            reason = d.get("error") or "no reason given"
            items.append(("failed", ":material/error:", "Scan failed: " + literal(f"{name} — {reason}"), {}))
        elif r.event == "finding_triaged":
            items.append(("triaged", TRIAGED, f"Marked {literal(d.get('state', ''))}: "
                          + literal(f"{d.get('title') or d.get('fingerprint', '')} (by {d.get('by') or '?'})"), {}))
        elif alarming(r.event, d):
            if d.get("known") is True:
                known += 1
            else:
                items.append((d["severity"], FIRE if d["severity"] == "critical" else WARN,
                              f"{d['severity'].title()} finding: " + literal(d.get("title", "")), d))
    if len(items) + bool(known) <= MAX_TOASTS:
        toasts = [Toast(text + finding_link(linked), icon) for _, icon, text, linked in items]
        return toasts + ([Toast(f"{plural(known, 'known finding')} (high or critical, seen in earlier scans)", BELL)]
                         if known else [])
    return [summary(records, Counter(kind for kind, _, _, _ in items))]


def first_new_findings(records: Sequence[EventRecord]) -> dict[object, dict]:
    """Per scan, its first new high or critical finding among these records."""
    lead: dict[object, dict] = {}
    for r in records:
        d = r.data if isinstance(r.data, dict) else {}
        if alarming(r.event, d) and d.get("known") is not True:
            lead.setdefault(d.get("scan_id"), d)
    return lead


def alarming(event: str, data: dict) -> bool:
    """A high or critical finding nobody triaged away: a toast's business."""
    return event == "vulnerability_found" and data.get("severity") in ("critical", "high") and not triaged_away(data)


def summary(records: Sequence[EventRecord], kinds: Counter[str]) -> Toast:
    """One toast for a burst: every finding that arrived counted (not only the ones that would
    have had a toast of their own; new ones, then known ones; triaged-away ones left out), then
    scans, triages and notifications."""
    findings = [r.data for r in records if r.event == "vulnerability_found" and isinstance(r.data, dict)
                and not triaged_away(r.data)]
    severities = Counter(d.get("severity") for d in findings if d.get("known") is not True)
    known = len(findings) - sum(severities.values())
    parts = []
    if found := sum(severities.values()):
        parts.append(f"{plural(found, 'new finding')}, {severities['critical']:,} critical")
    if known:
        parts.append(f"{known:,} known")
    for kind in ("started", "completed", "failed"):
        if kinds[kind]:
            parts.append(f"{plural(kinds[kind], 'scan')} {kind}")
    if kinds["triaged"]:
        parts.append(f"{plural(kinds['triaged'], 'finding')} triaged")
    if kinds["notification"]:
        parts.append(plural(kinds["notification"], "notification"))
    return Toast(" · ".join(parts), FIRE if severities["critical"] else BELL)


def finding_link(data: dict) -> str:
    """A toast about a high or critical finding links to its page (our own markdown: the id is
    quoted into the URL); made only for the toasts shown, not for each finding of a burst."""
    if data.get("severity") not in ("critical", "high"):
        return ""
    try:
        finding_id = data.get("id") or protocol.VulnerabilityFound.model_validate(data).finding_id()
    except ValueError:  # not what the store took as a finding: no page to link
        return ""
    return f" · [details]({finding_url(finding_id)})"

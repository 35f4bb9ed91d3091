"""What's new, for pages: which findings are new, known or triaged away, the scan comparison
line, and the what's-new columns of tables and exports. No Streamlit here."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from realtime.models import ScanDiff, Triage, Vulnerability
from realtime.views.text import ago, literal, shown
from realtime.views.times import clock

NEW, KNOWN, TRIAGED = "new", "known", "triaged"
SHOW = (NEW, KNOWN, TRIAGED)  # the New / Known / Triaged filter's choices
DEFAULT_SHOW = (NEW, KNOWN)  # triaged-away findings (false positive, accepted risk, fixed) hidden
SHOW_LABELS = {NEW: "New", KNOWN: "Known", TRIAGED: "Triaged"}
# Exports carry these after the table's columns (tables show "new" and "triage" only).
EXPORT_COLUMNS = ("fingerprint", "known", "first seen", "previous scan", "triage state", "triage note",
                  "triage by", "triage at")


def kind(v: Vulnerability) -> str:
    """`triaged` (triaged away), `known` (seen before in another scan) or `new`; a finding the
    gateway did not stamp is new, as it is to this dashboard."""
    if v.triaged_away:
        return TRIAGED
    return KNOWN if v.known else NEW


def badge(v: Vulnerability) -> str:
    """The table's "new" column: `new` only for a finding the gateway stamped new (a gateway
    without a registry stamps nothing, and then nothing is claimed), `known` for one seen before."""
    return {True: KNOWN, False: NEW}.get(v.known, "")


def iso_z(epoch: float | None) -> str:
    """UTC ISO 8601 with Z (`2026-11-27T16:05:00Z`), empty for none."""
    return "" if epoch is None else datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def whatsnew_cells(v: Vulnerability) -> tuple[Any, ...]:
    """("new", "triage") for tables, then EXPORT_COLUMNS, for one finding (exact text)."""
    t = v.triage or Triage("")
    return (badge(v), t.state, v.fingerprint or "", v.known, iso_z(v.first_seen_at), v.previous_scan_id or "",
            t.state, t.note or "", t.by or "", iso_z(t.at))


def triage_text(t: Triage | None) -> str:
    """"false_positive by alice at 2026-11-27 10:00:00 — not reachable" (plain text; make it
    inert before markdown)."""
    if t is None:
        return ""
    who = f" by {t.by}" if t.by else ""
    when = f" at {clock(t.at)}" if t.at is not None else ""
    return f"{t.state}{who}{when}" + (f" — {t.note}" if t.note else "")


def diff_line(diff: ScanDiff | None, now: float) -> str | None:
    """"vs previous scan of this target, 3 d ago: 4 new, 21 still open, 6 fixed" (inert; None
    without a comparison); the first scan of a target says so."""
    if diff is None:
        return None
    counts = f"{diff.new:,} new, {diff.still_open:,} still open, {diff.fixed:,} fixed"
    if diff.previous_scan_id is None:
        return f"first scan of this target: {counts}"
    when = f", {ago(now - diff.previous_completed_at)}" if diff.previous_completed_at is not None else ""
    return f"vs previous scan of this target{when}: {counts} (previous scan {literal(diff.previous_scan_id)})"


def diff_rows(doc: Any, part: str) -> list[dict[str, str]]:
    """Rows of one list (`new`, `still_open`, `fixed`) of GET /api/scans/{id}/diff, exact text
    for a table; anything that is not a finding entry is left out."""
    items = doc.get(part) if isinstance(doc, dict) else None
    rows = []
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict):
            triage = item.get("triage") if isinstance(item.get("triage"), dict) else {}
            rows.append({name: shown(str(item.get(name) or "")) for name in ("severity", "title", "url", "fingerprint")}
                        | {"triage": shown(str(triage.get("state") or ""))})
    return rows

"""What pages show, derived from a store snapshot: tables, charts, ETA, stuck scans, toasts.

No Streamlit here (pages only lay these out). Derived data is memoised per snapshot, and a
store hands the same snapshot object to every caller until it changes, so many viewers polling
the same version share one computation instead of repeating it per session.
"""
from __future__ import annotations

import functools
import html
import io
import json
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import pyarrow as pa

from realtime.store import HISTOGRAM_SECONDS, EventRecord, Scan, Snapshot, Vulnerability

SEVERITY_COLORS = {"critical": "#dc2626", "high": "#f97316", "medium": "#eab308", "low": "#3b82f6",
                   "info": "#6b7280"}
FIRE, BELL, WARN = ":material/local_fire_department:", ":material/notifications:", ":material/warning:"
TYPE_ICONS = {"success": ":material/check_circle:", "error": ":material/error:",
              "warning": ":material/warning:", "info": ":material/info:"}
MAX_TOASTS = 3


def type_icon(kind: str) -> str:
    return TYPE_ICONS.get(kind, TYPE_ICONS["info"])
  # more new items than this in one tick become one summary toast

_memo: OrderedDict[tuple, tuple[Snapshot, Any]] = OrderedDict()
_memo_lock = threading.Lock()


def per_snapshot(fn):
    """Memoise fn(snapshot, *args) for as long as the snapshot is current (bounded LRU)."""

    @functools.wraps(fn)
    def wrapper(snap: Snapshot, *args: Any) -> Any:
        key = (fn.__name__, args)
        with _memo_lock:
            hit = _memo.get(key)
            if hit is not None and hit[0] is snap:
                _memo.move_to_end(key)
                return hit[1]
        value = fn(snap, *args)
        with _memo_lock:
            _memo[key] = (snap, value)
            while len(_memo) > 256:
                _memo.popitem(last=False)
        return value

    return wrapper


# ---- untrusted text --------------------------------------------------------------------------

_PUNCTUATION = re.compile(r"[!-/:-@\[-`{-~]")
# Streamlit links bare URLs and e-mail addresses after parsing, whatever the escaping; an
# invisible word joiner inside "://", "www." and "@" keeps them from being recognised.
_AUTOLINK = re.compile(r"(?<=:)(?=//)|(?<=www)(?=\.)|(?<=@)", re.IGNORECASE)
JOINER = "\u2060"


def literal(text: Any, limit: int = 300) -> str:
    """Untrusted text for a Streamlit parameter that parses markdown (toasts, markdown, labels,
    progress text). Every ASCII punctuation character becomes a numeric character reference:
    markdown never reads a reference as syntax, so `**x**`, links, images, HTML, `:color[...]`
    directives and autolinked URLs (`https://`, `www.`, `a@b.c`) all show as the characters they
    are. URLs and addresses also get an invisible word joiner (`JOINER`), as Streamlit links them
    after parsing; tables and exports keep the exact text. One line, bounded."""
    text = " ".join(str(text).split())
    if len(text) > limit:
        text = text[:limit] + "…"
    text = _AUTOLINK.sub(JOINER, text)
    return _PUNCTUATION.sub(lambda m: f"&#{ord(m.group())};", text)


def plotly_text(text: Any) -> str:
    """Untrusted text for plotly labels and hover, which render a subset of HTML."""
    return html.escape(str(text))


def ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min ago"
    return f"{seconds // 86400} d ago"


def span(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def clock(epoch: float | None) -> str:
    return "" if epoch is None else datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S")


# ---- scans -----------------------------------------------------------------------------------

def is_stuck(scan: Scan, now: float, stuck_after: float) -> bool:
    return scan.status == "running" and now - scan.updated_at > stuck_after


@per_snapshot
def scans_by_start(snap: Snapshot) -> tuple[Scan, ...]:
    return tuple(sorted(snap.scans.values(), key=lambda s: s.started_at, reverse=True))


def active_scans(snap: Snapshot) -> list[Scan]:
    return [s for s in scans_by_start(snap) if s.status in ("running", "queued")]


def scans_frame(snap: Snapshot, now: float, stuck_after: float) -> pd.DataFrame:
    rows = [{
        "status": s.status + (" (possibly stuck)" if is_stuck(s, now, stuck_after) else ""),
        "name": s.name or s.scan_id, "target": s.target or "", "progress": s.progress,
        "phase": s.phase or "", "started": datetime.fromtimestamp(s.started_at),
        "duration": span((s.finished_at or now) - s.started_at), "findings": s.vulnerability_count,
        "last event": ago(now - s.updated_at), "scan_id": s.scan_id,
    } for s in scans_by_start(snap)]
    return pd.DataFrame(rows, columns=["status", "name", "target", "progress", "phase", "started",
                                       "duration", "findings", "last event", "scan_id"])


def eta(scan: Scan, now: float) -> tuple[float, float] | None:
    """Seconds left as a (low, high) range from the overall and the recent progress rate;
    None until there is enough history to say anything honest."""
    h = scan.history
    if scan.finished or len(h) < 5 or scan.progress < 5 or h[-1].at - h[0].at < 10:
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
        spans[-1][2] = scan.finished_at or (scan.history[-1].at if scan.finished else now)
    return [tuple(s) for s in spans]


def figure(traces: list[dict], **layout: Any) -> go.Figure:
    """A plotly figure as plain data: no validation by plotly and no default template (Streamlit's
    theme styles it in the browser). Each viewer's tick copies and sends the figure: ~0.1 ms so,
    against ~1.5 ms for a validated figure carrying plotly's template."""
    return go.Figure({"data": traces, "layout": {"template": {}, "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
                                                 "height": 260, **layout}}, _validate=False)


def progress_figure(scan: Scan) -> go.Figure:
    h = scan.history
    return figure([{"type": "scatter", "x": [datetime.fromtimestamp(p.at) for p in h], "y": [p.progress for p in h],
                    "mode": "lines+markers", "text": [plotly_text(p.phase or "") for p in h],
                    "hovertemplate": "%{y:.1f}% · %{text}<extra></extra>"}],
                  yaxis={"range": [0, 100], "title": {"text": "progress %"}})


def gantt_figure(scan: Scan, now: float) -> go.Figure:
    spans = phase_spans(scan, now)
    return figure([{"type": "bar", "orientation": "h", "y": [plotly_text(p) for p, _, _ in spans],
                    "x": [max(end - start, 0.5) * 1000 for _, start, end in spans],
                    "base": [datetime.fromtimestamp(start) for _, start, _ in spans],
                    "hovertemplate": "%{y}: %{base|%H:%M:%S} → %{x:.0f} ms<extra></extra>"}],
                  xaxis={"type": "date"}, yaxis={"autorange": "reversed"}, height=60 + 40 * len(spans),
                  showlegend=False)


# ---- findings --------------------------------------------------------------------------------

FINDING_COLUMNS = ["severity", "title", "scan", "target", "url", "cvss", "type", "found at", "id", "scan_id"]
# The optional triage fields (protocol.FINDING_EXTRAS): column name → field. Exports carry them
# all; the tables show the short ones, the details area the rest.
EXTRA_COLUMNS = {"cve": "cve", "cwe": "cwe", "cvss vector": "cvss_vector", "tags": "tags", "extracted": "extracted",
                 "references": "references", "remediation": "remediation", "evidence": "evidence",
                 "details": "details", "description": "description"}
TABLE_COLUMNS = ("severity", "title", "scan", "target", "url", "cvss", "type", "cve", "extracted", "found at")


def extra_text(value: Any) -> str:
    """An optional field as one plain string: lists joined, details as `key: value` lines."""
    if isinstance(value, dict):
        return "\n".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return "" if value is None else str(value)


@per_snapshot
def matching_findings(snap: Snapshot, severities: tuple[str, ...] = (), scan_id: str = "",
                      text: str = "") -> Sequence[Vulnerability]:
    """Findings passing the filters, newest first: the snapshot's own sequence when there are
    none. `text` is a literal, case-insensitive match on title, URL, target, type and CVE ids."""
    if not (severities or scan_id or text):
        return snap.vulnerabilities
    wanted, needle, scans = set(severities), text.casefold(), snap.scans

    def keep(v: Vulnerability) -> bool:
        if (wanted and v.severity not in wanted) or (scan_id and v.scan_id != scan_id):
            return False
        if not needle:
            return True
        scan = scans.get(v.scan_id)
        target = (scan.target if scan else None) or ""
        cves = " ".join((v.extras or {}).get("cve", ()))
        return needle in f"{v.title} {v.url or ''} {target} {v.vulnerability_type or ''} {cves}".casefold()

    return tuple(v for v in snap.vulnerabilities if keep(v))


def findings_frame(snap: Snapshot, rows: Sequence[Vulnerability]) -> pd.DataFrame:
    """A table of `rows` (a page of them: building one for 100,000 findings takes ~200 ms)."""
    scans = snap.scans
    table = []
    for v in rows:
        scan = scans.get(v.scan_id)
        extras = {**(v.extras or {}), "description": v.description}
        table.append((v.severity, v.title, (scan.name if scan else None) or v.scan_id,
                      (scan.target if scan else None) or "", v.url or "", v.cvss_score,
                      v.vulnerability_type or "", datetime.fromtimestamp(v.found_at), v.id, v.scan_id,
                      *(extra_text(extras.get(name)) for name in EXTRA_COLUMNS.values())))
    return pd.DataFrame(table, columns=FINDING_COLUMNS + list(EXTRA_COLUMNS))


@per_snapshot
def findings_page(snap: Snapshot, filters: tuple[tuple[str, ...], str, str], page: int, size: int,
                  columns: tuple[str, ...] = TABLE_COLUMNS) -> pa.Table:
    """Page `page` (from 1) of the matching findings, `size` rows of `columns`, shared by every
    viewer. An Arrow table: Streamlit sends it as it is (pandas would be converted per viewer
    per tick, ~3 ms for 1,000 rows)."""
    rows = matching_findings(snap, *filters)
    frame = findings_frame(snap, rows[(page - 1) * size:page * size])
    return pa.Table.from_pandas(frame[list(columns)], preserve_index=False)


def pages(count: int, size: int) -> int:
    return max(1, -(-count // size))


@per_snapshot
def severity_figure(snap: Snapshot) -> go.Figure:
    counts = snap.severity_counts
    return figure([{"type": "bar", "x": list(counts), "y": list(counts.values()),
                    "marker": {"color": [SEVERITY_COLORS[s] for s in counts]}}])


@per_snapshot
def findings_over_time_figure(snap: Snapshot) -> go.Figure:
    """From the store's running histogram: no pass over the findings themselves."""
    histogram = snap.findings_histogram
    if not histogram:
        return figure([])
    first, last = min(histogram), max(histogram) + HISTOGRAM_SECONDS
    width = max(last - first, 60)
    bucket = next(b for b in (10, 60, 300, 900, 3600, 21600, 86400, 10**9) if width / b <= 60)
    counts: Counter[int] = Counter()
    for start, n in histogram.items():
        counts[start // bucket * bucket] += n
    xs = sorted(counts)
    return figure([{"type": "bar", "x": [datetime.fromtimestamp(x + bucket / 2).isoformat() for x in xs],
                    "y": [counts[x] for x in xs], "width": bucket * 1000 * 0.9,
                    "hovertemplate": "%{x}: %{y} findings<extra></extra>"}])


# ---- metrics and rates -----------------------------------------------------------------------

def metric_series(snap: Snapshot, key: str) -> list[int]:
    return [s.metrics.get(key, 0) for s in snap.samples]


def metric_delta(snap: Snapshot, key: str, window: float = 300) -> int | None:
    """Change over the last `window` seconds, from the samples."""
    if not snap.samples:
        return None
    cutoff = snap.samples[-1].at - window
    past = next((s for s in snap.samples if s.at >= cutoff), snap.samples[0])
    return snap.metrics.get(key, 0) - past.metrics.get(key, 0)


def event_rates(snap: Snapshot) -> list[float]:
    """Events/s between consecutive samples."""
    s = snap.samples
    return [round((b.logged - a.logged) / (b.at - a.at), 2) for a, b in zip(s, s[1:]) if b.at > a.at]


# ---- toasts ----------------------------------------------------------------------------------

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


def plan_toasts(records: Sequence[EventRecord]) -> list[Toast]:
    """Toasts for these records: notifications by type, scan starts/ends, high and critical
    findings. A notification about a scan speaks for that scan's events in the same batch (no
    double toast). A burst becomes one summary."""
    items: list[tuple[str, str, str]] = []  # (kind, icon, text)
    noted = {r.data.get("scan_id") for r in records
             if r.event == "notification" and isinstance(r.data, dict)}
    for r in records:
        d = r.data if isinstance(r.data, dict) else {}
        name = d.get("scan_name") or d.get("scan_id", "")
        if r.event == "notification":
            title = f"{d['title']}: " if d.get("title") else ""
            items.append(("notification", type_icon(d.get("type")), literal(title + d.get("message", ""))))
        elif d.get("scan_id") in noted:
            continue
        elif r.event == "scan_started":
            items.append(("started", ":material/rocket_launch:", "Scan started: " + literal(name)))
        elif r.event == "scan_completed":
            items.append(("completed", ":material/check_circle:", "Scan completed: " + literal(name)))
        elif r.event == "scan_failed":
            reason = d.get("error") or "no reason given"
            items.append(("failed", ":material/error:", "Scan failed: " + literal(f"{name} — {reason}")))
        elif r.event == "vulnerability_found" and d.get("severity") in ("critical", "high"):
            items.append((d["severity"], FIRE if d["severity"] == "critical" else WARN,
                          f"{d['severity'].title()} finding: " + literal(d.get("title", ""))))
    if len(items) <= MAX_TOASTS:
        return [Toast(text, icon) for _, icon, text in items]
    kinds = Counter(kind for kind, _, _ in items)
    findings = kinds["critical"] + kinds["high"]
    parts = []
    if findings:
        parts.append(f"{findings} new findings, {kinds['critical']} critical")
    for kind, label in (("started", "started"), ("completed", "completed"), ("failed", "failed")):
        if kinds[kind]:
            parts.append(f"{kinds[kind]} scans {label}")
    if kinds["notification"]:
        parts.append(f"{kinds['notification']} notifications")
    return [Toast(" · ".join(parts), FIRE if kinds["critical"] else BELL)]


# ---- exports ---------------------------------------------------------------------------------

_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """A cell a spreadsheet will not run: text starting like a formula gets a leading quote."""
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


def to_csv(frame: pd.DataFrame) -> bytes:
    return frame.map(csv_safe).to_csv(index=False).encode()


def to_json(frame: pd.DataFrame) -> bytes:
    return frame.to_json(orient="records", date_format="iso", indent=1).encode()


@per_snapshot
def matching_notifications(snap: Snapshot, types: tuple[str, ...] = ()) -> Sequence:
    return snap.notifications if not types else tuple(n for n in snap.notifications if n.type in types)


@per_snapshot
def event_rows(snap: Snapshot, names: tuple[str, ...] = (), scan_id: str = "", limit: int = 500) -> list[dict]:
    """The newest logged events as table rows, optionally by name or scan (shared per snapshot)."""
    rows = []
    for r in snap.events:
        if (names and r.event not in names) or (scan_id and not (isinstance(r.data, dict)
                                                                 and r.data.get("scan_id") == scan_id)):
            continue
        rows.append({"#": r.index, "time": clock(r.at), "seq": r.seq, "event": r.event,
                     "data": r.data if isinstance(r.data, str) else json.dumps(r.data, default=str)})
        if len(rows) == limit:
            break
    return rows


def events_jsonl(records: Sequence[EventRecord]) -> bytes:
    out = io.StringIO()
    for r in records:
        out.write(json.dumps({"index": r.index, "seq": r.seq, "event": r.event, "at": r.at, "data": r.data},
                             default=str) + "\n")
    return out.getvalue().encode()


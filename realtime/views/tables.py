"""Tables for pages (findings, notifications, the event log), paging, and exports."""
from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa

from realtime.models import EventRecord, Snapshot, Vulnerability
from realtime.views.links import finding_url
from realtime.views.memo import per_snapshot
from realtime.views.text import shown
from realtime.views.times import exported, iso_utc, utc_datetime
from realtime.views.whatsnew import DEFAULT_SHOW, EXPORT_COLUMNS, SHOW, kind, whatsnew_cells

FINDING_COLUMNS = ["severity", "title", "scan", "target", "url", "cvss", "type", "found at", "id", "scan_id", "new",
                   "triage"]
# The optional triage fields (protocol.FINDING_EXTRAS): column name → field. Exports carry them
# all; the tables show the short ones, the details area the rest.
EXTRA_COLUMNS = {"cve": "cve", "cwe": "cwe", "cvss vector": "cvss_vector", "tags": "tags", "extracted": "extracted",
                 "references": "references", "remediation": "remediation", "evidence": "evidence",
                 "details": "details", "description": "description"}
TABLE_COLUMNS = ("open", "severity", "new", "title", "scan", "target", "url", "cvss", "type", "cve", "extracted",
                 "found at", "triage")


def extra_text(value: Any) -> str:
    """An optional field as one plain string: lists joined, details as `key: value` lines."""
    if isinstance(value, dict):
        return "\n".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return "" if value is None else str(value)


@per_snapshot
def matching_findings(snap: Snapshot, severities: tuple[str, ...] = (), scan_id: str = "",
                      text: str = "", target: str = "",
                      show: tuple[str, ...] = DEFAULT_SHOW) -> Sequence[Vulnerability]:
    """Findings passing the filters, newest first: the snapshot's own sequence when there are
    none. `text` is a literal, case-insensitive match on title, URL, target, type and CVE ids;
    `target` the exact target of the finding's scan; `show` the kinds shown (whatsnew.kind: new,
    known, triaged away)."""
    every_kind = set(show) >= set(SHOW) or (set(show) >= set(DEFAULT_SHOW) and not snap.triaged_away)
    if not (severities or scan_id or text or target) and every_kind:
        return snap.vulnerabilities
    wanted, needle, scans, kinds = set(severities), text.casefold(), snap.scans, set(show)

    def keep(v: Vulnerability) -> bool:
        if (wanted and v.severity not in wanted) or (scan_id and v.scan_id != scan_id):
            return False
        if not every_kind and kind(v) not in kinds:
            return False
        scan = scans.get(v.scan_id)
        scanned = (scan.target if scan else None) or ""
        if target and scanned != target:
            return False
        if not needle:
            return True
        cves = " ".join((v.extras or {}).get("cve", ()))
        return needle in f"{v.title} {v.url or ''} {scanned} {v.vulnerability_type or ''} {cves}".casefold()

    return tuple(v for v in snap.vulnerabilities if keep(v))


def findings_frame(snap: Snapshot, rows: Sequence[Vulnerability]) -> pd.DataFrame:
    """A table of `rows` (a page of them: building one for 100,000 findings takes ~200 ms)."""
    scans = snap.scans
    table = []
    for v in rows:
        scan = scans.get(v.scan_id)
        extras, cells = {**(v.extras or {}), "description": v.description}, whatsnew_cells(v)
        table.append((v.severity, v.title, (scan.name if scan else None) or v.scan_id,
                      (scan.target if scan else None) or "", v.url or "", v.cvss_score,
                      v.vulnerability_type or "", utc_datetime(v.found_at), v.id, v.scan_id,
                      *cells[:2], *(extra_text(extras.get(name)) for name in EXTRA_COLUMNS.values()),
                      *cells[2:]))
    frame = pd.DataFrame(table, columns=FINDING_COLUMNS + list(EXTRA_COLUMNS) + list(EXPORT_COLUMNS))
    return frame.astype({"cvss": "float64"})  # a page without scores: an empty number column, not "None"


@per_snapshot
def findings_page(snap: Snapshot, filters: tuple, page: int, size: int,
                  columns: tuple[str, ...] = TABLE_COLUMNS) -> pa.Table:
    """Page `page` (from 1) of the findings matching `filters` (matching_findings' arguments),
    `size` rows of `columns` ("open": the link to the finding's page), shared by every viewer.
    An Arrow table: Streamlit sends it as it is (pandas would be converted per viewer per tick,
    ~3 ms for 1,000 rows)."""
    rows = matching_findings(snap, *filters)
    frame = findings_frame(snap, Paging(page, len(rows), size).of_items(rows))
    frame["open"] = frame["id"].map(finding_url)
    return pa.Table.from_pandas(frame[list(columns)].map(shown), preserve_index=False)


@per_snapshot
def find_finding(snap: Snapshot, finding_id: str) -> Vulnerability | None:
    """The held finding with this id (None: never received, or dropped as the oldest beyond
    BUGHUNT_MAX_FINDINGS)."""
    return next((v for v in snap.vulnerabilities if v.id == finding_id), None)


def pages(count: int, size: int) -> int:
    return max(1, -(-count // size))


@dataclass(frozen=True)
class Paging:
    """Page `number` (from 1, clamped to the last page) of `count` items, `size` a page."""

    number: int
    count: int
    size: int

    @classmethod
    def of(cls, count: int, size: int, wanted: int) -> Paging:
        return cls(min(max(1, wanted), pages(count, size)), count, size)

    @property
    def first(self) -> int:  # index of the page's first item
        return (self.number - 1) * self.size

    @property
    def end(self) -> int:  # index after the page's last item
        return min(self.first + self.size, self.count)

    @property
    def label(self) -> str:
        """"1–50 of 120 (page 1 of 3)"; empty when everything fits on one page."""
        if self.count <= self.size:
            return ""
        return f"{self.first + 1:,}–{self.end:,} of {self.count:,} (page {self.number} of {self.pages})"

    @property
    def pages(self) -> int:
        return pages(self.count, self.size)

    def of_items(self, items: Sequence) -> Sequence:
        return items[self.first:self.end]


@per_snapshot
def matching_notifications(snap: Snapshot, types: tuple[str, ...] = ()) -> Sequence:
    return snap.notifications if not types else tuple(n for n in snap.notifications if n.type in types)


@per_snapshot
def event_rows(snap: Snapshot, names: tuple[str, ...] = (), scan_id: str = "", limit: int = 500,
               public: bool = False) -> list[dict]:
    """The newest logged events as table rows, optionally by name or scan (shared per snapshot);
    `public`: none addressed to a user (what the gateway gives a share link's token)."""
    rows = []
    for r in snap.events:
        data = r.data if isinstance(r.data, dict) else {}
        if (names and r.event not in names) or (scan_id and data.get("scan_id") != scan_id) or \
                (public and (data.get("user_id") is not None or not isinstance(r.data, dict))):
            continue
        rows.append({"#": r.index, "time": utc_datetime(r.at), "seq": r.seq, "event": shown(r.event),
                     "data": shown(r.data) if isinstance(r.data, str) else json.dumps(r.data, default=str)})
        if len(rows) == limit:
            break
    return rows

# ---- exports ---------------------------------------------------------------------------------

_FORMULA = ("=", "+", "-", "@")


def csv_safe(value: Any) -> Any:
    """A cell a spreadsheet will not run: text whose first non-blank character (spaces, tabs,
    newlines and no-break spaces skipped, as spreadsheets do) could start a formula gets a
    leading quote."""
    if isinstance(value, str) and (value.lstrip().startswith(_FORMULA) or value.startswith(("\t", "\r"))):
        return "'" + value
    return value


def to_csv(frame: pd.DataFrame) -> bytes:
    return exported(frame).map(csv_safe).to_csv(index=False).encode()


def to_json(frame: pd.DataFrame) -> bytes:
    return exported(frame).to_json(orient="records", indent=1).encode()


def events_jsonl(records: Sequence[EventRecord]) -> bytes:
    out = io.StringIO()
    for r in records:
        out.write(json.dumps({"index": r.index, "seq": r.seq, "event": r.event, "at": r.at, "time": iso_utc(r.at),
                              "data": r.data},
                             default=str) + "\n")
    return out.getvalue().encode()

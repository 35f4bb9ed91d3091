"""A gateway snapshot (GET /api/state, or one the journal kept) checked before the store loads it:
every item that pages could not show is left out and counted, and what the snapshot itself
left out (findings and notifications beyond its window) is counted, so catching up can say
exactly what it could not bring back."""
from __future__ import annotations

import dataclasses
from typing import Any

from realtime import protocol
from realtime.findings import checked_row, diff_of, from_row
from realtime.models import HistoryPoint, Notification, ScanRecord, Vulnerability

SCAN_TIMES = ("started_at", "updated_at")
OPTIONAL_SCAN_TIMES = ("finished_at",)


def checked(doc: Any) -> dict[str, Any]:
    """{scans (None: the document has none), vulnerabilities, notifications (records), metrics,
    epoch, last_seq, counts, original}."""
    doc = doc if isinstance(doc, dict) else {}
    scans = _list(doc, "scans")
    good_scans = [s for s in scans or () if _scan_ok(s)]
    findings = [checked_row(v) for v in _records(Vulnerability, _list(doc, "vulnerabilities") or [], "found_at")
                if v.severity in protocol.SEVERITIES]
    notes = _records(Notification, [{**n, "read": False} for n in _list(doc, "notifications") or []
                                    if isinstance(n, dict)], "at")
    served_findings, served_notes = len(_list(doc, "vulnerabilities") or []), len(_list(doc, "notifications") or [])
    last_seq = doc.get("last_seq")
    return {
        "scans": None if scans is None else good_scans,
        "vulnerabilities": findings,
        "notifications": notes,
        "metrics": _metrics(doc.get("metrics")),
        "epoch": doc.get("epoch") if isinstance(doc.get("epoch"), str) else None,
        "last_seq": last_seq if isinstance(last_seq, int) and last_seq >= 0 else None,
        "counts": {
            "scans": len(good_scans),
            "unreadable": (len(scans or ()) - len(good_scans)) + (served_findings - len(findings))
                          + (served_notes - len(notes)),
            "findings_not_loaded": _beyond(doc, "vulnerabilities_total", served_findings),
            "notifications_not_loaded": _beyond(doc, "notifications_total", served_notes),
        },
        "original": doc,
    }


def _metrics(metrics: Any) -> dict[str, int]:
    if not isinstance(metrics, dict):
        return {}
    return {k: v for k, v in metrics.items() if isinstance(v, int) and 0 <= v <= protocol.MAX_COUNT}


def _list(doc: dict, key: str) -> list | None:
    value = doc.get(key)
    return value if isinstance(value, list) else None


def _beyond(doc: dict, key: str, served: int) -> int:
    total = doc.get(key)
    return max(0, total - served) if isinstance(total, int) else 0


def _scan_ok(data: Any) -> bool:
    if not isinstance(data, dict) or not isinstance(data.get("scan_id"), str):
        return False
    progress = data.get("progress", 0)
    if data.get("status") not in protocol.SCAN_STATUSES or not (
            isinstance(progress, (int, float)) and 0 <= progress <= 100):
        return False
    times_ok = all(protocol.sane_time(data.get(k)) for k in SCAN_TIMES) and all(
        data.get(k) is None or protocol.sane_time(data.get(k)) for k in OPTIONAL_SCAN_TIMES)
    history = data.get("history", [])
    return times_ok and isinstance(history, (list, tuple)) and all(
        isinstance(p, dict) and protocol.sane_time(p.get("at")) for p in history)


def _records(cls: type, rows: list, time_field: str) -> list:
    """`cls` records from the rows that have its fields (those without a default at least) and a
    time pages can show."""
    names = [f.name for f in dataclasses.fields(cls)]
    made = []
    for row in rows:
        if isinstance(row, dict) and protocol.sane_time(row.get(time_field)) and isinstance(row.get("id"), str):
            try:
                made.append(cls(**{name: row[name] for name in names if name in row}))
            except TypeError:  # a field without a default is missing
                continue
    return made


def fill_scan(rec: ScanRecord, data: dict[str, Any], max_history: int) -> None:
    """A scan as the snapshot has it (its status is the store's to set)."""
    for name in ("name", "target", "progress", "phase", "current_step", "error", "started_at",
                 "finished_at", "duration"):
        setattr(rec, name, data.get(name))
    rec.reported = max(rec.reported, data.get("vulnerability_count", 0))
    rec.diff = from_row(protocol.ScanDiff, diff_of, data.get("diff"))
    rec.history = [HistoryPoint(p["at"], p.get("progress", 0), p.get("phase")) for p in data.get("history", [])
                   ][-max_history:]

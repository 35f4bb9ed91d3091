"""nuclei's output → scan_started, vulnerability_found, scan_progress, then scan_completed or
scan_failed.

    nuclei -u https://shop.example.com -jsonl -stats -sj 2>&1 | python -m realtime.adapters.nuclei
    python -m realtime.adapters.nuclei results.json          # a `-je` file (one JSON array)

A result (`-jsonl` lines or a `-je` array; nuclei 2.x before 2.6 and 3.x field names alike)
becomes a finding: `info.name` (else the template id), `info.severity` (`unknown` counts as
info), `matched-at` (else `host`), CVE/CWE ids, CVSS score and vector, references,
remediation, tags, extracted values, the curl command (else the request) as evidence, the
matcher's name and nuclei's own time. One finding per template, place, matcher and extracted
values. A result with `"matcher-status": false` (`-ms`: a check that did not match) is no
finding. A statistics line (`-stats -sj`, on stderr: hence `2>&1`) is progress.

The scan completes when the output ends normally. It fails, with nuclei's reason, after a
fatal log line (`[FTL] Could not run nuclei: …`) or when the last statistics line says the
run stopped short of 100 % (killed or interrupted).

Times: a scan keeps one clock. When the scan starts at a statistics line's `startedAt` (nuclei's
clock), its progress, its end and its findings' `found_at` carry nuclei's time too (`startedAt` +
`duration`, each result's `timestamp`); otherwise the receiver's clock times the whole scan,
findings included, and a result's own `timestamp` is kept in the finding's details as
`nuclei time` (a file replayed later would otherwise show findings years before their scan).
"""
from __future__ import annotations

import hashlib
import json
import re
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from realtime import fingerprint, protocol
from realtime.adapters import Scan, main, timed, to_number, tool_time
from realtime.publisher import Item

SEVERITY = {s: s for s in protocol.SEVERITIES} | {"unknown": "info"}
ANSI = re.compile(r"\x1b\[[0-9;]*m")
FATAL = re.compile(r"\[(?:FTL|FATAL)\]\s*(.+)")
# nuclei 3.x name first, then the name nuclei 2.x used before 2.6.
FIELDS = {
    "template": ("template-id", "templateID"),
    "where": ("matched-at", "matched"),
    "matcher": ("matcher-name", "matcher_name"),
    "extracted": ("extracted-results", "extracted_results"),
    "curl": ("curl-command", "curl_command"),
}


def pick(record: dict, field: str) -> Any:
    return next((record[name] for name in FIELDS[field] if record.get(name) not in (None, "", [])), None)


def strings(value: Any, limit: int = 50) -> list[str]:
    """A list from a list, a comma-separated string or a YAML-ish `- a\\n- b` block."""
    if isinstance(value, str):
        items = re.split(r"[,\n]", value)
    elif isinstance(value, list):
        items = [str(v) for v in value if v is not None]
    else:
        items = []
    return [i.strip().removeprefix("- ").strip() for i in items if i.strip().removeprefix("-").strip()][:limit]


def is_result(record: dict) -> bool:
    return "info" in record or any(name in record for name in FIELDS["template"])


def is_match(record: dict) -> bool:
    return record.get("matcher-status") is not False


def finding(result: dict, scan: Scan) -> dict:
    info = result.get("info") if isinstance(result.get("info"), dict) else {}
    template = str(pick(result, "template") or "")
    severity = SEVERITY.get(str(info.get("severity", "")).lower())
    if severity is None:
        raise ValueError(f"unknown severity {protocol.preview(info.get('severity'), 40)}")
    where = pick(result, "where") or result.get("host")
    matcher = pick(result, "matcher")
    extracted = [v.strip()[:1000] for v in strings(pick(result, "extracted"))]
    key = "\x1f".join([scan.scan_id, template, str(where or ""), str(matcher or ""), *extracted])
    data = {
        "scan_id": scan.scan_id,
        "id": "nuclei-" + hashlib.sha1(key.encode()).hexdigest()[:20],
        "fingerprint": fingerprint.of("nuclei", template, where, matcher, *extracted),
        "title": str(info.get("name") or template or "nuclei finding")[:500],
        "severity": severity,
        "url": str(where)[:2048] if where else None,
        "vulnerability_type": template[:100] or None,
        "description": str(info.get("description") or "").strip()[:protocol.DESCRIPTION_LIMIT] or None,
        "found_at": tool_time(result.get("timestamp")),
        "references": [r[:2048] for r in strings(info.get("reference"))] or None,
        "remediation": str(info.get("remediation") or "").strip()[:protocol.DESCRIPTION_LIMIT] or None,
        "tags": [t[:100] for t in strings(info.get("tags"))] or None,
        "evidence": str(pick(result, "curl") or result.get("request") or "")[:protocol.EVIDENCE_LIMIT] or None,
        "extracted": extracted or None,
        "details": _details(result, matcher),
        **_classification(info.get("classification")),
    }
    return {k: v for k, v in data.items() if v is not None}


def _classification(value: Any) -> dict:
    classification = value if isinstance(value, dict) else {}
    data = {"cve": [c.upper()[:32] for c in strings(classification.get("cve-id"))] or None,
            "cwe": [c.upper()[:32] for c in strings(classification.get("cwe-id"))] or None,
            "cvss_vector": str(classification.get("cvss-metrics") or "")[:200] or None}
    score = classification.get("cvss-score")
    if score not in (None, ""):
        data["cvss_score"] = to_number(score, "info.classification.cvss-score")
    return data


def _details(result: dict, matcher: Any) -> dict | None:
    details = {"matcher": matcher, "template": result.get("template-url") or result.get("template"),
               "protocol": result.get("type"), "ip": result.get("ip"), "host": result.get("host")}
    return {k: str(v)[:4000] for k, v in details.items() if v not in (None, "")} or None


def is_stats(record: dict) -> bool:
    return "percent" in record or ("requests" in record and "total" in record)


def percent(stats: dict) -> float | None:
    """nuclei's percent done; from requests/total when the line has no `percent`."""
    if stats.get("percent") not in (None, ""):
        return min(100.0, max(0.0, to_number(stats["percent"], "percent")))
    total = to_number(stats.get("total") or 0, "total")
    return min(100.0, 100 * to_number(stats.get("requests") or 0, "requests") / total) if total > 0 else None


def progress(stats: dict, scan: Scan, found: int, done: float) -> dict:
    step = f"{stats.get('requests', '?')}/{stats.get('total', '?')} requests, {stats.get('rps', '?')} rps"
    return {"scan_id": scan.scan_id, "progress": done, "phase": "vulnerability_testing",
            "current_step": step, "vulnerabilities_found": found}


def records(lines: Iterable[str]) -> Iterator[tuple[int, str, Any]]:
    """(line number, kind, value): kind `record` (a JSON object), `fatal` (nuclei's fatal log
    line) or `bad` (why a line is not usable). A `-je` file is one JSON array."""
    lines = iter(lines)
    number = 0
    for number, line in enumerate(lines, 1):
        text = ANSI.sub("", line).strip()
        if text.startswith("["):
            fatal = FATAL.match(text)
            if fatal:
                yield number, "fatal", fatal.group(1)
            elif not re.match(r"\[[A-Z]{3}\]", text):  # not a log line: a -je array
                yield from _array(number, text + "".join(lines))
            continue
        if not text.startswith("{"):
            continue  # nuclei's banner and log lines on the same stream
        try:
            record = json.loads(text)
        except ValueError as exc:
            yield number, "bad", str(exc)
            continue
        yield (number, "record", record) if isinstance(record, dict) else (number, "bad", "not a JSON object")


def _array(number: int, text: str) -> Iterator[tuple[int, str, Any]]:
    try:
        items = json.loads(text)
    except ValueError as exc:
        yield number, "bad", f"not a JSON array: {exc}"
        return
    for item in items if isinstance(items, list) else [items]:
        yield (number, "record", item) if isinstance(item, dict) else (number, "bad", "not a JSON object")


class Run:
    """What the output said so far: findings, the last statistics, a fatal error."""

    def __init__(self, scan: Scan):
        self.scan = scan
        self.found = 0
        self.announced = False
        self.done: float | None = None  # percent of the last statistics line, when it had one
        self.took: float | None = None  # nuclei's own duration from its statistics
        self.fatal: str | None = None
        self.clock = time.time()
        self.on_tool_clock = False  # the start carried nuclei's time
        self.tool_now: str | None = None  # nuclei's time at its last statistics line

    def event(self, record: dict) -> tuple[str, dict] | None:
        if is_result(record):
            if not is_match(record):
                return None  # -ms: a check that ran and did not match
            return "vulnerability_found", self.on_scan_clock(finding(record, self.scan))
        if is_stats(record):
            self.took = seconds(record.get("duration")) or self.took
            self.tool_now = stats_time(record) or self.tool_now
            self.done = percent(record)
            if self.done is None:
                return None
            return "scan_progress", progress(record, self.scan, self.found, self.done)
        raise ValueError("neither a nuclei result nor a statistics line")

    def on_scan_clock(self, data: dict) -> dict:
        """A finding timed like its scan: nuclei's time as `found_at` only when the scan is on
        nuclei's clock; else the receiver's time applies and nuclei's is a named detail."""
        if self.on_tool_clock or data.get("found_at") is None:
            return data
        details = {**(data.get("details") or {}), "nuclei time": data["found_at"]}
        return data | {"found_at": None, "details": details}

    def start(self, record: dict | None) -> dict:
        self.announced = True
        record = record or {}
        target = self.scan.target or (record.get("host") if is_result(record) else None)
        name = self.scan.scan_name or (f"nuclei {target}" if target else "nuclei")
        data = {"scan_id": self.scan.scan_id, "scan_name": str(name)[:200],
                "target": str(target)[:2048] if target else None, "timestamp": tool_time(record.get("startedAt"))}
        self.on_tool_clock = data["timestamp"] is not None
        return {k: v for k, v in data.items() if v is not None}

    def now(self) -> str | None:
        """The time for the scan's next event: nuclei's when the scan started on its clock."""
        return self.tool_now if self.on_tool_clock else None

    def end(self) -> tuple[str, dict]:
        event, data = self._outcome()
        return event, timed(data, self.now())

    def _outcome(self) -> tuple[str, dict]:
        scan_id = self.scan.scan_id
        if self.fatal:
            return "scan_failed", {"scan_id": scan_id, "scan_name": self.scan.scan_name,
                                   "error": protocol.preview(f"nuclei: {self.fatal}", 2000)}
        if self.done is not None and self.done < 100:
            return "scan_failed", {"scan_id": scan_id, "error": f"nuclei's output ended at {self.done:g} % of its "
                                                                 "requests (killed or interrupted?)"}
        took = self.took if self.took is not None else round(time.time() - self.clock, 3)
        return "scan_completed", {"scan_id": scan_id, "scan_name": self.scan.scan_name,
                                  "total_vulnerabilities": self.found, "duration": took}


def convert(lines: Iterable[str], scan: Scan) -> Iterator[Item]:
    run = Run(scan)
    number = 0
    for number, kind, value in records(lines):
        if kind == "fatal":
            run.fatal = run.fatal or value
            continue
        try:
            if kind == "bad":
                raise ValueError(value)
            item = run.event(value)
        except ValueError as exc:
            yield number, None, str(exc)
            continue
        if not run.announced and item is not None:
            yield number, "scan_started", run.start(value)
        if item is not None:
            run.found += item[0] == "vulnerability_found"
            yield number, item[0], timed(item[1], run.now()) if item[0] == "scan_progress" else item[1]
    if not run.announced:
        yield number, "scan_started", run.start(None)
    event, data = run.end()
    yield number, event, {k: v for k, v in data.items() if v is not None}


def seconds(duration: Any) -> float | None:
    """nuclei's `h:mm:ss` duration in seconds."""
    try:
        parts = [float(p) for p in str(duration).split(":")]
    except ValueError:
        return None
    return sum(p * 60 ** i for i, p in enumerate(reversed(parts))) if 0 < len(parts) <= 3 else None


def stats_time(stats: dict) -> str | None:
    """nuclei's time at a statistics line: its `startedAt` plus its `duration`."""
    start, took = tool_time(stats.get("startedAt")), seconds(stats.get("duration"))
    if start is None or took is None:
        return start
    return (datetime.fromisoformat(start) + timedelta(seconds=took)).isoformat()


if __name__ == "__main__":
    sys.exit(main("nuclei", convert, __doc__))

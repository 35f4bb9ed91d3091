"""nuclei's JSON Lines output → scan_started, vulnerability_found, scan_progress, scan_completed.

    nuclei -u https://shop.example.com -jsonl -stats -sj 2>&1 | python -m realtime.adapters.nuclei

A result line (`-jsonl`) becomes a finding: `info.name` (else the template id), `info.severity`
(`unknown` counts as info), `matched-at` (else `host`), `info.classification`'s `cvss-score`,
CVE and CWE ids. A statistics line (`-stats -sj`, written to stderr: hence `2>&1`) becomes
progress. The end of the output completes the scan.
"""
from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any

from realtime import protocol
from realtime.adapters import Scan, main, to_number
from realtime.publisher import Item

SEVERITY = {s: s for s in protocol.SEVERITIES} | {"unknown": "info"}


def _ids(value: Any) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value or [] if v]


def finding(result: dict, scan: Scan) -> dict:
    info = result.get("info") if isinstance(result.get("info"), dict) else {}
    template = str(result.get("template-id") or "")
    severity = SEVERITY.get(str(info.get("severity", "")).lower())
    if severity is None:
        raise ValueError(f"unknown severity {protocol.preview(info.get('severity'), 40)}")
    where = result.get("matched-at") or result.get("host")
    classification = info.get("classification") if isinstance(info.get("classification"), dict) else {}
    references = _ids(classification.get("cve-id")) + _ids(classification.get("cwe-id"))
    description = "; ".join(filter(None, [str(info.get("description") or "").strip(), ", ".join(references)]))
    # One finding per template, place and matcher: nuclei reports each separately.
    key = "\x1f".join([scan.scan_id, template, str(where or ""), str(result.get("matcher-name") or "")])
    data = {
        "scan_id": scan.scan_id,
        "id": "nuclei-" + hashlib.sha1(key.encode()).hexdigest()[:20],
        "title": str(info.get("name") or template or "nuclei finding")[:500],
        "severity": severity,
        "url": str(where)[:2048] if where else None,
        "vulnerability_type": template[:100] or None,
        "description": description[:protocol.DESCRIPTION_LIMIT] or None,
    }
    score = classification.get("cvss-score")
    if score not in (None, ""):
        data["cvss_score"] = to_number(score, "info.classification.cvss-score")
    return {k: v for k, v in data.items() if v is not None}


def progress(stats: dict, scan: Scan, found: int) -> dict:
    percent = min(100.0, max(0.0, to_number(stats.get("percent"), "percent")))
    step = f"{stats.get('requests', '?')}/{stats.get('total', '?')} requests, {stats.get('rps', '?')} rps"
    return {"scan_id": scan.scan_id, "progress": percent, "phase": "vulnerability_testing",
            "current_step": step, "vulnerabilities_found": found}


def convert(lines: Iterable[str], scan: Scan) -> Iterator[Item]:
    started = time.time()
    took = None  # nuclei's own count from its last statistics line, when there is one
    found = 0
    announced = False
    number = 0
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text.startswith("{"):
            continue  # nuclei's banner and log lines on the same stream
        try:
            record = json.loads(text)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
            if "template-id" in record or "info" in record:
                event, data = "vulnerability_found", finding(record, scan)
            elif "percent" in record:
                event, data = "scan_progress", progress(record, scan, found)
                took = _seconds(record.get("duration")) or took
            else:
                raise ValueError("neither a nuclei result nor a statistics line")
        except ValueError as exc:
            yield number, None, str(exc)
            continue
        if not announced:
            announced = True
            target = scan.target or (record.get("host") if event == "vulnerability_found" else None)
            yield number, "scan_started", _started(scan, target)
        if event == "vulnerability_found":
            found += 1
        yield number, event, data
    if not announced:
        yield number, "scan_started", _started(scan, scan.target)
    yield number, "scan_completed", {"scan_id": scan.scan_id, "total_vulnerabilities": found,
                                     "duration": took if took is not None else round(time.time() - started, 3)}


def _seconds(duration: Any) -> float | None:
    """nuclei's `h:mm:ss` duration in seconds."""
    try:
        parts = [float(p) for p in str(duration).split(":")]
    except ValueError:
        return None
    return sum(p * 60 ** i for i, p in enumerate(reversed(parts))) if 0 < len(parts) <= 3 else None


def _started(scan: Scan, target: Any) -> dict:
    name = scan.scan_name or (f"nuclei {target}" if target else "nuclei")
    data = {"scan_id": scan.scan_id, "scan_name": str(name)[:200], "target": str(target)[:2048] if target else None}
    return {k: v for k, v in data.items() if v is not None}


if __name__ == "__main__":
    sys.exit(main("nuclei", convert, __doc__))

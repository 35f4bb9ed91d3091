"""SARIF 2.1.0 (the static-analysis results format of semgrep, trivy, CodeQL, gitleaks, checkov,
dockle, nuclei `-se` and many more) → one scan per run, its results as findings.

    semgrep scan --sarif -o results.sarif && python -m realtime.adapters.sarif results.sarif
    trivy image --format sarif alpine:3.10 | python -m realtime.adapters.sarif --scan-name "alpine"

Each run is a scan named after its tool (`tool.driver.name` and version); several runs get
scan ids `<scan-id>-1`, `<scan-id>-2` …. A result becomes a finding:

- title: its rule's `shortDescription` (else the rule's name, the message's first line, the rule id);
- severity: `security-severity` (result's, else rule's properties: a CVSS-like score, mapped
  ≥ 9 critical, ≥ 7 high, ≥ 4 medium, > 0 low, as GitHub does), else `level` (result's, else
  the rule's default): error → high, warning → medium, note → low, none → info;
- url: the first location's URI (a file, or a URL for web scanners), with `:<line>` when the
  region has one; the snippet is the evidence;
- description: the message; remediation: the rule's `help`; references: its `helpUri`; tags,
  CWE ids (`external/cwe/cwe-89`, `CWE-79`) from its tags; a `CVE-…` rule id is the CVE.

Results that are not failures (`kind` `pass` or `notApplicable`) or carry an accepted
suppression are no findings. One finding per distinct result. A run whose invocation says
`executionSuccessful: false` fails with the tool's own notification; otherwise it completes.
The scan's times are the invocation's `startTimeUtc` and `endTimeUtc` when it has both (the
duration is theirs); otherwise none of its events carries a time, so the receiver's clock times
the whole scan rather than a tool's start and a receiver's end.
"""
from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from realtime import fingerprint, protocol
from realtime.adapters import Scan, main, severity_of, timed, tool_time
from realtime.publisher import Item

LEVELS = {"error": "high", "warning": "medium", "note": "low", "none": "info"}
CWE = re.compile(r"cwe[-/:]?0*(\d+)", re.I)
NOT_FAILURES = ("pass", "notApplicable")


def _text(value: Any) -> str:
    """The text of a SARIF message or multiformat string (`{"text": …}`), else ''."""
    return str(value.get("text") or "") if isinstance(value, dict) else ""


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def rules_of(run: dict) -> tuple[dict[str, dict], list[dict]]:
    """The run's rules by id, and in order (results may point at one by index)."""
    tool = _dict(run.get("tool"))
    ordered = [r for r in _list(_dict(tool.get("driver")).get("rules")) if isinstance(r, dict)]
    for extension in _list(tool.get("extensions")):
        ordered += [r for r in _list(_dict(extension).get("rules")) if isinstance(r, dict)]
    return {str(r.get("id")): r for r in ordered if r.get("id") is not None}, ordered


def rule_of(result: dict, rules: tuple[dict[str, dict], list[dict]]) -> dict:
    by_id, ordered = rules
    rule_id = result.get("ruleId") or _dict(result.get("rule")).get("id")
    if rule_id is not None and str(rule_id) in by_id:
        return by_id[str(rule_id)]
    index = result.get("ruleIndex", _dict(result.get("rule")).get("index"))
    return ordered[index] if isinstance(index, int) and 0 <= index < len(ordered) else {}


def is_finding(result: dict) -> bool:
    if result.get("kind", "fail") in NOT_FAILURES:
        return False
    return not any(_dict(s).get("status", "accepted") == "accepted" for s in _list(result.get("suppressions")))


def severity(result: dict, rule: dict) -> tuple[str, float | None]:
    for props in (_dict(result.get("properties")), _dict(rule.get("properties"))):
        try:
            score = float(props["security-severity"])
        except (KeyError, TypeError, ValueError):
            continue
        if 0 <= score <= 10:
            return severity_of(score), score
    level = result.get("level") or _dict(rule.get("defaultConfiguration")).get("level") or "warning"
    return LEVELS.get(str(level), "medium"), None


def location(result: dict) -> tuple[str | None, dict]:
    """(url, details) from the first location: `path:line` for a file, the URL for a web result."""
    first = _dict(next(iter(_list(result.get("locations"))), {}))
    physical = _dict(first.get("physicalLocation"))
    uri = _dict(physical.get("artifactLocation")).get("uri")
    region = _dict(physical.get("region"))
    line = region.get("startLine")
    details = {"file": uri, "line": line, "snippet": _text(region.get("snippet")) or None}
    if not uri:
        logical = _dict(next(iter(_list(first.get("logicalLocations"))), {}))
        uri = logical.get("fullyQualifiedName") or logical.get("name")
    where = f"{uri}:{line}" if uri and isinstance(line, int) and "://" not in str(uri) else uri
    return (str(where)[:2048] if where else None), {k: v for k, v in details.items() if v is not None}


def finding(result: dict, rules: tuple[dict[str, dict], list[dict]], scan_id: str, tool: str) -> dict:
    rule = rule_of(result, rules)
    rule_id = str(result.get("ruleId") or rule.get("id") or "")
    message = _text(result.get("message"))
    title = (_text(rule.get("shortDescription")) or str(rule.get("name") or "") or message or rule_id
             or f"{tool} result").strip().splitlines()[0]
    level, score = severity(result, rule)
    url, where = location(result)
    tags = [str(t) for t in _list(_dict(rule.get("properties")).get("tags"))]
    key = json.dumps(result, sort_keys=True, default=str)  # a distinct result is a distinct finding
    data = {
        "scan_id": scan_id, "id": "sarif-" + hashlib.sha1(f"{scan_id}\x1f{key}".encode()).hexdigest()[:20],
        "fingerprint": fingerprint.of("sarif", rule_id, url),
        "title": title[:500], "severity": level, "cvss_score": score, "url": url,
        "vulnerability_type": rule_id[:100] or None, "description": message[:protocol.DESCRIPTION_LIMIT] or None,
        "remediation": (_text(rule.get("help")) or _text(rule.get("fullDescription")))[:protocol.DESCRIPTION_LIMIT]
        or None,
        "references": [str(rule["helpUri"])[:2048]] if rule.get("helpUri") else None,
        "tags": [t[:100] for t in tags[:50]] or None,
        "cwe": list(dict.fromkeys(f"CWE-{m}" for t in tags for m in CWE.findall(t)))[:50] or None,
        "cve": [rule_id[:32]] if rule_id.upper().startswith("CVE-") else None,
        "evidence": str(where.pop("snippet", ""))[:protocol.EVIDENCE_LIMIT] or None,
        "details": {k: str(v)[:4000] for k, v in ({"tool": tool, "rule": rule_id} | where).items() if v} or None,
    }
    return {k: v for k, v in data.items() if v is not None}


def tool_name(run: dict) -> str:
    driver = _dict(_dict(run.get("tool")).get("driver"))
    version = driver.get("semanticVersion") or driver.get("version")
    return " ".join(str(p) for p in (driver.get("name") or "SARIF tool", version) if p)[:150]


def times(invocation: dict) -> tuple[str | None, str | None, dict]:
    """The invocation's start and end as ISO 8601 and its duration, when it gives both in
    order; else (None, None, {})."""
    start, end = tool_time(invocation.get("startTimeUtc")), tool_time(invocation.get("endTimeUtc"))
    try:
        took = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() if start and end else -1
    except TypeError:  # one with a zone, one without: no order, no times
        took = -1
    return (start, end, {"duration": took}) if took >= 0 else (None, None, {})


def convert_run(run: dict, scan: Scan) -> Iterator[Item]:
    tool = tool_name(run)
    invocation = _dict(next(iter(_list(run.get("invocations"))), {}))
    began, ended, took = times(invocation)
    provenance = _dict(next(iter(_list(run.get("versionControlProvenance"))), {}))
    target = scan.target or provenance.get("repositoryUri")
    start = {"scan_id": scan.scan_id, "scan_name": (f"{scan.scan_name} ({tool})" if scan.scan_name else tool)[:200],
             "target": str(target)[:2048] if target else None, "timestamp": began}
    yield 1, "scan_started", {k: v for k, v in start.items() if v is not None}
    rules = rules_of(run)
    found: set[str] = set()
    for result in _list(run.get("results")):
        if not isinstance(result, dict):
            yield 1, None, f"{tool}: a result that is not a JSON object"
            continue
        if is_finding(result):
            data = finding(result, rules, scan.scan_id, tool)
            if data["id"] not in found:
                found.add(data["id"])
                yield 1, "vulnerability_found", data
    if invocation.get("executionSuccessful") is False:
        notes = [_text(_dict(n).get("message")) for n in _list(invocation.get("toolExecutionNotifications"))]
        why = "; ".join(filter(None, [invocation.get("exitCodeDescription"), *notes])) or "execution not successful"
        yield 1, "scan_failed", timed({"scan_id": scan.scan_id, "error": protocol.preview(f"{tool}: {why}", 2000)},
                                      ended)
    else:
        yield 1, "scan_completed", timed({"scan_id": scan.scan_id, "total_vulnerabilities": len(found)} | took, ended)


def convert(lines: Iterable[str], scan: Scan) -> Iterator[Item]:
    try:
        log = json.loads("".join(lines))
        if not isinstance(log, dict) or not isinstance(log.get("runs"), list):
            raise ValueError('no "runs" list: not a SARIF log')
    except ValueError as exc:
        yield 1, None, f"not SARIF: {exc}"
        yield 1, "scan_started", {"scan_id": scan.scan_id, "scan_name": scan.scan_name or "SARIF"}
        yield 1, "scan_failed", {"scan_id": scan.scan_id, "error": protocol.preview(f"not a SARIF file: {exc}", 2000)}
        return
    runs = [r for r in log["runs"] if isinstance(r, dict)] or [{}]  # no runs: a report of nothing
    for number, run in enumerate(runs, 1):
        scan_id = scan.scan_id if len(runs) == 1 else f"{scan.scan_id[:60]}-{number}"
        yield from convert_run(run, Scan(scan_id, scan.scan_name, scan.target))


if __name__ == "__main__":
    sys.exit(main("sarif", convert, __doc__))

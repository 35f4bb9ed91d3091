"""Which events make which alerts: rules matched against the stream, and what the worker
remembers of each scan (name and target for messages, last event for "stuck", counts for the
completed summary). No I/O here: the worker persists `dirty` scans with the cursor."""
from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any

from realtime import protocol
from realtime.alerts.rules import SEVERITY_RANK, Rule
from realtime.models import TRIAGED_AWAY

OWN_NOTIFICATION = "alerts-"  # id prefix of the worker's own notifications: never alerted on


@dataclass
class ScanInfo:
    scan_id: str
    name: str | None = None
    target: str | None = None
    status: str = "running"
    last_at: float = 0.0
    stuck: list[str] = field(default_factory=list)  # rules that reported it stuck, until it recovers
    counts: dict[str, int] = field(default_factory=dict)  # findings by severity

    @property
    def running(self) -> bool:
        return self.status in ("running", "queued")


@dataclass(frozen=True)
class Alert:
    """One thing worth telling. Every text field is untrusted (from the event)."""

    kind: str  # a rule kind, or scan_recovered
    key: str  # unique per happening: a delivery log entry per (key, route) at most
    scan_id: str | None = None
    scan_name: str | None = None
    target: str | None = None
    severity: str | None = None
    title: str = ""
    detail: str = ""
    counts: dict[str, int] | None = None
    at: float = 0.0
    cve: list[str] | None = None  # a finding's CVE ids
    cvss: float | None = None  # a finding's CVSS score

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def event_time(data: dict[str, Any], default: float) -> float:
    ts = data.get("timestamp")
    if isinstance(ts, datetime):
        return ts.timestamp()
    return default


def glob_any(patterns: tuple[str, ...], *values: str | None) -> bool:
    """No patterns: anything. Case-insensitive shell globs against any of the values."""
    if not patterns:
        return True
    texts = [v.lower() for v in values if v]
    return any(fnmatchcase(t, p.lower()) for p in patterns for t in texts)


class Engine:
    def __init__(self, rules: tuple[Rule, ...], max_scans: int = 10_000):
        self.by_kind: dict[str, list[Rule]] = {}
        for rule in rules:
            self.by_kind.setdefault(rule.on, []).append(rule)
        self.scans: OrderedDict[str, ScanInfo] = OrderedDict()
        self.max_scans = max_scans
        self.dirty: set[str] = set()
        self.forgotten: set[str] = set()
        self.epoch = ""  # the stream's: seqs are unique within it, so alert keys carry it

    def restore(self, scans: list[ScanInfo]) -> None:
        for info in scans:
            self.scans[info.scan_id] = info

    def learn(self, scans: list[dict[str, Any]]) -> None:
        """Scans as the gateway's state (GET /api/state) has them: a scan that started before
        the worker, or in a gap it resynced over, is named, targeted and placed like the
        dashboard's. Which of its running scans the state lacks is the caller's (`lose`)."""
        for data in scans:
            info = self._scan(data["scan_id"])
            info.name = data.get("name") or info.name
            info.target = data.get("target") or info.target
            status = data.get("status") or info.status
            if status != "lost" or not info.running:  # a lost scan is told by `lose`, once
                info.status = status
            updated = data.get("updated_at")
            info.last_at = max(info.last_at, float(updated) if isinstance(updated, int | float) else time.time())

    def handle(self, event: str, data: dict[str, Any], now: float | None = None) -> list[tuple[Rule, Alert]]:
        """Alerts for one event, as (rule, alert) pairs."""
        at = event_time(data, time.time() if now is None else now)
        scan_id = data.get("scan_id")
        if event == "notification":
            return self._notification(data, at)
        if event not in protocol.SERVER_EVENTS or not scan_id or event == "finding_triaged":  # a person's act
            return []
        info = self._scan(scan_id)
        out = self._recovered(info, at)
        info.last_at = max(info.last_at, at)
        if event == "scan_started":
            info.name = data.get("scan_name") or info.name
            info.target = data.get("target") or info.target
            info.status = data.get("status", "running")
        elif event == "vulnerability_found":
            info.counts[data["severity"]] = info.counts.get(data["severity"], 0) + 1
            out += self._finding(info, data, at)
        elif event in ("scan_completed", "scan_failed"):
            info.status = "completed" if event == "scan_completed" else "failed"
            info.name = data.get("scan_name") or info.name
            out += self._finished(info, event, data, at)
        if data.get("status") == "lost":  # a lost-contact status, once the protocol carries one
            out += self.lose([scan_id], "the gateway lost contact with the scan")
        return out

    def _scan(self, scan_id: str) -> ScanInfo:
        info = self.scans.get(scan_id)
        if info is None:
            if len(self.scans) >= self.max_scans:
                victim = next((s for s, i in self.scans.items() if not i.running), next(iter(self.scans)))
                del self.scans[victim]
                self.dirty.discard(victim)
                self.forgotten.add(victim)
            info = self.scans[scan_id] = ScanInfo(scan_id)
        self.dirty.add(scan_id)
        return info

    def _alert(self, kind: str, key: str, info: ScanInfo | None, at: float, **fields: Any) -> Alert:
        scan = {"scan_id": info.scan_id, "scan_name": info.name, "target": info.target} if info else {}
        return Alert(kind=kind, key=key, at=at, **scan, **fields)

    def _finding(self, info: ScanInfo, data: dict[str, Any], at: float) -> list[tuple[Rule, Alert]]:
        rank = SEVERITY_RANK[data["severity"]]
        tags = data.get("tags") if isinstance(data.get("tags"), list) else []
        tags = {str(t).lower() for t in tags} | ({data["vulnerability_type"].lower()}
                                                 if data.get("vulnerability_type") else set())
        triage = data.get("triage") if isinstance(data.get("triage"), dict) else {}
        away = triage.get("state") in TRIAGED_AWAY
        alert = None
        out = []
        for rule in self.by_kind.get("finding", ()):
            if rank < SEVERITY_RANK[rule.severity] or (rule.new_only and data.get("known") is True):
                continue
            if away and not rule.include_triaged:
                continue
            if not glob_any(rule.targets, info.target) or not glob_any(rule.scans, info.scan_id, info.name):
                continue
            if rule.tags and not tags & {t.lower() for t in rule.tags}:
                continue
            alert = alert or self._alert("finding", self._key(data), info, at, severity=data["severity"],
                                         title=data.get("title", ""), detail=data.get("url") or "",
                                         cve=data.get("cve"), cvss=data.get("cvss_score"))
            out.append((rule, alert))
        return out

    def _finished(self, info: ScanInfo, event: str, data: dict[str, Any], at: float) -> list[tuple[Rule, Alert]]:
        kind = "scan_completed" if event == "scan_completed" else "scan_failed"
        rules = [r for r in self.by_kind.get(kind, ()) if self._scan_matches(r, info)]
        if not rules:
            return []
        counts = dict(info.counts)
        if data.get("total_vulnerabilities") is not None:
            counts["total"] = data["total_vulnerabilities"]
        detail = data.get("error") or ""
        if data.get("duration") is not None:
            counts["duration"] = round(data["duration"])
        alert = self._alert(kind, self._key(data), info, at, detail=detail, counts=counts)
        return [(rule, alert) for rule in rules]

    def _notification(self, data: dict[str, Any], at: float) -> list[tuple[Rule, Alert]]:
        if str(data.get("id") or "").startswith(OWN_NOTIFICATION):
            return []
        info = self.scans.get(data.get("scan_id") or "")
        out = []
        for rule in self.by_kind.get("notification", ()):
            if rule.types and data.get("type") not in rule.types:
                continue
            if (rule.scans or rule.targets) and (info is None or not self._scan_matches(rule, info)):
                continue
            out.append((rule, self._alert("notification", self._key(data), info, at,
                                          severity=data.get("type"), title=data.get("title") or "",
                                          detail=data.get("message", ""))))
        return out

    def _key(self, data: dict[str, Any]) -> str:
        return f"seq:{self.epoch}:{data.get('seq')}"

    @staticmethod
    def _scan_matches(rule: Rule, info: ScanInfo) -> bool:
        return glob_any(rule.targets, info.target) and glob_any(rule.scans, info.scan_id, info.name)

    def _recovered(self, info: ScanInfo, at: float) -> list[tuple[Rule, Alert]]:
        out = []
        for name in info.stuck:
            rule = next((r for r in self.by_kind.get("scan_stuck", ()) if r.name == name), None)
            if rule is not None:
                silent = round(at - info.last_at)
                out.append((rule, self._alert("scan_recovered", f"recovered:{info.scan_id}:{info.last_at}",
                                              info, at, detail=f"{silent}")))
        if info.stuck:
            info.stuck = []
            self.dirty.add(info.scan_id)
        return out

    def stuck(self, now: float) -> list[tuple[Rule, Alert]]:
        """Running scans silent for longer than a scan_stuck rule allows (once each, until recovered)."""
        out = []
        for rule in self.by_kind.get("scan_stuck", ()):
            for info in self.scans.values():
                if (info.running and rule.name not in info.stuck and now - info.last_at >= rule.after
                        and self._scan_matches(rule, info)):
                    info.stuck.append(rule.name)
                    self.dirty.add(info.scan_id)
                    out.append((rule, self._alert("scan_stuck", f"stuck:{info.scan_id}:{info.last_at}", info, now,
                                                  detail=f"{round(now - info.last_at)}")))
        return out

    def lose(self, scan_ids: list[str], why: str) -> list[tuple[Rule, Alert]]:
        """Scans the worker had as running that the stream no longer knows: lost contact."""
        out = []
        for scan_id in scan_ids:
            info = self.scans.get(scan_id)
            if info is None or not info.running:
                continue
            info.status = "lost"
            self.dirty.add(scan_id)
            alert = self._alert("scan_lost", f"lost:{scan_id}:{info.last_at}", info, time.time(), detail=why)
            out += [(r, alert) for r in self.by_kind.get("scan_lost", ()) if self._scan_matches(r, info)]
        return out

    def running(self) -> list[str]:
        return [s for s, i in self.scans.items() if i.running]

    def take_dirty(self) -> tuple[list[ScanInfo], set[str]]:
        """Scans changed and scans forgotten since the last call (for the worker to persist)."""
        changed = [self.scans[s] for s in self.dirty if s in self.scans]
        forgotten, self.dirty, self.forgotten = self.forgotten, set(), set()
        return changed, forgotten

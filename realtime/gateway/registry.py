"""FindingRegistry: what the gateway knows of each finding across scans, and of each scan's findings.

Per fingerprint: when and in which scan it was first and last seen, the scan before that, how many
scans saw it, and its triage. Every `vulnerability_found` is stamped with that history before it
enters the stream (`stamp`), so every consumer agrees on what is new. Per scan: its normalised
target, when it completed and its findings (fingerprint → title, severity, url), from which a
completed scan is compared with the previous completed scan of its target (`scan_completed`
gains `diff`; `GET /api/scans/{id}/diff` lists them).

Bounded: at most BUGHUNT_REGISTRY_MAX_FINGERPRINTS fingerprints (the least recently seen go
first, their triage with them), BUGHUNT_REGISTRY_MAX_SCANS scans and BUGHUNT_REGISTRY_SCAN_FINDINGS
findings in all scans' sets (the oldest scans go first). A fingerprint's history is packed in one
int (realtime.gateway.seen), and scan sets share the registry's keys, so a million fingerprints
and full scan sets fit in well under 200 MB.

This is the one-gateway registry (kept in --state-db: `changes()` is written in the same
transaction as the events it stamped); realtime.gateway.shared_registry keeps the same in Redis.
"""
from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii as quoted
from typing import Any

from realtime import fingerprint
from realtime.gateway.seen import (
    MAX_FINGERPRINTS,
    Key,
    ScanNumbers,
    Seen,
    compact_key,
    encoded,
    fields,
    fingerprint_text,
    instant,
    instant_ms,
    ms,
    record,
)
from realtime.options import GatewayOptions

FP, TRIAGE, SCAN, MEMBER = "fp:", "tr:", "sc:", "in:"  # key prefixes in --state-db's meta table
Member = str  # a finding in a scan's set: JSON [title, severity, url], as kept in memory, --state-db and Redis


STAMPS = frozenset({"known", "first_seen_at", "first_seen_scan_id", "previous_scan_id", "times_seen", "triage",
                    "diff"})


def stamped(wire: dict, stamp: dict) -> dict:
    """`wire` with the gateway's stamp: what a producer sent in those fields is replaced, not kept."""
    return unstamped(wire) | stamp


def unstamped(wire: dict) -> dict:
    """`wire` without the stamp's fields a producer may have sent (`wire` itself when none: most)."""
    return wire if STAMPS.isdisjoint(wire) else {k: v for k, v in wire.items() if k not in STAMPS}


def history(fp: str, first_seen_at: str, first_scan: str, times: int, previous: str, triage: dict | None,
            known: bool, wire: dict | None = None) -> dict[str, Any]:
    """The fields a stamped finding gains (`previous`: the scan before this one, "" when none); with
    `wire`, the finding stamped: `stamped(wire, history(...))` built as one dict (a dict fewer, on
    every finding)."""
    stamp = {**(unstamped(wire) if wire else {}), "fingerprint": fp, "known": known, "first_seen_at": first_seen_at,
             "first_seen_scan_id": first_scan, "times_seen": times}
    if previous:
        stamp["previous_scan_id"] = previous
    if triage:
        stamp["triage"] = triage
    return stamp


def seen_history(fp: str, scan: str, seen: Seen, triage: dict | None) -> dict[str, Any]:
    """`history` of a finding seen in `scan`."""
    previous = seen.previous_scan if seen.last_scan == scan else seen.last_scan
    return history(fp, instant(seen.first_at), seen.first_scan, seen.times, previous, triage, seen.first_scan != scan)


def fingerprint_of(wire: dict, target: str | None) -> str:
    return wire.get("fingerprint") or fingerprint.derive(target, wire["title"], wire.get("url"))


def member_of(wire: dict) -> Member:
    """What a scan's set keeps of a finding (cut short: the finding itself is in the stream)."""
    url = wire.get("url")  # the JSON written out (json.dumps costs more, on every finding)
    return f'[{quoted(wire["title"][:200])},{quoted(wire["severity"])},{quoted(url[:500]) if url else "null"}]'


def triage_of(wire: dict) -> dict:
    return {k: wire[k] for k in ("state", "note", "by", "at") if wire.get(k) is not None}


def diff_lists(scan_id: str, target: str | None, previous: tuple[str, str | None] | None,
               current: dict[Key, Member], before: dict[Key, Member], triage: dict[str, dict]) -> dict:
    """`GET /api/scans/{id}/diff`'s answer from the two scans' sets."""
    def entry(key: Key, member: Member) -> dict:
        title, severity, url, fp = *json.loads(member), fingerprint_text(key)
        return {"fingerprint": fp, "title": title, "severity": severity, "url": url, "triage": triage.get(fp)}
    return {"scan_id": scan_id, "target": target,
            "previous_scan_id": previous[0] if previous else None,
            "previous_completed_at": previous[1] if previous else None,
            "new": [entry(fp, m) for fp, m in current.items() if fp not in before],
            "still_open": [entry(fp, m) for fp, m in current.items() if fp in before],
            "fixed": [entry(fp, m) for fp, m in before.items() if fp not in current]}


def counts(diff: dict) -> dict:
    """scan_completed's `diff` from the lists."""
    return {"previous_scan_id": diff["previous_scan_id"], "previous_completed_at": diff["previous_completed_at"],
            **{k: len(diff[k]) for k in ("new", "still_open", "fixed")}}


@dataclass
class ScanRecord:
    target: str | None = None  # normalised (fingerprint.same_target)
    raw_target: str | None = None
    completed_at: str | None = None
    previous: tuple[str, str | None] | None = None  # (scan id, completed at) it was compared with
    findings: dict[Key, Member] = field(default_factory=dict)

    def encode(self) -> str:
        return json.dumps([self.target, self.raw_target, self.completed_at, self.previous])


class FindingRegistry:
    def __init__(self, options: GatewayOptions, persist: bool = False):
        self.max_fingerprints = min(max(1, options.registry_max_fingerprints), MAX_FINGERPRINTS)
        self.max_scans, self.max_members = max(2, options.registry_max_scans), options.registry_scan_findings
        self.persist = persist  # track changes for --state-db
        self.scans: dict[str, ScanRecord] = {}  # oldest first
        self.triage: dict[str, dict] = {}
        self._seen: dict[Key, int] = {}  # compact_key → packed history (seen.record), least recently seen first
        self._scans = ScanNumbers()
        self._members = 0
        self._changes: dict[str, str] = {}
        self._dropped: set[str] = set()

    def __len__(self) -> int:
        return len(self._seen)

    # ---- fingerprints --------------------------------------------------------------------

    def seen(self, fp: str) -> Seen | None:
        packed = self._seen.get(compact_key(fp))
        if packed is None:
            return None
        first_ms, last_ms, times, first, last, previous = fields(packed)
        names = self._scans.names
        return Seen(first_ms / 1000, last_ms / 1000, times, names[first], names[last], names[previous])

    def put(self, fp: str, seen: Seen) -> None:
        number, key = self._scans.number, compact_key(fp)
        self._seen.pop(key, None)
        self._keep(key, fp, record(ms(seen.first_at), ms(seen.last_at), seen.times, number(seen.first_scan),
                                   number(seen.last_scan), number(seen.previous_scan)))

    def _keep(self, key: Key, fp: str, packed: int, text: str | None = None) -> None:
        """Keep a record (its key not in `_seen`: inserted last, the dict's order is least recently
        seen first); `text`: its encoded() text for --state-db when known."""
        self._seen[key] = packed
        if self.persist:
            if text is None:
                first_ms, last_ms, times, first, last, previous = fields(packed)
                names = self._scans.names
                text = encoded(first_ms, last_ms, times, names[first], names[last], names[previous])
            self._change(FP + fp, text)
        if len(self._seen) > self.max_fingerprints:
            self._evict(max(1, self.max_fingerprints // 100))
        if len(self._scans.names) > 3 * len(self._seen) + 1000:  # (len(self._scans): a call more)
            self._renumber()

    def _evict(self, count: int) -> None:
        for key in list(itertools.islice(self._seen, count)):
            del self._seen[key]
            fp = fingerprint_text(key)
            self.triage.pop(fp, None)
            self._drop(FP + fp, TRIAGE + fp)

    def _renumber(self) -> None:
        """Forget the numbers of scans no record names any more (rare: many scans came and went)."""
        names, self._scans = self._scans.names, ScanNumbers()
        number = self._scans.number
        for key, packed in self._seen.items():  # values replaced in place: the order stays
            first_ms, last_ms, times, first, last, previous = fields(packed)
            self._seen[key] = record(first_ms, last_ms, times, number(names[first]), number(names[last]),
                                     number(names[previous]))

    # ---- stamping ------------------------------------------------------------------------

    def stamp(self, event: str, wire: dict, now: float | None = None) -> dict:
        """`wire` as it enters the stream: a finding with its identity and history, a completed
        scan with its diff; a scan's target and a triage are remembered."""
        if event == "vulnerability_found":
            return self.stamp_finding(wire, time.time() if now is None else now)
        if event == "scan_started":
            self.scan(wire["scan_id"], wire.get("target"))
        elif event == "scan_completed":
            return self.complete(wire)
        elif event == "finding_triaged":
            self.triage[wire["fingerprint"]] = triage_of(wire)
            self._change(TRIAGE + wire["fingerprint"], json.dumps(self.triage[wire["fingerprint"]]))
        return wire

    def stamp_finding(self, wire: dict, now: float) -> dict:
        scan_id = wire["scan_id"]
        scan = self.scans.get(scan_id) or self.scan(scan_id)
        fp = wire.get("fingerprint")
        if fp:
            key = compact_key(fp)
        else:  # derived: ours, keyed by its number straight from the digest
            digest = fingerprint.derived(scan.raw_target, wire["title"], wire.get("url"))
            fp, key = fingerprint.PREFIX + digest.hex(), int.from_bytes(digest, "big")
        numbers, at = self._scans, ms(now)
        number = numbers.number(scan_id)
        packed = self._seen.pop(key, None)
        if packed is None:
            first_ms, times, first, previous = at, 1, number, 0
        else:
            first_ms, _, times, first, last, previous = fields(packed)
            if last != number:  # seen in another scan: one more, and that one is the previous
                times, previous = times + 1, last
        first_scan, previous_scan = numbers.names[first], numbers.names[previous]  # _keep may renumber
        self._keep(key, fp, record(first_ms, at, times, first, number, previous),
                   encoded(first_ms, at, times, first_scan, scan_id, previous_scan) if self.persist else None)
        if key not in scan.findings:
            self._add(scan, scan_id, key, fp, member_of(wire))
        return history(fp, instant_ms(first_ms), first_scan, times, previous_scan, self.triage.get(fp), first != number,
                       wire)

    # ---- scans ---------------------------------------------------------------------------

    def scan(self, scan_id: str, target: str | None = None) -> ScanRecord:
        record = self.scans.get(scan_id)
        if record is None:
            record = self.scans[scan_id] = ScanRecord()
            while len(self.scans) > self.max_scans:
                self._forget(next(iter(self.scans)))
        if target is not None and record.raw_target is None:
            record.target, record.raw_target = fingerprint.same_target(target), target
            self._change(SCAN + scan_id, record.encode())
        return record

    def add_member(self, scan_id: str, key: Key, fp: str, member: Member) -> None:
        """Add a finding to its scan's set (keyed as `_seen` keys it, by the same object: no copy)."""
        record = self.scan(scan_id)
        if key not in record.findings:
            self._add(record, scan_id, key, fp, member)

    def _add(self, record: ScanRecord, scan_id: str, key: Key, fp: str, member: Member) -> None:
        while self._members >= self.max_members and next(iter(self.scans)) != scan_id:
            self._forget(next(iter(self.scans)))
        if self._members < self.max_members:
            record.findings[key] = member
            self._members += 1
            if self.persist:
                self._change(f"{MEMBER}{scan_id}\x1f{fp}", member)

    def _forget(self, scan_id: str) -> None:
        record = self.scans.pop(scan_id)
        self._members -= len(record.findings)
        self._drop(SCAN + scan_id, *(f"{MEMBER}{scan_id}\x1f{fingerprint_text(key)}" for key in record.findings))

    def previous(self, scan_id: str, record: ScanRecord) -> tuple[str, str | None] | None:
        """The latest other completed scan of the same target: (id, completed at); a completed
        scan keeps the one it was compared with when it completed."""
        if record.completed_at is not None or record.target is None:
            return record.previous
        done = [(r.completed_at, s) for s, r in self.scans.items()
                if s != scan_id and r.target == record.target and r.completed_at]
        return (max(done)[1], max(done)[0]) if done else None

    def complete(self, wire: dict) -> dict:
        scan_id = wire["scan_id"]
        record = self.scan(scan_id)
        if record.completed_at is None:
            record.previous = self.previous(scan_id, record)
            record.completed_at = wire.get("timestamp")
            self._change(SCAN + scan_id, record.encode())
        return stamped(wire, {"diff": counts(self.diff(scan_id))} if record.previous else {})

    def diff(self, scan_id: str) -> dict | None:
        """The scan compared with the previous completed scan of its target (None: unknown scan)."""
        record = self.scans.get(scan_id)
        if record is None:
            return None
        previous = self.previous(scan_id, record)
        before = self.scans[previous[0]].findings if previous and previous[0] in self.scans else {}
        return diff_lists(scan_id, record.raw_target, previous, record.findings, before, self.triage)

    def lookup(self, fp: str) -> tuple[str, list | None] | None:
        """The scan a fingerprint was last seen in and [title, severity, url] there (None: unknown)."""
        seen = self.seen(fp)
        if seen is None:
            return None
        last = self.scans.get(seen.last_scan)
        member = last.findings.get(compact_key(fp)) if last else None
        return seen.last_scan, json.loads(member) if member else None

    # ---- --state-db ----------------------------------------------------------------------

    def _change(self, key: str, value: str) -> None:
        if self.persist:
            self._changes[key] = value
            self._dropped.discard(key)

    def _drop(self, *keys: str) -> None:
        if self.persist:
            for key in keys:
                self._changes.pop(key, None)
                self._dropped.add(key)

    def changes(self) -> tuple[dict[str, str], list[str]]:
        """Meta rows to write and to delete since the last call."""
        changes, dropped = self._changes, sorted(self._dropped)
        self._changes, self._dropped = {}, set()
        return changes, dropped

    def load(self, items: dict[str, list[tuple[str, str]]]) -> None:
        """Come back from --state-db's meta rows, by prefix (FP, TRIAGE, SCAN, MEMBER)."""
        persist, self.persist = self.persist, False
        try:
            for key, value in sorted(items.get(SCAN, ()), key=lambda kv: json.loads(kv[1])[2] or "~"):
                target, raw, completed_at, previous = json.loads(value)
                self.scans[key[len(SCAN):]] = ScanRecord(target, raw, completed_at,
                                                          tuple(previous) if previous else None)
            for key, value in items.get(MEMBER, ()):
                scan_id, _, fp = key[len(MEMBER):].partition("\x1f")
                self.add_member(scan_id, compact_key(fp), fp, value)
            records = sorted(((Seen.decode(v), k[len(FP):]) for k, v in items.get(FP, ())),
                             key=lambda r: r[0].last_at)
            for seen, fp in records:
                self.put(fp, seen)
            self.triage.update((k[len(TRIAGE):], json.loads(v)) for k, v in items.get(TRIAGE, ())
                               if compact_key(k[len(TRIAGE):]) in self._seen)
        finally:
            self.persist = persist

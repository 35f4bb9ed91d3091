"""The findings log: appended at the end, evicted from the front, kept in immutable blocks so
that every snapshot shares them (taking one costs O(blocks), not O(findings))."""
from __future__ import annotations

import itertools
from collections import Counter, OrderedDict, deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ValidationError

from realtime import protocol
from realtime.models import ScanDiff, Triage, Vulnerability

BLOCK = 1024  # findings per immutable block of the log
HISTOGRAM_SECONDS = 10  # width of a findings-over-time bucket kept by the store


class Findings(Sequence):
    """The findings of one snapshot, newest first. Made of the log's immutable blocks (shared
    with every other snapshot), so taking one costs O(blocks), not O(findings)."""

    __slots__ = ("_blocks", "_head", "_tail", "_len", "last_seen")

    def __init__(self, blocks: tuple[tuple[Vulnerability, ...], ...] = (), head: int = 0,
                 tail: tuple[Vulnerability, ...] = (), last_seen: Mapping[str, float] = MappingProxyType({})):
        self._blocks, self._head, self._tail = blocks, head, tail  # oldest first; head: evicted of block 0
        self.last_seen = last_seen  # finding id → when it was last received again (re-sent ones only)
        self._len = sum(map(len, blocks)) - head + len(tail)

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[Vulnerability]:
        yield from reversed(self._tail)
        for i in range(len(self._blocks) - 1, -1, -1):
            block = self._blocks[i]
            yield from reversed(block[self._head:] if i == 0 and self._head else block)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            start, stop, step = index.indices(self._len)
            if step == 1:
                return tuple(itertools.islice(self, start, max(start, stop)))
            return tuple(self)[index]
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError("findings index out of range")
        position = self._len - 1 - index + self._head  # from the oldest, counting evicted ones
        full = len(self._blocks) * BLOCK
        return self._blocks[position // BLOCK][position % BLOCK] if position < full else self._tail[position - full]

    def __repr__(self) -> str:
        return f"Findings({len(self)} findings)"


def triage_of(given: protocol.Triage | None) -> Triage | None:
    """The store's record of a triage (a finding's, or a finding_triaged event's)."""
    if given is None:
        return None
    return Triage(given.state, given.note, given.by, None if given.at is None else protocol.epoch_seconds(given.at))


def diff_of(given: protocol.ScanDiff | None) -> ScanDiff | None:
    if given is None:
        return None
    when = given.previous_completed_at
    return ScanDiff(given.previous_scan_id, None if when is None else protocol.epoch_seconds(when),
                    given.new, given.still_open, given.fixed)


def finding_of(ev: protocol.VulnerabilityFound, at: float) -> Vulnerability:
    first = None if ev.first_seen_at is None else protocol.epoch_seconds(ev.first_seen_at)
    return Vulnerability(ev.finding_id(), ev.scan_id, ev.title, ev.severity, ev.cvss_score, ev.url,
                         ev.vulnerability_type, ev.description, ev.found(at), ev.extras(), ev.fingerprint,
                         ev.known, first, ev.previous_scan_id, triage_of(ev.triage))


def from_row(model: type[BaseModel], convert: Any, value: Any) -> Any:
    """`value` (JSON from a gateway's state) as `model` made into the store's record; None when it
    is not one."""
    try:
        return None if value is None else convert(model.model_validate(value))
    except ValidationError:
        return None


def checked_row(v: Vulnerability) -> Vulnerability:
    """A finding from a gateway's state with its what's-new fields checked (wrong ones dropped)."""
    fingerprint = v.fingerprint if isinstance(v.fingerprint, str) and len(v.fingerprint) <= 128 else None
    return replace(v, fingerprint=fingerprint, known=v.known if isinstance(v.known, bool) else None,
                   first_seen_at=v.first_seen_at if protocol.sane_time(v.first_seen_at) else None,
                   previous_scan_id=v.previous_scan_id if isinstance(v.previous_scan_id, str)
                   and protocol.ID_RE.match(v.previous_scan_id) else None,
                   triage=from_row(protocol.Triage, triage_of, v.triage))


def newer(triage: Triage | None, than: Triage | None) -> bool:
    """Whether `triage` supersedes `than` (undated ones: the later arrival wins)."""
    return triage is not None and (than is None or triage.at is None or than.at is None or triage.at >= than.at)


class FindingLog:
    """The store's findings: appended at the end, evicted from the front (at most
    `max_findings`), with counts by severity and by time kept up to date as they come and go
    (derived data costs nothing), and the newest triage of each fingerprint (as many as
    findings) applied to its findings, held and later ones."""

    def __init__(self, max_findings: int = 100_000) -> None:
        self.max_findings = max_findings
        self.ids: set[str] = set()
        self.last_seen: dict[str, float] = {}  # see Findings.last_seen
        self._last_seen_view: Mapping[str, float] | None = MappingProxyType({})
        self.severity: Counter[str] = Counter()
        self.histogram: Counter[int] = Counter()  # bucket start (epoch s) → findings found in it
        self.seen = 0  # findings ever added, evicted ones included
        self.critical_seen = 0
        self.critical_away = 0  # critical findings triaged away (counted while held)
        self.away = 0  # findings held that are triaged away
        self.fingerprints: Counter[str] = Counter()  # held findings per fingerprint
        self.triage: OrderedDict[str, Triage] = OrderedDict()  # fingerprint → newest triage
        self._blocks: deque[tuple[Vulnerability, ...]] = deque()
        self._open: list[Vulnerability] = []
        self._head = 0

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, finding: Vulnerability) -> bool:
        """Add a finding (False: one with its id is held already), with its fingerprint's newest
        triage; the oldest goes when the log is full."""
        if self.seen_again(finding.id, finding.found_at):
            return False
        if len(self) >= self.max_findings:
            self.evict_oldest()
        fp = finding.fingerprint
        if fp is not None:
            if newer(finding.triage, self.triage.get(fp)):
                self._remember(fp, finding.triage)
            elif fp in self.triage:
                finding = replace(finding, triage=self.triage[fp])
            self.fingerprints[fp] += 1
        self.seen += 1
        self.critical_seen += finding.severity == "critical"
        self.ids.add(finding.id)
        self._count(finding, 1)
        self._open.append(finding)
        if len(self._open) == BLOCK:
            self._blocks.append(tuple(self._open))
            self._open = []
        return True

    def retriage(self, fingerprint: str, triage: Triage) -> bool:
        """Apply a triage to every held finding of `fingerprint`, and to later ones; False when
        an older one than the triage held (nothing changed)."""
        if not newer(triage, self.triage.get(fingerprint)):
            return False
        self._remember(fingerprint, triage)
        if self.fingerprints[fingerprint]:  # rare (a person's action): rebuild the blocks holding it
            self._blocks = deque(self._retriaged(block, fingerprint, triage, self._head if i == 0 else 0)
                                 for i, block in enumerate(self._blocks))
            self._open = list(self._retriaged(self._open, fingerprint, triage, 0))
        return True

    def _retriaged(self, block: Sequence[Vulnerability], fingerprint: str, triage: Triage, evicted: int) -> Any:
        if not any(v.fingerprint == fingerprint for v in block):
            return block  # shared with the snapshots as it is
        out = []
        for i, v in enumerate(block):
            if v.fingerprint == fingerprint:
                if i >= evicted:
                    self.away += triage.away - v.triaged_away
                    self.critical_away += (triage.away - v.triaged_away) * (v.severity == "critical")
                v = replace(v, triage=triage)
            out.append(v)
        return tuple(out)

    def _remember(self, fingerprint: str, triage: Triage) -> None:
        self.triage[fingerprint] = triage
        self.triage.move_to_end(fingerprint)
        while len(self.triage) > self.max_findings:
            self.triage.popitem(last=False)

    def seen_again(self, fid: str, at: float) -> bool:
        """Whether `fid` is held; if so it was received again (a re-sent finding is the same
        finding) and `at` becomes its last sighting."""
        if fid not in self.ids:
            return False
        self.last_seen[fid] = max(at, self.last_seen.get(fid, at))
        self._last_seen_view = None  # copied again for the next view only when changed
        return True

    def evict_oldest(self) -> None:
        if self._blocks:
            block = self._blocks[0]
            finding = block[self._head]
            self._head += 1
            if self._head == len(block):
                self._blocks.popleft()
                self._head = 0
        else:
            finding = self._open.pop(0)  # under one block: cheap
        self.ids.discard(finding.id)
        if self.last_seen.pop(finding.id, None) is not None:
            self._last_seen_view = None
        self._count(finding, -1)
        if finding.fingerprint is not None:
            self.fingerprints[finding.fingerprint] -= 1
            if not self.fingerprints[finding.fingerprint]:
                del self.fingerprints[finding.fingerprint]

    def _count(self, finding: Vulnerability, delta: int) -> None:
        self.severity[finding.severity] += delta
        bucket = int(finding.found_at // HISTOGRAM_SECONDS) * HISTOGRAM_SECONDS
        self.histogram[bucket] += delta
        if not self.histogram[bucket]:
            del self.histogram[bucket]
        if finding.triaged_away:
            self.away += delta
            self.critical_away += delta > 0 and finding.severity == "critical"

    def view(self) -> Findings:
        if self._last_seen_view is None:
            self._last_seen_view = MappingProxyType(dict(self.last_seen))
        return Findings(tuple(self._blocks), self._head, tuple(self._open), self._last_seen_view)

"""The findings log: appended at the end, evicted from the front, kept in immutable blocks so
that every snapshot shares them (taking one costs O(blocks), not O(findings))."""
from __future__ import annotations

import itertools
from collections import Counter, deque
from collections.abc import Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from realtime.models import Vulnerability

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


class FindingLog:
    """The store's findings: appended at the end, evicted from the front, with counts by
    severity and by time kept up to date as they come and go (derived data costs nothing)."""

    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.last_seen: dict[str, float] = {}  # see Findings.last_seen
        self._last_seen_view: Mapping[str, float] | None = MappingProxyType({})
        self.severity: Counter[str] = Counter()
        self.histogram: Counter[int] = Counter()  # bucket start (epoch s) → findings found in it
        self._blocks: deque[tuple[Vulnerability, ...]] = deque()
        self._open: list[Vulnerability] = []
        self._head = 0

    def __len__(self) -> int:
        return len(self.ids)

    def append(self, finding: Vulnerability) -> None:
        self.ids.add(finding.id)
        self._count(finding, 1)
        self._open.append(finding)
        if len(self._open) == BLOCK:
            self._blocks.append(tuple(self._open))
            self._open = []

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

    def _count(self, finding: Vulnerability, delta: int) -> None:
        self.severity[finding.severity] += delta
        bucket = int(finding.found_at // HISTOGRAM_SECONDS) * HISTOGRAM_SECONDS
        self.histogram[bucket] += delta
        if not self.histogram[bucket]:
            del self.histogram[bucket]

    def view(self) -> Findings:
        if self._last_seen_view is None:
            self._last_seen_view = MappingProxyType(dict(self.last_seen))
        return Findings(tuple(self._blocks), self._head, tuple(self._open), self._last_seen_view)

"""A fingerprint's history (`Seen`), and how the one-gateway registry keeps a million of them small.

In memory a fingerprint is keyed by its number when it is one of ours (`fp-` and 32 hex digits:
a 48-byte int instead of an 84-byte string) and its history is one int (48 bytes; a struct in
bytes would be 72): from the low bits first and last seen (milliseconds since 1970, 44 bits
each), the numbers of its first, last and previous scan (ScanNumbers, 28 bits each), then how
many scans saw it. `Seen` is the same history as Python values (in --state-db as text:
`first_at|last_at|times|first scan|last scan|previous scan`).
"""
from __future__ import annotations

import functools
import re
from datetime import UTC, datetime
from typing import NamedTuple

from realtime import fingerprint

MS_BITS, SCAN_BITS = 44, 28  # milliseconds up to the year 2527; 268 million scan numbers
MS_MASK, SCAN_MASK = (1 << MS_BITS) - 1, (1 << SCAN_BITS) - 1
LAST_AT, FIRST, LAST, PREVIOUS = MS_BITS, 2 * MS_BITS, 2 * MS_BITS + SCAN_BITS, 2 * MS_BITS + 2 * SCAN_BITS
TIMES = PREVIOUS + SCAN_BITS
# ScanNumbers only names scans that records name (≤ 3 each, plus what came since): this many
# fingerprints keep scan numbers within their bits.
MAX_FINGERPRINTS = SCAN_MASK // 3 - 1_000_000


class Seen(NamedTuple):
    """A fingerprint's history."""

    first_at: float
    last_at: float
    times: int
    first_scan: str
    last_scan: str
    previous_scan: str  # "" when none

    @classmethod
    def decode(cls, text: str) -> Seen:
        first_at, last_at, times, first, last, previous = text.split("|")
        return cls(float(first_at), float(last_at), int(times), first, last, previous)


def ms(at: float) -> int:
    """A time as whole milliseconds, within a record's bits."""
    at_ms = round(at * 1000)
    return at_ms if 0 <= at_ms <= MS_MASK else min(max(at_ms, 0), MS_MASK)


def encoded(first_ms: int, last_ms: int, times: int, first: str, last: str, previous: str) -> str:
    """A history as --state-db keeps it (what Seen.decode reads; seconds written without a float)."""
    return f"{seconds(first_ms)}|{seconds(last_ms)}|{times}|{first}|{last}|{previous}"


# Findings stamped together (a batch, or a rescan of findings first seen together) share their
# milliseconds: their texts are looked up rather than formatted again, on every finding.
@functools.lru_cache(maxsize=4096)
def seconds(at_ms: int) -> str:
    """Milliseconds as --state-db writes seconds (`1800000000.123`)."""
    return f"{at_ms // 1000}.{at_ms % 1000:03d}"


def record(first_ms: int, last_ms: int, times: int, first: int, last: int, previous: int) -> int:
    """A history packed into one int (scan numbers from ScanNumbers)."""
    return times << TIMES | previous << PREVIOUS | last << LAST | first << FIRST | last_ms << LAST_AT | first_ms


def fields(packed: int) -> tuple[int, int, int, int, int, int]:
    """`record`'s arguments back."""
    return (packed & MS_MASK, packed >> LAST_AT & MS_MASK, packed >> TIMES, packed >> FIRST & SCAN_MASK,
            packed >> LAST & SCAN_MASK, packed >> PREVIOUS & SCAN_MASK)


class ScanNumbers:
    """Scan ids as small numbers (0: none), so a fingerprint's record packs into a few bytes."""

    def __init__(self):
        self.names, self.numbers = [""], {"": 0}

    def __len__(self) -> int:
        return len(self.names)

    def number(self, name: str) -> int:
        if (number := self.numbers.get(name)) is None:
            number = self.numbers[name] = len(self.names)
            self.names.append(name)
        return number


Key = str | int  # a fingerprint as the registry keys it
OUR_FINGERPRINT = re.compile(r"fp-[0-9a-f]{32}")


def compact_key(fp: str) -> str | int:
    """A fingerprint as the registry keys it: our own `fp-<32 hex>` as the number (half the memory)."""
    return int(fp[3:], 16) if len(fp) == 35 and OUR_FINGERPRINT.fullmatch(fp) else fp


def fingerprint_text(key: str | int) -> str:
    return f"{fingerprint.PREFIX}{key:032x}" if isinstance(key, int) else key


@functools.lru_cache(maxsize=4096)
def _second(second: int) -> str:
    return datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")


@functools.lru_cache(maxsize=4096)  # as seconds()
def instant_ms(at_ms: int) -> str:
    """ISO 8601 with milliseconds, as `datetime.isoformat` gives it (cheaply: the date once per second)."""
    second, milli = divmod(at_ms, 1000)
    return f"{_second(second)}.{milli:03d}+00:00"


def instant(at: float) -> str:
    return instant_ms(ms(at))

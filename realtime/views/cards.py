"""The Dashboard's stat cards: each number as the pages count it, its change, and where it
comes from when the gateway's count and the dashboard's differ."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from realtime.models import Snapshot
from realtime.views.figures import metric_delta
from realtime.views.scans import active_scans

WINDOW = 300  # seconds a card's change covers
# What the pages list for each card (Scans, Dashboard's active scans, Vulnerabilities).
HELD: dict[str, Callable[[Snapshot], int]] = {
    "total_scans": lambda snap: len(snap.scans),
    "active_scans": lambda snap: len(active_scans(snap)),
    "total_vulnerabilities": lambda snap: len(snap.vulnerabilities),
    "critical_count": lambda snap: snap.severity_counts.get("critical", 0),
}
# Counts that only grow: a fall means a gateway restarted or old items were dropped, never that
# anything was fixed, so it is explained instead of shown as a red drop.
GROWING = ("total_scans", "total_vulnerabilities", "critical_count")
PAGES = {"total_scans": "the Scans page", "active_scans": "Active Scans below",
         "total_vulnerabilities": "the Vulnerabilities page", "critical_count": "the Vulnerabilities page"}


@dataclass(frozen=True)
class Card:
    label: str
    value: int
    delta: int | None  # None: no change to show
    help: str


def stat_card(snap: Snapshot, label: str, key: str) -> Card:
    held = HELD[key](snap)
    # Scans are counted from the scans listed; findings from the larger of the gateway's count and
    # the dashboard's own (store.FINDING_COUNTS), which is at least what the pages list.
    value = snap.metrics.get(key, held) if key in ("total_vulnerabilities", "critical_count") else held
    notes = [f"Change over the last {WINDOW // 60} minutes."]
    server = snap.server_metrics.get(key)
    if server is not None and server != value:
        notes.append(f"The gateway reports {server:,} (a gateway restarted without its state counts afresh).")
    triaged = key == "critical_count" and snap.triaged_away  # triages lower it: a fall is real
    if triaged:
        notes.append("Findings triaged away (false positive, accepted risk, fixed) are not counted.")
    elif held != value:
        notes.append(f"This dashboard holds {held:,} of them, the ones {PAGES[key]} lists (the oldest are "
                     "dropped beyond BUGHUNT_MAX_FINDINGS).")
    delta = metric_delta(snap, key, WINDOW)
    if key in GROWING and not triaged and delta is not None and delta < 0:
        notes.append(f"It fell by {-delta:,} in that time: a count that only grows fell because a gateway "
                     "restarted or old items were dropped — nothing was fixed.")
        delta = None
    return Card(label, value, delta, " ".join(notes))

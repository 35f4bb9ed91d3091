"""Who may start scans through `start_scan`, how many at once, and against which targets.

Starting a scan is a right of its own: admins have it, a token minted with `--start-scans`
has it, and viewers only when BUGHUNT_VIEWERS_START_SCANS says so. Scans started this way count
against a cap per user and a cap for everyone until they finish (the gateway's own store says
when), and their target must match BUGHUNT_SCAN_TARGETS (shell patterns) — in demo mode, whose
scans are simulated, any target does when no pattern is set.
"""
from __future__ import annotations

import fnmatch

from realtime.auth import Identity
from realtime.options import GatewayOptions
from realtime.store import EventStore


class ScanStarts:
    def __init__(self, options: GatewayOptions, store: EventStore, demo: bool):
        self.options, self.store = options, store
        self.patterns = [p.strip() for p in options.scan_targets.split(",") if p.strip()]
        self.any_target = demo and not self.patterns
        self._started: dict[str, str] = {}  # scan id -> user, while it runs

    def unentitled(self, identity: Identity) -> str | None:
        """Why `identity` may never start scans here, or None."""
        if identity.scoped:
            return "a read-only scan link cannot start scans"
        if not (identity.can_start_scans or (identity.role == "viewer" and self.options.viewers_start_scans)):
            return "this token may not start scans (ask for one minted with --start-scans)"
        return None

    def refusal(self, identity: Identity, target: str) -> str | None:
        """Why `identity` may not start a scan of `target` now, or None."""
        if not self.any_target and not any(fnmatch.fnmatchcase(target, p) for p in self.patterns):
            return "target not allowed here (BUGHUNT_SCAN_TARGETS)"
        running = self.running()
        if len(running) >= self.options.scans_total:
            return f"{self.options.scans_total} started scans are running; try when one finishes"
        mine = sum(1 for user in running.values() if user == self.user(identity))
        if mine >= self.options.scans_per_user:
            return f"you have {mine} scans running (the limit per user); try when one finishes"
        return None

    def started(self, identity: Identity, scan_id: str) -> None:
        self._started[scan_id] = self.user(identity)

    def running(self) -> dict[str, str]:
        """The scans started here that have not finished (forgotten as they finish)."""
        scans = self.store.snapshot().scans
        for scan_id in [s for s in self._started if s in scans and scans[s].finished]:
            del self._started[scan_id]
        return self._started

    @staticmethod
    def user(identity: Identity) -> str:
        return identity.sub or "open"

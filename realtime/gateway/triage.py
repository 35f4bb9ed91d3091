"""Shared triage: who may judge a finding, and the `finding_triaged` event that records it.

Admins always may; viewers when BUGHUNT_VIEWERS_TRIAGE is on (the default); read-only scan links
and producers never. A triage is recorded by the stream like any event (`finding_triaged`, stamped
into the finding registry in the same step, so --state-db or Redis keeps it), and every later
`vulnerability_found` of that fingerprint carries it.
"""
from __future__ import annotations

from datetime import UTC, datetime

from realtime import protocol
from realtime.auth import Identity
from realtime.gateway.stream import Stream, StreamUnavailable
from realtime.options import GatewayOptions


class TriageRefused(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


class Triages:
    def __init__(self, options: GatewayOptions, stream: Stream):
        self.options, self.stream = options, stream

    def refusal(self, identity: Identity) -> str | None:
        """Why `identity` may not triage findings, or None."""
        if identity.scoped:
            return "a read-only scan link cannot triage findings"
        if identity.role == "admin" or (identity.role == "viewer" and self.options.viewers_triage):
            return None
        return "this token may not triage findings (BUGHUNT_VIEWERS_TRIAGE)"

    async def mark(self, identity: Identity, request: protocol.TriageFinding) -> dict:
        """Record the triage and broadcast it; returns it. Raises TriageRefused (403, 404, 503)."""
        if why := self.refusal(identity):
            raise TriageRefused(403, why)
        try:
            found = await self.stream.finding(request.fingerprint)
            if found is None:
                raise TriageRefused(404, "unknown finding")
            scan_id, member = found
            triage = {"state": request.state, "note": request.note, "by": identity.sub or "open mode",
                      "at": datetime.now(UTC).isoformat(timespec="milliseconds")}
            event = {"fingerprint": request.fingerprint, "scan_id": scan_id, **triage,
                     **({"title": member[0], "severity": member[1]} if member else {})}
            await (await self.stream.submit("finding_triaged", protocol.wire("finding_triaged", event)))
        except StreamUnavailable as exc:
            raise TriageRefused(503, f"not recorded, retry: {exc}") from None
        return {k: v for k, v in triage.items() if v is not None}

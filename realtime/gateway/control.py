"""Scan control where it is honest: abandoning a stuck or lost scan, cancelling a launched one.

Nobody can stop a scanner that publishes over HTTP from here, so the gateway offers two things
only. *Abandon* records that the team gave up on a scan that went silent (running, no event for
BUGHUNT_ABANDON_AFTER_SECONDS) or that the gateway's stream no longer knows (lost contact): the
scan ends with status `abandoned`, its outcome unknown. *Cancel* asks the scan launcher to stop a
scan it started through `start_scan` (`launcher.cancel(scan_id)`); once it has, the scan ends with
status `cancelled`. Either way the gateway publishes `scan_failed` with that status and, in
`error`, who did it and why, plus a notification: every dashboard, the journal and the gateway's
own state agree. Rights: admins; every viewer with BUGHUNT_VIEWERS_CONTROL_SCANS; for cancel also
the user who started the scan; never a read-only scan link.
"""
from __future__ import annotations

import logging
import time
from typing import Any

from realtime import protocol
from realtime.auth import Identity
from realtime.debug import fields
from realtime.gateway.scans import ScanStarts
from realtime.gateway.stream import Stream, StreamUnavailable
from realtime.options import GatewayOptions

log = logging.getLogger("bughunt.gateway")
VERBS = {"abandoned": "Abandoned", "cancelled": "Cancelled"}


class ScanControls:
    def __init__(self, options: GatewayOptions, stream: Stream, launcher: Any, scan_starts: ScanStarts):
        self.options, self.stream, self.launcher, self.scan_starts = options, stream, launcher, scan_starts

    # ---- what a socket may do -------------------------------------------------------------

    def capabilities(self, identity: Identity) -> dict[str, Any]:
        """What this socket may do here, for its client to show only the actions that work."""
        return {"launcher": self.launcher is not None,
                "start_scans": self.launcher is not None and not self.scan_starts.unentitled(identity),
                "abandon": not self.unentitled(identity),
                "cancel": self.can_cancel and not identity.scoped,
                "abandon_after": self.options.abandon_after,
                "profiles": list(getattr(self.launcher, "profiles", ()))}

    @property
    def can_cancel(self) -> bool:
        return callable(getattr(self.launcher, "cancel", None))

    def unentitled(self, identity: Identity) -> str | None:
        """Why `identity` may not abandon scans (nor cancel others' scans), or None."""
        if identity.scoped:
            return "a read-only scan link cannot change scans"
        if identity.role != "admin" and not self.options.viewers_control_scans:
            return "this token may not abandon or cancel scans (admins may; viewers with BUGHUNT_VIEWERS_CONTROL_SCANS)"
        return None

    def abandon_refusal(self, identity: Identity, scan_id: str) -> str | None:
        """Why `identity` may not abandon `scan_id` now, or None."""
        if why := self.unentitled(identity):
            return why
        scan = self.stream.store.snapshot().scans.get(scan_id)
        if scan is None:
            return None  # the stream does not know it (lost contact): only a dashboard still waits for it
        if scan.finished:
            return f"scan {scan_id} already ended ({scan.status})"
        silent = time.time() - scan.updated_at
        if silent < self.options.abandon_after:
            return (f"scan {scan_id} is alive: its last event was {silent:.0f} s ago (a scan may be abandoned "
                    f"after {self.options.abandon_after:g} s of silence; cancel it if the launcher started it)")
        return None

    def cancel_refusal(self, identity: Identity, scan_id: str) -> str | None:
        """Why `identity` may not cancel `scan_id` now, or None."""
        if identity.scoped:
            return "a read-only scan link cannot change scans"
        if not self.can_cancel:
            return "no scan launcher configured" if self.launcher is None else "this gateway's launcher cannot cancel"
        starter = self.scan_starts.running().get(scan_id)
        if starter is None:
            return (f"scan {scan_id} is not running from this gateway's launcher "
                    "(only scans started with start_scan can be cancelled)")
        if starter != ScanStarts.user(identity) and (why := self.unentitled(identity)):
            return why
        return None

    def actions(self, identity: Identity, request: protocol.ScanControl) -> dict[str, Any]:
        """`scan_actions`: which controls would be accepted for this scan now (None) or why not."""
        return {"ok": True, "abandon": self.abandon_refusal(identity, request.scan_id),
                "cancel": self.cancel_refusal(identity, request.scan_id)}

    # ---- doing it --------------------------------------------------------------------------

    async def abandon(self, identity: Identity, request: protocol.ScanControl) -> dict[str, Any]:
        if why := self.abandon_refusal(identity, request.scan_id):
            return self.refused("abandon", identity, why)
        return await self.end(identity, request, "abandoned")

    async def cancel(self, identity: Identity, request: protocol.ScanControl) -> dict[str, Any]:
        if why := self.cancel_refusal(identity, request.scan_id):
            return self.refused("cancel", identity, why)
        try:
            stopped = await self.launcher.cancel(request.scan_id)
        except Exception as exc:  # noqa: BLE001 - the launcher's failure is the caller's answer
            log.exception("scan launcher failed to cancel %s", request.scan_id)
            return {"ok": False, "error": f"scan launcher failed: {protocol.preview(str(exc), 300)}"}
        if not stopped:
            return self.refused("cancel", identity, f"the launcher no longer runs scan {request.scan_id}")
        return await self.end(identity, request, "cancelled")

    @staticmethod
    def refused(action: str, identity: Identity, why: str) -> dict[str, Any]:
        log.warning(fields(f"{action} refused", user=identity.sub, reason=why))
        return {"ok": False, "error": why}

    async def end(self, identity: Identity, request: protocol.ScanControl, status: str) -> dict[str, Any]:
        """Publish the scan's end (and a notification) through the stream, as every event goes."""
        who = acting(identity, request.user)
        error = f"{VERBS[status]} by {who}" + (f": {request.reason}" if request.reason else "")
        scan_id = request.scan_id
        try:
            for event, data in (("scan_failed", {"scan_id": scan_id, "status": status, "error": error}),
                                ("notification", {"type": "warning", "title": f"Scan {status}", "message": error,
                                                  "scan_id": scan_id})):
                await (await self.stream.submit(event, protocol.wire(event, data)))
        except StreamUnavailable as exc:
            return {"ok": False, "error": f"could not record it now ({exc}); try again"}
        log.info(fields(f"scan {status}", scan=scan_id, user=identity.sub, by=who))
        return {"ok": True, "status": status}


def acting(identity: Identity, user: str | None) -> str:
    """Who acts: the person the dashboard names (its login), and the token it acts with."""
    token = f"token {identity.sub}" if identity.sub else "open mode"
    return f"{user} (via {token})" if user else token

"""Troubleshooting: the guide's three problems (won't connect, events not received, events still
firing after leaving) as checks the dashboard runs itself, each with its fix in one sentence.
Checks are grouped by what they look at; a group is named by its problem only when a check fails."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass

from realtime import protocol
from realtime.models import STATE_LOADED
from realtime.store import Snapshot
from realtime.views import ago

OK, PROBLEM, INFO = "ok", "problem", "info"
QUIET_AFTER = 300.0  # seconds without any event before "events not received" says so
CONNECTING, RECEIVING, LEAVING = "Connection", "Events", "Rooms"
SYMPTOMS = {CONNECTING: "WebSocket won't connect", RECEIVING: "Events not received",
            LEAVING: "Events still arriving after leaving"}  # the guide's names of each group's problem
LOCAL_EVENTS = (protocol.CONNECTION_STATUS, STATE_LOADED)  # the store's own log lines, not received names


@dataclass(frozen=True)
class Check:
    area: str  # what it looks at: CONNECTING, RECEIVING or LEAVING
    name: str
    state: str  # OK, PROBLEM or INFO
    detail: str
    fix: str = ""

    @property
    def heading(self) -> str:
        """The guide's problem when this check found it, else the area it looked at."""
        return SYMPTOMS[self.area] if self.state == PROBLEM else self.area


def summary(checks: list[Check]) -> str | None:
    """The problems found, by the guide's names ("WebSocket won't connect: Handshake"), or None."""
    found = [f"{c.heading}: {c.name}" for c in checks if c.state == PROBLEM]
    return "; ".join(found) or None


@dataclass(frozen=True)
class Probe:
    reachable: bool
    detail: str


def probe(url: str | None, timeout: float = 2.0) -> Probe:
    """Is the gateway's HTTP side answering? (GET /healthz, no token needed)."""
    if not url:
        return Probe(False, "no gateway URL configured")
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/healthz", timeout=timeout) as response:
            health = json.loads(response.read())
        return Probe(True, f"/healthz answered: gateway {health.get('version', '?')}, "
                           f"{health.get('mode', '?')} mode, {health.get('clients', '?')} clients")
    except urllib.error.HTTPError as exc:
        return Probe(True, f"/healthz answered HTTP {exc.code}: not a Bug Hunt Monitor gateway?")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return Probe(False, f"{url}: {getattr(exc, 'reason', exc)}")


def run(snap: Snapshot, reach: Probe, subscribe: str, now: float) -> list[Check]:
    conn = snap.connection
    refused_auth = bool(conn.reason and conn.reason.startswith("refused:"))
    connect, receive, leave = CONNECTING, RECEIVING, LEAVING
    checks = [
        Check(connect, "Gateway reachable", OK if reach.reachable else PROBLEM, reach.detail,
              "" if reach.reachable else
              "Start the gateway (python -m realtime.gateway) or set BUGHUNT_WS_URL to its address."),
        Check(connect, "Handshake",
              OK if conn.connected else PROBLEM if reach.reachable and not refused_auth else INFO,
              "connected" if conn.connected else
              f"not connected ({conn.reason or 'no attempt yet'}; attempt {conn.attempts})",
              "" if conn.connected or not reach.reachable or refused_auth else
              "Behind a proxy without WebSocket support set BUGHUNT_WS_TRANSPORTS=polling,websocket; "
              "from a browser origin check the gateway's BUGHUNT_CORS_ORIGINS."),
        Check(connect, "Authentication", PROBLEM if refused_auth else OK if conn.connected else INFO,
              conn.reason if refused_auth else "accepted" if conn.connected else "not tried yet",
              "Set BUGHUNT_WS_TOKEN to a viewer token minted with the gateway's secret "
              "(python -m realtime.gateway token --role viewer --sub YOU)." if refused_auth else ""),
    ]
    checks.append(_rooms(snap, subscribe, receive))
    checks.extend(_received(snap, now, receive))
    checks.append(_after_leaving(snap, subscribe, now, leave))
    return checks


def _rooms(snap: Snapshot, subscribe: str, area: str) -> Check:
    conn = snap.connection
    if conn.refused:
        return Check(area, "Rooms joined", PROBLEM,
                     "; ".join(f"{room} refused: {why}" for room, why in conn.refused),
                     "A viewer joins only user_<its own sub>: make BUGHUNT_USER_ID match the token's sub, "
                     "or use a token that may see that scan.")
    if subscribe == "rooms" and not conn.rooms:
        return Check(area, "Rooms joined", PROBLEM, "subscribed to rooms only, and in none: nothing arrives",
                     "Open a scan's page (it joins scan_<id>) or set BUGHUNT_WS_SUBSCRIBE=all.")
    joined = ", ".join(conn.rooms) or "none"
    return Check(area, "Rooms joined", OK,
                 f"{joined}" + (" (plus every scan: subscribed to all)" if subscribe != "rooms" else ""))


def _received(snap: Snapshot, now: float, area: str) -> list[Check]:
    checks = []
    last: dict[str, float] = {}
    unknown: set[str] = set()
    for record in snap.events:
        if record.event not in protocol.SERVER_EVENTS and record.event not in LOCAL_EVENTS:
            unknown.add(record.event)
        elif record.event in protocol.SERVER_EVENTS:
            last.setdefault(record.event, record.at)
    if snap.rejected:
        latest = snap.rejected[0]
        checks.append(Check(area, "Events valid", PROBLEM,
                            f"{len(snap.rejected)} rejected; latest {latest.event}: {latest.reason}",
                            "The publisher sends fields the catalogue does not accept: compare with docs/protocol.md."))
    if unknown:
        checks.append(Check(area, "Event names", PROBLEM,
                            "unknown names received: " + ", ".join(sorted(unknown)[:10]),
                            "Use the catalogue's names (scan_started, scan_progress, …; docs/protocol.md)."))
    if not last:
        checks.append(Check(area, "Last event", INFO,  # a quiet gateway is not a fault of the connection
                            "no scan event received yet",
                            "Is a scanner publishing? POST /api/events or python -m realtime.publisher "
                            "(docs/protocol.md)." if snap.connection.connected else ""))
    else:
        newest = max(last.values())
        quiet = now - newest > QUIET_AFTER
        ages = ", ".join(f"{name} {ago(now - at)}" for name, at in sorted(last.items()))
        checks.append(Check(area, "Last event", PROBLEM if quiet else OK, ages,
                            "Nothing for a while: is a scan running and publishing to this gateway?" if quiet else ""))
    return checks


def _after_leaving(snap: Snapshot, subscribe: str, now: float, area: str) -> Check:
    if subscribe != "rooms":
        return Check(area, "Subscription", INFO,
                     "subscribed to all: every scan's events arrive whether or not its room was joined or left",
                     "To receive only the rooms you join, set BUGHUNT_WS_SUBSCRIBE=rooms.")
    rooms = set(snap.connection.rooms)
    stray = sorted({f"scan_{r.data.get('scan_id')}" for r in snap.events[:500]
                    if r.event in protocol.SERVER_EVENTS and now - r.at < 60 and isinstance(r.data, dict)
                    and r.data.get("scan_id") and f"scan_{r.data.get('scan_id')}" not in rooms})
    if stray:
        return Check(area, "Subscription", PROBLEM, "events in the last minute from rooms not joined: "
                     + ", ".join(stray[:10]),
                     "Reconnect (sidebar) so the gateway's rooms match ours; a viewer's own rooms are "
                     "left once no tab shows them.")
    return Check(area, "Subscription", OK, "rooms only: no event from a room not joined in the last minute")

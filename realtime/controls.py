"""What the dashboard offers to do with scans, decided before anyone clicks: starting one (only
when the gateway has a launcher and lets this dashboard use it), abandoning a stuck or lost scan
and cancelling a launched one (only when the gateway's `scan_actions` says it would accept).
Everything here is plain data for pages; the gateway checks every request again."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from realtime import protocol
from realtime.models import ConnectionState, Scan
from realtime.views import clock, is_stuck
from realtime.views.times import UTC

NO_TARGET = "Enter a target URL or host (e.g. https://shop.example.com)."
LABELS = {"abandon": "Abandon scan", "cancel": "Cancel scan"}
HELP = {"abandon": "Give up on this scan: it is marked abandoned (outcome unknown) on every dashboard, with "
                   "your name and the time.",
        "cancel": "Ask the launcher that started this scan to stop it: it ends as cancelled on every dashboard."}


NOT_CONNECTED = "Starting a scan needs the gateway: not connected yet."


def start_refusal(status: ConnectionState) -> str | None:
    """Why the Start scan form is not offered, or None to offer it."""
    caps = status.capabilities
    if caps is None:  # not connected yet; or an older gateway that does not say: it answers the form
        return None if status.connected else NOT_CONNECTED
    if not caps.get("launcher"):
        return ("This gateway has no scan launcher: scans appear here as scanners publish them "
                "(python -m realtime.publisher, or POST /api/events).")
    if not caps.get("start_scans"):
        return "This dashboard's gateway token may not start scans (ask for one minted with --start-scans)."
    return None


def start_request(target: str, name: str, profile: str | None) -> dict[str, Any] | str:
    """The `start_scan` request for the form's values, or what to tell the person instead."""
    target, name = target.strip(), name.strip()
    if not target:
        return NO_TARGET
    request: dict[str, Any] = {"target": target}
    if name:
        request["scan_name"] = name
    if profile:
        request["options"] = {"profile": profile}
    return request


@dataclass(frozen=True)
class Offer:
    action: str  # "abandon" or "cancel": the request is f"{action}_scan"
    label: str
    help: str


def offers(scan: Scan, answer: Mapping[str, Any] | None, now: float,
           stuck_after: float) -> tuple[list[Offer], list[str]]:
    """The buttons to show for `scan` given the gateway's `scan_actions` answer, and notes saying
    why an action one might look for is not there (a stuck scan this token may not abandon)."""
    if scan.finished or not isinstance(answer, Mapping) or not answer.get("ok"):
        return [], []
    shown, notes = [], []
    for action in ("cancel", "abandon"):
        why = answer.get(action)
        if why is None:
            shown.append(Offer(action, LABELS[action], HELP[action]))
        elif action == "abandon" and (scan.status == protocol.LOST_CONTACT or is_stuck(scan, now, stuck_after)):
            notes.append(f"Abandon: {why}")
    return shown, notes


def request(action: str, scan_id: str, reason: str, user: str | None) -> dict[str, Any]:
    """The `abandon_scan`/`cancel_scan` request: the scan, why, and who (the dashboard's login)."""
    data: dict[str, Any] = {"scan_id": scan_id}
    if reason.strip():
        data["reason"] = reason.strip()[:500]
    if user:
        data["user"] = user[:200]
    return data


def ended_note(scan: Scan, zone: tzinfo = UTC) -> str | None:
    """"Cancelled by alice (via token 7): wrong target · 16:04:11" for a scan someone ended."""
    if scan.status not in ("cancelled", "abandoned"):
        return None
    return (scan.error or scan.status.title()) + (f" · {clock(scan.finished_at, zone)}" if scan.finished_at else "")


def counts_down(status: ConnectionState) -> bool:
    """Whether the sidebar counts the seconds to the next reconnect (not while first connecting)."""
    return not status.connected and status.reason != "connecting"


def retry_text(status: ConnectionState, now: float) -> str:
    """The sidebar's line while disconnected: the attempt under way, or when the next one is due."""
    attempt = status.attempts + 1
    if status.trying:
        return f"Disconnected — trying to reconnect (attempt {attempt})…"
    due = f" in {max(0, round(status.next_try - now))} s" if status.next_try is not None else ""
    return f"Disconnected — retrying (attempt {attempt}){due}"


def reconnect_outcome(status: ConnectionState) -> str:
    """What *Reconnect now* achieved, for the person who pressed it."""
    if status.connected:
        return "Reconnected."
    if status.trying:
        return "Still trying…"
    return f"Still disconnected: {status.reason or 'no answer'}."

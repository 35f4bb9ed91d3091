"""Catching up after a (re)connect: resume the stream where the store left it, or load the
gateway's state when the gap is too old (docs/protocol.md, "Nothing lost")."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import aiohttp
import socketio

from realtime import protocol, stream_health
from realtime.debug import fields
from realtime.options import ClientOptions
from realtime.store import EventStore

log = logging.getLogger("bughunt.client")


@dataclass(frozen=True)
class CatchUp:
    note: str | None = None  # for the connection panel ("Reconnected — replayed 37 missed events")
    joined: bool = False  # the gateway joined our rooms (False: a gateway that does not resume)
    refused: dict[str, str] | None = None  # room → the gateway's reason (None: it did not say)
    capabilities: dict[str, Any] | None = None  # what the gateway lets this client do (None: it did not say)
    stream: dict[str, Any] | None = None  # whether the gateway's stream takes events (None: it did not say)


async def catch_up(sio: socketio.AsyncClient, store: EventStore, options: ClientOptions, url: str, auth: Any,
                   rooms: set[str]) -> CatchUp:
    epoch, since = store.stream
    request = {"since": since, "epoch": epoch, "rooms": sorted(rooms), "subscribe": options.subscribe}
    try:
        ack = await sio.call("resume", request, timeout=options.connect_timeout)
    except socketio.exceptions.TimeoutError:
        ack = None  # a server that does not answer resume: carry on without it
    if not isinstance(ack, dict) or ("ok" not in ack):
        return CatchUp()
    refused = ack.get("refused_rooms") if isinstance(ack.get("refused_rooms"), dict) else {}
    for room, why in refused.items():
        log.warning(fields("join refused", room=room, reason=protocol.preview(why, 200)))
    refused = {r: protocol.preview(w, 200) for r, w in refused.items()}
    caps = ack.get("capabilities") if isinstance(ack.get("capabilities"), dict) else None
    stream = stream_health.read(ack.get("stream"))
    if ack.get("ok"):
        note = f"Reconnected — replayed {ack.get('replayed', 0)} missed events" if since is not None else None
        return CatchUp(note, True, refused, caps, stream)
    if not ack.get("resync_required"):
        return CatchUp(refused=refused, capabilities=caps, stream=stream)
    try:
        doc = await fetch_state(url, auth, options.connect_timeout)
        loaded = store.load_state(doc)
    except Exception as exc:  # noqa: BLE001 - live events still flow; say what is missing
        store.set_epoch(ack.get("epoch"))
        return CatchUp(f"Could not load the gateway's state ({describe(exc)}): live events only", True, refused,
                       caps, stream)
    return CatchUp(resync_note(epoch, since, doc, loaded), True, refused, caps, stream)


MISSING = (("findings_not_loaded", "older findings (beyond the snapshot)"),
           ("notifications_not_loaded", "older notifications (beyond the snapshot)"),
           ("unreadable", "snapshot items that could not be read"))


def resync_note(epoch: str | None, since: int | None, doc: dict, loaded: dict[str, int]) -> str:
    """How a resync caught up, and everything it could not bring back: the events between our
    position and the snapshot (the snapshot holds their outcome, the event log lacks them),
    findings and notifications beyond the snapshot's window."""
    gone = []
    last_seq = doc.get("last_seq") if isinstance(doc.get("last_seq"), int) else None
    if since is not None and doc.get("epoch") != epoch:
        gone.append(f"the old stream's events after seq {since} (the gateway's stream changed; scans "
                    "it no longer knows show as lost contact)")
    elif since is not None and last_seq is not None and last_seq > since:
        gone.append(f"{last_seq - since} events after seq {since} (their outcome is in the snapshot, "
                    "the event log lacks them)")
    gone += [f"{loaded[key]} {what}" for key, what in MISSING if loaded.get(key)]
    head = "Loaded the gateway's state" if since is None else "Resynced from snapshot"
    return f"{head} — not brought back: {'; '.join(gone)}" if gone else head


async def fetch_state(url: str, auth: Any, timeout: float) -> dict:
    """GET /api/state with the client's token."""
    headers = {"Authorization": f"Bearer {auth['token']}"} if isinstance(auth, dict) and auth.get("token") else {}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as http:
        async with http.get(url.rstrip("/") + "/api/state", headers=headers) as response:
            response.raise_for_status()
            return await response.json()


def describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "connection timed out"
    return str(exc) or type(exc).__name__

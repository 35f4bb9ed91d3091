"""The Socket.IO handlers: the namespace `/` as a class, one `on_<event>` method per event.

Every answer to a client is an ack: `{"ok": true, ...}` or `{"ok": false, "error": ...}`.
`trigger_event` (the dispatcher python-socketio documents for overriding) sends every event
without a method of its own to `on_other`, hands each handler the first argument only (a client
may send any number), and ignores `connect`/`disconnect` events a client sends itself.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

import socketio

from realtime import extra_fields, protocol
from realtime.auth import Authenticator, AuthError, Identity
from realtime.debug import fields
from realtime.gateway.control import ScanControls
from realtime.gateway.limits import MALFORMED
from realtime.gateway.replay import NotReading, Replay, ReplayJobs
from realtime.gateway.scans import ScanStarts
from realtime.gateway.sessions import Session, Sessions
from realtime.gateway.stream import Stream
from realtime.gateway.triage import TriageRefused, Triages
from realtime.options import GatewayOptions

log = logging.getLogger("bughunt.gateway")

LIFECYCLE = ("connect", "disconnect")
REQUESTS = frozenset({"resume", "join_room", "leave_room", "start_scan", "triage_finding"})
CONTROLS = {"abandon_scan": "abandon", "cancel_scan": "cancel", "scan_actions": "actions"}  # ScanControls' methods


class ScanLauncher(Protocol):
    """What `start_scan` hands a scan to. Configure one with `--launcher module:factory`, where
    `factory(gateway)` returns an object with this method; it publishes the scan's events with
    `await gateway.publish(event, data)` and returns the new scan's id at once. Optional
    `async start()`/`stop()` methods run with the gateway; optional `async cancel(scan_id) -> bool`
    stops a scan it started (True; False: not one it runs) and lets `cancel_scan` offer it; optional
    `profiles` (e.g. ("quick", "full")) names what `start_scan`'s `options.profile` may be."""

    async def start_scan(self, request: protocol.StartScan) -> str: ...


def unknown_profile(request: protocol.StartScan, profiles: Any) -> str | None:
    """Why `options.profile` is not one the launcher names, or None (no profile asked for, or none named)."""
    profile = (request.options or {}).get("profile")
    if profile is None or not profiles or profile in profiles:
        return None
    return f"profile must be one of {', '.join(profiles)}"


def named_ignored(answer: Any, event: str, data: Any) -> Any:
    """A request's ack, naming the fields of `data` the request does not know (never dropped silently)."""
    if isinstance(answer, dict) and (ignored := extra_fields.of_request(event, data)):
        return {**answer, "ignored_fields": ignored}
    return answer


def peer_of(environ: dict) -> str:
    client = environ.get("asgi.scope", {}).get("client")  # REMOTE_ADDR is a placeholder under ASGI
    return client[0] if client else environ.get("REMOTE_ADDR", "")


def refuse(message: str, status: int) -> socketio.exceptions.ConnectionRefusedError:
    return socketio.exceptions.ConnectionRefusedError(message, {"status": status})


def audience(identity: Identity, subscribe: str, rooms: list[str]) -> tuple[set[str], dict[str, str]]:
    """The rooms a socket gets: those it asked for and may join, plus everything unless it asked
    for rooms only; a scoped link gets exactly its scans. Also the refused rooms, why."""
    refused = {room: why for room in rooms if (why := identity.may_join(room))}
    allowed = set(rooms) - set(refused)
    for room, why in refused.items():
        log.warning(fields("join refused", user=identity.sub, room=room, reason=why))
    if identity.scoped:
        return allowed | {f"scan_{scan}" for scan in identity.scans}, refused
    return allowed | ({"all"} if subscribe != "rooms" else set()), refused


class GatewayNamespace(socketio.AsyncNamespace):
    def __init__(self, options: GatewayOptions, auth: Authenticator, sessions: Sessions, stream: Stream,
                 launcher: ScanLauncher | None, scan_starts: ScanStarts, triages: Triages):
        super().__init__("/")
        self.options, self.auth, self.sessions, self.stream = options, auth, sessions, stream
        self.launcher, self.scan_starts, self.triages = launcher, scan_starts, triages
        self.controls = ScanControls(options, stream, launcher, scan_starts)
        self.replays = ReplayJobs()

    async def trigger_event(self, event: str, sid: str, *args: Any) -> Any:
        if event in LIFECYCLE:
            if self.server.manager.is_connected(sid, self.namespace):
                return await self.forged(event, sid)  # a real (dis)connect is not "connected" yet/any more
            return await getattr(self, f"on_{event}")(sid, *args)
        data = args[0] if args else None
        if event == MALFORMED:  # a message too deeply nested to decode (realtime.gateway.limits)
            return await self.refuse_malformed(sid, data)
        if event in REQUESTS:
            return named_ignored(await getattr(self, f"on_{event}")(sid, data), event, data)
        if event in CONTROLS:
            return named_ignored(await self.control(event, sid, data), event, data)
        return await self.on_other(event, sid, data)

    # ---- connections ---------------------------------------------------------------------

    async def on_connect(self, sid: str, environ: dict, auth: Any = None) -> None:
        auth = auth if isinstance(auth, dict) else {}
        ip = peer_of(environ)
        identity = self.identify(auth.get("token"), ip)
        session = self.sessions.open(sid, identity, ip, self.stream.emitted)
        # Everyone gets all scan events unless they asked for only the rooms they join (a scoped
        # link: only its scans). A client that resumes joins in `resume`, after its replay, so
        # nothing overtakes it.
        if not auth.get("resume"):
            for room in audience(identity, auth.get("subscribe", "all"), [])[0]:
                await self.enter(sid, session, room)

    def identify(self, token: Any, ip: str) -> Identity:
        """Who connects, or ConnectionRefusedError with the reason and an HTTP-like status."""
        try:
            identity = self.auth.identify(token, ip)
        except AuthError as exc:
            log.warning("refused a connection from %s: %s", ip, exc.reason)
            raise refuse(exc.reason, exc.status) from None
        if not identity.can_view:
            raise refuse("producer tokens publish over HTTP; watching needs a viewer token", 403)
        if why := self.sessions.full(ip):
            raise refuse(why, 429)
        return identity

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self.replays.cancel(sid)
        self.sessions.close(sid)

    async def forged(self, event: str, sid: str) -> None:
        """A client emitting "connect" or "disconnect" itself: ignored, logged once per socket."""
        session, _ = await self.admit(sid)
        if session is not None and not session.forged:
            session.forged = True
            log.warning("ignored a forged %s event from %s (user %s)", event, session.ip, session.identity.sub)

    async def admit(self, sid: str) -> tuple[Session | None, dict | None]:
        """Rate-limit one socket message: (session, None), or a refusal to answer with. A socket
        that keeps going past its limit is disconnected."""
        admission = self.sessions.admit(sid)
        if admission.abuse:
            session = admission.session
            log.warning("disconnecting %s (%s): message rate abuse", session.identity.sub, session.ip)
            await self.disconnect(sid)
        return admission.session, admission.refusal

    async def enter(self, sid: str, session: Session, room: str) -> None:
        session.rooms.add(room)
        await self.enter_room(sid, room)

    # ---- requests ------------------------------------------------------------------------

    async def on_resume(self, sid: str, data: Any) -> dict:
        session, request, refusal = await self.request("resume", sid, data)
        if refusal:
            return refusal
        rooms, refused = self.resume_rooms(session, request)
        job = self.replays.begin(sid, self.replay(sid, session, request, rooms).run())
        await asyncio.wait([job])  # not `await job`: its cancellation is not ours
        answer = {"epoch": self.stream.epoch, "last_seq": self.stream.last_seq, "stream": self.stream.health(),
                  "capabilities": self.controls.capabilities(session.identity)}
        if refused:
            answer["refused_rooms"] = refused
        if job.cancelled():
            return {"ok": False, "error": "replaced by a newer resume", **answer}
        if isinstance(job.exception(), NotReading):
            log.warning("disconnecting %s (%s): did not read its replay", session.identity.sub, session.ip)
            await self.drop(sid)
            return {"ok": False, "error": "did not read the replay"}
        if isinstance(missed := job.result(), str):
            return {"ok": False, "resync_required": True, "error": missed, **answer}
        return {"ok": True, "replayed": missed, **answer}

    def resume_rooms(self, session: Session, request: protocol.Resume) -> tuple[set[str], dict[str, str]]:
        """The rooms a resume joins, within the socket's room limit (as `join_room`), and those refused."""
        rooms, refused = audience(session.identity, request.subscribe, request.rooms)
        room_limit = self.options.max_rooms_per_socket
        room_budget = max(0, room_limit - len(session.rooms))
        new = sorted(rooms - session.rooms, key=lambda room: room != "all")  # `all` first: it carries most
        for room in new[room_budget:]:
            refused[room] = f"at most {room_limit} rooms per connection"
            rooms.discard(room)
        return rooms, refused

    def replay(self, sid: str, session: Session, request: protocol.Resume, rooms: set[str]) -> Replay:
        async def join() -> None:
            for room in rooms:
                await self.enter(sid, session, room)

        return Replay(self.stream, request, rooms, session=session,
                      slice_size=self.options.replay_slice, replay_max_unread=self.options.replay_max_unread,
                      send=lambda event, data: self.emit(event, data, to=sid), join=join,
                      backlog=lambda: self.backlog(sid))

    def backlog(self, sid: str) -> int:
        """Packets queued for the socket and not yet taken by its connection's writer."""
        eio_sid = self.server.manager.eio_sid_from_sid(sid, self.namespace)
        socket = self.server.eio.sockets.get(eio_sid) if eio_sid else None
        return socket.queue.qsize() if socket is not None else 0

    async def drop(self, sid: str) -> None:
        """Disconnect a socket that does not read: its unread packets are abandoned, not awaited."""
        eio_sid = self.server.manager.eio_sid_from_sid(sid, self.namespace)
        await self.disconnect(sid)
        socket = self.server.eio.sockets.get(eio_sid) if eio_sid else None
        if socket is not None:
            await socket.close(wait=False, abort=True)

    async def on_join_room(self, sid: str, data: Any) -> dict:
        session, request, refusal = await self.request("join_room", sid, data)
        if refusal:
            return refusal
        room = request.room
        why = session.identity.may_join(room) or self.sessions.room_limit(session)
        if why:
            log.warning(fields("join refused", user=session.identity.sub, room=room, reason=why))
            return {"ok": False, "error": why}
        await self.enter(sid, session, room)
        return {"ok": True}

    async def on_leave_room(self, sid: str, data: Any) -> dict:
        session, request, refusal = await self.request("leave_room", sid, data)
        if refusal:
            return refusal
        room = request.room
        session.rooms.discard(room)
        await self.leave_room(sid, room)
        return {"ok": True}

    async def request(self, event: str, sid: str, data: Any) -> tuple[Session | None, Any, dict | None]:
        """An admitted socket's request, parsed; or the refusal to answer with."""
        session, refusal = await self.admit(sid)
        if refusal:
            return session, None, refusal
        try:
            return session, protocol.parse_request(event, data), None
        except protocol.InvalidEvent as exc:
            return session, None, {"ok": False, "error": exc.reason}

    async def on_start_scan(self, sid: str, data: Any) -> dict:
        session, request, refusal = await self.request("start_scan", sid, data)
        if refusal:
            return refusal
        why = self.scan_starts.unentitled(session.identity)
        if self.launcher is None and not why:
            return {"ok": False, "error": "no scan launcher configured"}
        if why := why or self.scan_starts.refusal(session.identity, request.target) or unknown_profile(
                request, getattr(self.launcher, "profiles", None)):
            log.warning(fields("scan start refused", user=session.identity.sub, reason=why))
            return {"ok": False, "error": why}
        try:
            scan_id = await self.launcher.start_scan(request)
        except Exception as exc:  # noqa: BLE001 - the launcher's failure is the caller's answer
            log.exception("scan launcher failed")
            return {"ok": False, "error": f"scan launcher failed: {protocol.preview(str(exc), 300)}"}
        self.scan_starts.started(session.identity, scan_id)
        return {"ok": True, "scan_id": scan_id}

    async def on_triage_finding(self, sid: str, data: Any) -> dict:
        session, request, refusal = await self.request("triage_finding", sid, data)
        if refusal:
            return refusal
        try:
            return {"ok": True, "triage": await self.triages.mark(session.identity, request)}
        except TriageRefused as exc:
            log.info(fields("triage refused", user=session.identity.sub, reason=exc.reason))
            return {"ok": False, "error": exc.reason}

    async def control(self, event: str, sid: str, data: Any) -> dict:
        """abandon_scan, cancel_scan, scan_actions (realtime.gateway.control)."""
        session, request, refusal = await self.request(event, sid, data)
        if refusal:
            return refusal
        answer = getattr(self.controls, CONTROLS[event])(session.identity, request)
        return await answer if asyncio.iscoroutine(answer) else answer

    async def refuse_malformed(self, sid: str, reason: Any) -> dict:
        session, refusal = await self.admit(sid)
        if refusal:
            return refusal
        log.info(fields("message refused", user=session.identity.sub, reason=str(reason)))
        return {"ok": False, "error": str(reason)}

    async def on_other(self, event: str, sid: str, data: Any) -> dict:
        """Any other event: server events are refused (scanners publish over HTTP), the rest unknown."""
        session, refusal = await self.admit(sid)
        if refusal:
            return refusal
        if event in protocol.SERVER_EVENTS:
            log.warning("refused %s from a socket (user %s, %s)", protocol.preview(event, 80),
                        session.identity.sub, session.ip)
            return {"ok": False, "error": "server events cannot be sent from a socket; "
                                          "scanners publish with POST /api/events"}
        return {"ok": False, "error": f"unknown event {protocol.preview(str(event), 80)}"}

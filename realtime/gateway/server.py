"""Gateway: Socket.IO server, publishing API and the ordered event stream.

Every event, whatever its source (HTTP, the demo engine, a scan launcher, another gateway via
Redis), goes through `publish()`: validated by the protocol module, stamped, and handed to the
stream. The stream gives it the next `seq` and delivers it: applied to this gateway's own
EventStore (served at /api/state) and emitted to its audience. Locally the stream is one
emitter task, so emits never interleave; with Redis it is the StreamManager.
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import importlib
import json
import logging
import socket
import threading
import time
import uuid
from collections import deque
from typing import Any, NamedTuple, Protocol

import socketio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from realtime import protocol
from realtime.auth import Authenticator, AuthError, Identity, load_secret
from realtime.debug import fields
from realtime.gateway.limits import TokenBucket
from realtime.gateway.stream import StreamManager
from realtime.journal import Journal
from realtime.options import GatewayOptions
from realtime.store import EventStore

VERSION = "0.1.0"
log = logging.getLogger("bughunt.gateway")


class ScanLauncher(Protocol):
    """What `start_scan` hands a scan to. Configure one with `--launcher module:factory`, where
    `factory(gateway)` returns an object with this method; it publishes the scan's events with
    `await gateway.publish(event, data)` and returns the new scan's id at once."""

    async def start_scan(self, request: protocol.StartScan) -> str: ...


class Sent(NamedTuple):
    """One event of the replay buffer."""

    seq: int
    event: str
    data: dict
    rooms: frozenset[str]
    at: float


def audience(event: str, parsed: protocol.Event) -> str | list[str]:
    """Rooms an event goes to, in one emit so each client gets it once."""
    if isinstance(parsed, protocol.Notification):
        if parsed.user_id:
            return f"user_{parsed.user_id}"  # private: never to `all`
        return ["all", f"scan_{parsed.scan_id}"] if parsed.scan_id else "all"
    if isinstance(parsed, protocol.MetricsUpdate):
        return "all"
    return ["all", f"scan_{parsed.scan_id}"]


@dataclasses.dataclass
class Session:
    """What the gateway knows of one socket."""

    identity: Identity
    ip: str
    bucket: TokenBucket
    rooms: set[str] = dataclasses.field(default_factory=set)
    refusals: int = 0


def peer_of(environ: dict) -> str:
    client = environ.get("asgi.scope", {}).get("client")  # REMOTE_ADDR is a placeholder under ASGI
    return client[0] if client else environ.get("REMOTE_ADDR", "")


def room_set(rooms: str | list[str]) -> frozenset[str]:
    return frozenset([rooms] if isinstance(rooms, str) else rooms)


def error(status: int, message: str, details: list | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": message}
    if details is not None:
        body["details"] = details
    return JSONResponse(body, status_code=status)


class Gateway:
    def __init__(self, options: GatewayOptions | None = None):
        self.options = options = options or GatewayOptions()
        self.store = EventStore()
        self.started_at = time.time()
        self.clients = 0
        self.emitted = 0
        self.auth = Authenticator(load_secret(options.secret_file))
        self._sessions: dict[str, Session] = {}
        self._per_ip: dict[str, int] = {}
        self._publish_buckets: dict[str, TokenBucket] = {}
        self._seq = 0
        self.epoch = uuid.uuid4().hex[:12]  # this stream; a restart without --state-db starts another
        self._sent: deque[Sent] = deque(maxlen=options.replay_events)
        self._gate: asyncio.Lock | None = None  # delivery and a resume's replay never interleave
        self._queue: asyncio.Queue | None = None
        self._tasks: list[asyncio.Task] = []
        self.journal = Journal(options.state_db) if options.state_db else None
        if self.journal is not None:
            self._restore()
        self.manager = (StreamManager(options.redis_url, channel=options.redis_channel,
                                      deliver=self._deliver)
                        if options.redis_url else None)
        origins = [o.strip() for o in options.cors_origins.split(",") if o.strip()]
        self.sio = socketio.AsyncServer(
            async_mode="asgi", client_manager=self.manager,
            cors_allowed_origins="*" if origins == ["*"] else origins,
            max_http_buffer_size=options.max_body_bytes,
            # Logger objects (not True/False) leave their levels to realtime.debug.
            logger=logging.getLogger("socketio.server"), engineio_logger=logging.getLogger("engineio.server"))
        self._register_socket_handlers()
        http = Starlette(routes=[
            Route("/healthz", self.healthz),
            Route("/api/state", self.state),
            Route("/api/events", self.post_events, methods=["POST"]),
        ], lifespan=self._lifespan)
        self.app = socketio.ASGIApp(self.sio, other_asgi_app=http)
        self.launcher: ScanLauncher | None = None
        if options.demo:
            from realtime.gateway.demo import DemoEngine
            self.launcher = DemoEngine(self)
        elif options.launcher:
            module, _, attr = options.launcher.partition(":")
            self.launcher = getattr(importlib.import_module(module), attr)(self)

    @property
    def mode(self) -> str:
        return "demo" if self.options.demo else "redis" if self.manager else "local"

    # ---- the stream ----------------------------------------------------------------------

    async def publish(self, event: str, data: Any) -> None:
        """Validate (raises protocol.InvalidEvent) and put an event on the stream. Waits when
        the stream is full, so a fast producer is slowed rather than dropped."""
        await self._submit(event, protocol.wire(event, data))

    async def _submit(self, event: str, wire: dict) -> asyncio.Future | None:
        """Hand an event to the stream. Locally, the returned future completes once the event
        is stored (and written to --state-db) and sent."""
        if self.manager is not None:
            await self.manager.emit(event, wire)
            return None
        done = asyncio.get_running_loop().create_future()
        await self._queue.put((event, wire, done))
        return done

    def _deliver(self, event: str, data: Any, seq: int) -> tuple[dict, Any] | None:
        """Stamp `seq`, apply to our store, and say where the event goes. Called in stream
        order; data from Redis is untrusted like any other, so it is validated again."""
        try:
            parsed = protocol.parse(event, data)
        except protocol.InvalidEvent as exc:
            log.warning("dropped %s from the stream: %s", protocol.preview(event, 80), exc.reason)
            self.store.apply(event, data)  # lands in the rejected list
            return None
        parsed = parsed.model_copy(update={"seq": seq})
        self.store.apply_parsed(event, parsed)
        wire = parsed.model_dump(exclude_none=True, mode="json")
        self.emitted += 1
        rooms = audience(event, parsed)
        self._sent.append(Sent(seq, event, wire, room_set(rooms), time.time()))
        return wire, rooms

    async def _emit_loop(self) -> None:
        """The local stream: take what is queued (a batch at a time), give it seqs, write it to
        --state-db in one transaction *before* sending, then send it in order."""
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty() and len(batch) < 500:
                batch.append(self._queue.get_nowait())
            async with self._gate:
                delivered = []
                for event, wire, _ in batch:
                    self._seq += 1
                    sent = self._deliver(event, wire, self._seq)
                    if sent is not None:
                        delivered.append((event, *sent))
                if self.journal is not None and delivered:
                    now = time.time()
                    try:
                        await asyncio.to_thread(self.journal.write, [(self.epoch, e, w, now) for e, w, _ in delivered])
                    except Exception:  # noqa: BLE001 - keep streaming; say loudly that state is at risk
                        log.exception("writing the state db failed")
                for event, wire, rooms in delivered:
                    try:
                        await self.sio.emit(event, wire, to=rooms)
                    except Exception:  # noqa: BLE001 - one failed emit must not stop the stream
                        log.exception("emit of %s failed", event)
            for _, _, done in batch:
                if not done.done():
                    done.set_result(None)

    def _restore(self) -> None:
        """Come back from --state-db: the same stream (epoch and seq), our store, and the
        replay buffer, so clients that were connected before the restart can resume."""
        self.epoch = self.journal.get_meta("epoch") or self.epoch
        self.journal.set_meta("epoch", self.epoch)
        self.journal.replay(self.store)
        self._seq = self.store.stream[1] or 0
        cutoff = time.time() - self.options.replay_seconds
        for _, seq, event, data, at in self.journal.rows(since_at=cutoff):
            if seq is None:
                continue
            try:
                rooms = audience(event, protocol.parse(event, data))
            except protocol.InvalidEvent:
                continue
            self._sent.append(Sent(seq, event, data, room_set(rooms), at))
        log.info("restored stream %s at seq %d (%d events resumable)", self.epoch, self._seq, len(self._sent))

    def _resume_refusal(self, epoch: str | None, since: int | None) -> str | None:
        """Why `since` on `epoch` cannot be replayed, or None when it can."""
        last = self.store.stream[1] or 0
        if since is None:
            return "no stream position yet"
        if epoch != self.epoch:
            return "the gateway restarted without its state: a new stream"
        if since > last:
            return "ahead of this stream"
        cutoff = time.time() - self.options.replay_seconds
        while self._sent and self._sent[0].at < cutoff:
            self._sent.popleft()
        first = self._sent[0].seq if self._sent else last + 1
        if since + 1 < first:
            return "the missed events are older than the replay buffer"
        return None

    async def _metrics_loop(self) -> None:
        """Emit metrics from our store when they changed; with Redis only one gateway (the one
        holding a short lease) does, so clients do not get one copy per gateway."""
        last = None
        interval = self.options.metrics_interval
        while True:
            await asyncio.sleep(interval)
            try:
                metrics = self.store.derived_metrics()
                if metrics != last and await self._metrics_lease(interval):
                    await self.publish("metrics_update", metrics)
                    last = metrics
            except Exception:  # noqa: BLE001 - try again next tick (e.g. Redis restarting)
                log.exception("metrics update failed")

    async def _metrics_lease(self, interval: float) -> bool:
        if self.manager is None:
            return True
        redis, key, me = self.manager.redis, f"{self.options.redis_channel}:metrics", self.manager.host_id
        ttl = int(interval * 3000)
        if await redis.set(key, me, nx=True, px=ttl):
            return True
        holder = await redis.get(key)
        if holder in (me, me.encode()):
            await redis.pexpire(key, ttl)
            return True
        return False

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Any):
        self._queue = asyncio.Queue(self.options.queue_size)
        self._gate = asyncio.Lock()
        if self.manager is not None:
            self.manager.gate = self._gate
            # One stream across gateways: its epoch lives in Redis beside its seq counter.
            self.manager._redis_connect()
            redis = self.manager.redis
            await redis.set(f"{self.options.redis_channel}:epoch", self.epoch, nx=True)
            self.epoch = (await redis.get(f"{self.options.redis_channel}:epoch")).decode()
            # Start listening now rather than at the first client: our store follows the
            # stream even while nobody watches.
            self.sio.manager_initialized = True
            self.manager.initialize()
        else:
            self._tasks.append(asyncio.create_task(self._emit_loop()))
        self._tasks.append(asyncio.create_task(self._metrics_loop()))
        if self.launcher is not None and hasattr(self.launcher, "run"):
            self._tasks.append(asyncio.create_task(self.launcher.run()))
        log.info("gateway up (%s mode); %s", self.mode,
                 "open mode, loopback only: no secret configured" if self.auth.open_mode
                 else "viewer and producer tokens required")
        try:
            yield
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self._tasks.clear()
            if self.journal is not None:
                self.journal.close()

    # ---- Socket.IO -----------------------------------------------------------------------

    def _register_socket_handlers(self) -> None:
        sio = self.sio

        @sio.event
        async def connect(sid, environ, auth=None):
            if sid in self._sessions:  # a client emitting "connect" itself, not a handshake
                log.warning("ignored a forged connect event from %s", self._sessions[sid].ip)
                return
            auth = auth if isinstance(auth, dict) else {}
            ip = peer_of(environ)
            try:
                identity = self.auth.identify(auth.get("token"), ip)
            except AuthError as exc:
                log.warning("refused a connection from %s: %s", ip, exc.reason)
                raise socketio.exceptions.ConnectionRefusedError(exc.reason, {"status": exc.status}) from None
            if not identity.can_view:
                raise socketio.exceptions.ConnectionRefusedError(
                    "producer tokens publish over HTTP; watching needs a viewer token", {"status": 403})
            if self._per_ip.get(ip, 0) >= self.options.max_connections_per_ip:
                raise socketio.exceptions.ConnectionRefusedError(f"too many connections from {ip}", {"status": 429})
            self._per_ip[ip] = self._per_ip.get(ip, 0) + 1
            session = self._sessions[sid] = Session(
                identity, ip, TokenBucket(self.options.socket_rate, self.options.socket_burst))
            # Everyone gets all scan events unless they asked for only the rooms they join (a
            # scoped link: only its scans). A client that resumes joins in `resume`, after its
            # replay, so nothing overtakes it.
            if not auth.get("resume"):
                for room in self._audience(session, auth.get("subscribe", "all"), [])[0]:
                    await self._enter(sid, session, room)
            self.clients += 1

        @sio.event
        async def disconnect(sid, *reason):
            # python-socketio routes a client's own "disconnect" event here too; a real
            # disconnect has already marked the socket as leaving.
            if sio.manager.is_connected(sid, "/"):
                log.warning("ignored a forged disconnect event from %s", sid)
                return
            session = self._sessions.pop(sid, None)
            if session is not None:
                self._per_ip[session.ip] -= 1
                if not self._per_ip[session.ip]:
                    del self._per_ip[session.ip]
                self.clients -= 1

        @sio.on("resume")
        async def resume(sid, data=None):
            session, refusal = await self._admit(sid)
            if refusal:
                return refusal
            try:
                request = protocol.parse_request("resume", data)
            except protocol.InvalidEvent as exc:
                return {"ok": False, "error": exc.reason}
            rooms, refused = self._audience(session, request.subscribe, request.rooms)
            async with self._gate:
                refusal = self._resume_refusal(request.epoch, request.since)
                replay = [] if refusal else [s for s in self._sent if s.seq > request.since and s.rooms & rooms]
                for sent in replay:
                    await sio.emit(sent.event, sent.data, to=sid)
                for room in rooms:
                    await self._enter(sid, session, room)
            answer = {"epoch": self.epoch, "last_seq": self.store.stream[1]}
            if refused:
                answer["refused_rooms"] = refused
            if refusal:
                return {"ok": False, "resync_required": True, "error": refusal, **answer}
            return {"ok": True, "replayed": len(replay), **answer}

        async def room_request(event: str, sid: str, data: Any = None) -> dict:
            session, refusal = await self._admit(sid)
            if refusal:
                return refusal
            try:
                room = protocol.parse_request(event, data).room
            except protocol.InvalidEvent as exc:
                return {"ok": False, "error": exc.reason}
            if event == "leave_room":
                session.rooms.discard(room)
                await sio.leave_room(sid, room)
                return {"ok": True}
            why = session.identity.may_join(room)
            if why is None and len(session.rooms) >= self.options.max_rooms_per_socket:
                why = f"at most {self.options.max_rooms_per_socket} rooms per connection"
            if why:
                log.warning(fields("join refused", user=session.identity.sub, room=room, reason=why))
                return {"ok": False, "error": why}
            await self._enter(sid, session, room)
            return {"ok": True}

        sio.on("join_room", functools.partial(room_request, "join_room"))
        sio.on("leave_room", functools.partial(room_request, "leave_room"))

        @sio.on("start_scan")
        async def start_scan(sid, data=None):
            session, refusal = await self._admit(sid)
            if refusal:
                return refusal
            if session.identity.scoped:
                return {"ok": False, "error": "a read-only scan link cannot start scans"}
            if session.identity.role == "viewer" and not self.options.viewers_start_scans:
                return {"ok": False, "error": "viewers may not start scans here"}
            try:
                request = protocol.parse_request("start_scan", data)
            except protocol.InvalidEvent as exc:
                return {"ok": False, "error": exc.reason}
            if self.launcher is None:
                return {"ok": False, "error": "no scan launcher configured"}
            try:
                return {"ok": True, "scan_id": await self.launcher.start_scan(request)}
            except Exception as exc:  # noqa: BLE001 - the launcher's failure is the caller's answer
                log.exception("scan launcher failed")
                return {"ok": False, "error": f"scan launcher failed: {protocol.preview(str(exc), 300)}"}

        @sio.on("*")
        async def other(event, sid=None, data=None):
            if not isinstance(sid, str) or sid not in self._sessions:
                # an event named "*" itself reaches this handler without its name
                return {"ok": False, "error": "unknown event *"}
            session, refusal = await self._admit(sid)
            if refusal:
                return refusal
            if event in protocol.SERVER_EVENTS:
                log.warning("refused %s from a socket (user %s, %s)", protocol.preview(event, 80),
                            session.identity.sub, session.ip)
                return {"ok": False, "error": "server events cannot be sent from a socket; "
                                              "scanners publish with POST /api/events"}
            return {"ok": False, "error": f"unknown event {protocol.preview(event, 80)}"}

    def _audience(self, session: Session, subscribe: str, rooms: list[str]) -> tuple[set[str], dict[str, str]]:
        """The rooms a socket gets: those it asked for and may join, plus everything unless it
        asked for rooms only; a scoped link gets exactly its scans. Also the refused rooms, why."""
        identity = session.identity
        refused = {room: why for room in rooms if (why := identity.may_join(room))}
        allowed = set(rooms) - set(refused)
        for room, why in refused.items():
            log.warning(fields("join refused", user=identity.sub, room=room, reason=why))
        if identity.scoped:
            return allowed | {f"scan_{scan}" for scan in identity.scans}, refused
        return allowed | ({"all"} if subscribe != "rooms" else set()), refused

    async def _enter(self, sid: str, session: Session, room: str) -> None:
        session.rooms.add(room)
        await self.sio.enter_room(sid, room)

    async def _admit(self, sid: str) -> tuple[Session | None, dict | None]:
        """Rate-limit one socket message: (session, None), or a refusal to answer with. A socket
        that keeps going past its limit is disconnected."""
        session = self._sessions.get(sid)
        if session is None:
            return None, {"ok": False, "error": "not connected"}
        if session.bucket.take():
            return session, None
        session.refusals += 1
        if session.refusals >= self.options.socket_burst:
            log.warning("disconnecting %s (%s): message rate abuse", session.identity.sub, session.ip)
            await self.sio.disconnect(sid)
        return session, {"ok": False, "error": f"rate limit: at most {self.options.socket_rate:g} messages/s"}

    def _http_identity(self, request: Request, right: str, refusal: str) -> Identity | JSONResponse:
        """The caller's identity when it has `right` (an Identity property), else the 401/403."""
        try:
            identity = self.auth.identify(self.auth.bearer(request.headers.get("authorization")),
                                          request.client.host if request.client else None)
        except AuthError as exc:
            return error(exc.status, exc.reason)
        return identity if getattr(identity, right) else error(403, refusal)

    # ---- HTTP ----------------------------------------------------------------------------

    async def healthz(self, request: Request) -> JSONResponse:
        snap = self.store.snapshot()
        return JSONResponse({
            "status": "ok", "version": VERSION, "mode": self.mode,
            "uptime": round(time.time() - self.started_at, 3), "clients": self.clients,
            "events_emitted": self.emitted, "epoch": self.epoch, "last_seq": snap.last_seq,
        })

    async def state(self, request: Request) -> JSONResponse:
        """What a dashboard that starts late needs to catch up (a scoped link: its scans only)."""
        identity = self._http_identity(request, "can_view", "the state is for viewer tokens")
        if isinstance(identity, JSONResponse):
            return identity
        snap = self.store.snapshot()
        sees = identity.sees_scan
        return JSONResponse({
            "epoch": self.epoch,
            "last_seq": snap.last_seq,
            "metrics": self.store.derived_metrics() if not identity.scoped else {},
            "scans": [_plain(s) for s in sorted(snap.scans.values(), key=lambda s: -s.started_at) if sees(s.scan_id)],
            "vulnerabilities": [_plain(v) for v in snap.vulnerabilities[:self.options.state_findings]
                                if sees(v.scan_id)],
            "vulnerabilities_total": sum(1 for v in snap.vulnerabilities if sees(v.scan_id)),
            "notifications": [_plain(n) for n in snap.notifications
                              if n.user_id in (None, identity.sub) and (not identity.scoped or sees(n.scan_id))
                              ][:100],
        })

    async def post_events(self, request: Request) -> JSONResponse:
        identity = self._http_identity(request, "can_publish",
                                       "viewer tokens cannot publish; scanners need a producer token")
        if isinstance(identity, JSONResponse):
            return identity
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            return error(415, "Content-Type must be application/json")
        limit = self.options.max_body_bytes
        if int(request.headers.get("content-length") or 0) > limit:
            return error(413, f"body larger than {limit} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                return error(413, f"body larger than {limit} bytes")
        try:
            doc = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            return error(400, "body is not valid JSON", [str(exc)])
        items = doc if isinstance(doc, list) else [doc]
        if not isinstance(doc, (list, dict)) or not items:
            return error(400, 'body must be {"event": ..., "data": {...}} or a non-empty list of them')
        if len(items) > self.options.max_batch:
            return error(413, f"batch of {len(items)} events; the limit is {self.options.max_batch}")
        accepted, details = [], []
        for index, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("event"), str):
                details.append({"index": index, "error": 'each item must be {"event": "<name>", "data": {...}}'})
                continue
            try:
                accepted.append((item["event"], protocol.wire(item["event"], item.get("data"))))
            except protocol.InvalidEvent as exc:
                details.append({"index": index, "event": protocol.preview(item["event"], 80),
                                "error": exc.reason})
        if details:
            for detail in details[:10]:  # bounded: a hostile batch must not flood the log
                log.info(fields("event rejected", producer=self.producer(request, identity), index=detail["index"],
                                event=detail.get("event", "?"), reason=detail["error"]))
            return error(400, f"{len(details)} of {len(items)} events are invalid; none were accepted",
                         details)
        producer = self.producer(request, identity)
        bucket = self._publish_buckets.setdefault(
            producer, TokenBucket(self.options.publish_rate, self.options.publish_burst))
        if not bucket.take(len(accepted)):
            return JSONResponse({"error": f"rate limit: at most {self.options.publish_rate:g} events/s "
                                          "per producer; retry later"}, status_code=429,
                                headers={"Retry-After": "1"})
        pending = [await self._submit(event, wire) for event, wire in accepted]
        # 202 means stored (and, with --state-db, on disk): a producer that saw it never resends
        await asyncio.gather(*[p for p in pending if p is not None])
        log.debug("accepted %d events from %s", len(accepted), producer)
        return JSONResponse({"accepted": len(accepted)}, status_code=202)

    def producer(self, request: Request, identity: Identity) -> str:
        """Who published: the token's subject, or the address in open mode (rates are per producer)."""
        return identity.sub or f"open@{request.client.host if request.client else '?'}"

    # ---- running -------------------------------------------------------------------------

    def server(self) -> uvicorn.Server:
        return uvicorn.Server(uvicorn.Config(self.app, log_level="warning", lifespan="on"))


def _plain(obj: Any) -> dict:
    return dataclasses.asdict(obj)


def bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit this: without it a response's header and body writes wait on
    # the client's delayed ACK (~40 ms per keep-alive request).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


@dataclasses.dataclass
class RunningGateway:
    gateway: Gateway
    url: str
    thread: threading.Thread
    server: uvicorn.Server

    def stop(self, timeout: float = 10) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)


def start_in_thread(options: GatewayOptions) -> RunningGateway:
    """Run a gateway in a daemon thread of this process (the dashboard's demo mode)."""
    gateway = Gateway(options)
    sock = bind(options.host, options.port)
    server = gateway.server()

    def run() -> None:
        asyncio.run(server.serve(sockets=[sock]))

    thread = threading.Thread(target=run, name="bughunt-gateway", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    if not server.started:
        raise RuntimeError("the gateway did not start")
    host, port = sock.getsockname()[:2]
    return RunningGateway(gateway, f"http://{host}:{port}", thread, server)

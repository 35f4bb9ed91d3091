"""RealtimeClient: the guide's WebSocketService for Python, safe to call from any thread.

A `socketio.AsyncClient` runs on its own asyncio loop in a daemon thread (`start()` …
`close()`). The sync
`socketio.Client` handles each message on a new thread and reorders events (DEVELOPERS.md); one
loop keeps them in arrival order. Every received event goes to the store first (the single
writer), then to subscribers; the events of a burst together (realtime.inbox).

Reconnection is ours rather than the library's so that the guide's schedule holds for first
connects too: quick attempts 1 s, 2 s, 4 s, 5 s, 5 s, then `connection_error`, then a slow retry
every 10 s for as long as the client lives (realtime.reconnect). The status says when the next try
is due; `reconnect_now()` cuts a wait short and can wait for the outcome.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import socketio

from realtime import protocol, stream_health
from realtime.catchup import CatchUp, catch_up, describe
from realtime.debug import fields
from realtime.inbox import Inbox
from realtime.options import ClientOptions
from realtime.reconnect import delay, pause, quietly
from realtime.store import ConnectionState, EventStore
from realtime.subscribers import Handler, Subscribers

log = logging.getLogger("bughunt.client")


class RealtimeClient:
    def __init__(self, store: EventStore, options: ClientOptions | None = None):
        self.store = store
        self.options = options or ClientOptions()
        self._lock = threading.Lock()
        self._subscribers = Subscribers()
        self._rooms: Counter[str] = Counter()
        self._refused: dict[str, str] = {}  # room → the gateway's reason; replaced, never mutated
        self._outbox: deque[tuple[str, Any]] = deque(maxlen=self.options.max_outbox)
        self._dropped = 0
        self._tried = 0  # connection attempts that failed, ever: reconnect_now waits for the next
        self._status = ConnectionState()
        self._connected = threading.Event()
        self._out: asyncio.Queue | None = None  # ordered emits of the live connection
        self._pending: list | None = None  # events held while a reconnect catches up
        self._inbox = Inbox(self._take)
        self._supervisor: asyncio.Task | None = None
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> RealtimeClient:
        """Start the loop thread; `connect` and `call` need it, `close` stops it."""
        if self._thread is None:
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=self._loop.run_forever, name="realtime-client", daemon=True)
            self._thread.start()
        return self

    # ---- public API (any thread) ---------------------------------------------------------

    @property
    def status(self) -> ConnectionState:
        return self._status

    def connect(self, url: str, auth: Any = None) -> None:
        """Start connecting in the background and return at once. `url` may name several
        gateways of one stream, comma separated: when one fails the client moves to the next and
        resumes there by seq."""
        self._call(self._start(url, auth))

    def wait_connected(self, timeout: float | None = None) -> bool:
        return self._connected.wait(timeout)

    def disconnect(self, timeout: float = 5.0) -> None:
        self._call(self._stop(), wait=timeout)

    def reconnect_now(self, wait: float = 0.0) -> ConnectionState:
        """Cut the current retry wait short. With `wait`, return once that attempt has connected or
        failed (or after `wait` s): the state to show the person who asked."""
        tried = self._tried
        if self._loop is not None:
            self._loop.call_soon_threadsafe(lambda: self._wake and self._wake.set())
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and not self._status.connected and self._tried == tried:
            time.sleep(0.05)
        return self._status

    def close(self) -> None:
        """Disconnect and stop the loop thread; the client cannot be used afterwards. Safe to
        call twice, or on a client never started."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            return
        self.disconnect()
        self._call(self._loop.shutdown_default_executor(), wait=5)  # its resolver threads too
        self._loop.call_soon_threadsafe(self._loop.stop)
        thread.join(5)
        if not thread.is_alive():
            self._loop.close()

    def on(self, event: str, handler: Handler) -> Callable[[], None]:
        """Subscribe; `'*'` handlers get (event, data). Returns the unsubscribe function."""
        return self._subscribers.on(event, handler)

    def send(self, event: str, data: Any = None, callback: Handler | None = None) -> str:
        """Emit now when connected ('sent'), else queue until reconnect ('queued')."""
        with self._lock:
            if self._out is not None:
                self._enqueue(event, data, callback)
                return "sent"
            if len(self._outbox) == self._outbox.maxlen:
                self._dropped += 1
            self._outbox.append((event, data))
        self._publish_status(queued=len(self._outbox), dropped=self._dropped)
        return "queued"

    def call(self, event: str, data: Any = None, timeout: float = 5.0) -> Any:
        """Emit and wait for the server's ack; never raises. Not from the client's own thread.
        Offline or unanswered, the answer is {"ok": False, "error": ...} like a refusal."""
        answer: concurrent.futures.Future = concurrent.futures.Future()

        def ack(*args: Any) -> None:
            if not answer.done():
                answer.set_result(args[0] if len(args) == 1 else list(args))

        with self._lock:
            if self._out is None:
                return {"ok": False, "error": "not connected to the gateway"}
            self._enqueue(event, data, ack)
        try:
            return answer.result(timeout)
        except concurrent.futures.TimeoutError:
            return {"ok": False, "error": f"no answer from the gateway within {timeout:g} s"}

    def join_room(self, room: str) -> None:
        """Join (reference-counted); rooms are re-joined after every reconnect."""
        with self._lock:
            self._rooms[room] += 1
            first = self._rooms[room] == 1
            if first and self._out is not None:
                self._enqueue("join_room", {"room": room}, self._room_ack(room))
        if first:
            self._publish_status()

    def leave_room(self, room: str) -> None:
        with self._lock:
            if self._rooms[room] <= 0:
                return
            self._rooms[room] -= 1
            last = self._rooms[room] == 0
            if last:
                del self._rooms[room]
                self._refused = {r: w for r, w in self._refused.items() if r != room}
                log.info(fields("left", room=room))
                if self._out is not None:
                    self._enqueue("leave_room", {"room": room}, None)
        if last:
            self._publish_status()

    @property
    def rooms(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(sorted(self._rooms))

    # ---- loop side -----------------------------------------------------------------------

    def _call(self, coro: Any, wait: float | None = None) -> Any:
        if self._thread is None:
            coro.close()
            raise RuntimeError("the client is not started: call start() first")
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(wait) if wait is not None else None

    def _enqueue(self, event: str, data: Any, callback: Handler | None) -> None:
        # Called under self._lock: the queue order is the order the callers saw.
        out = self._out
        self._loop.call_soon_threadsafe(out.put_nowait, (event, data, callback))

    async def _start(self, url: str, auth: Any) -> None:
        await self._stop()
        self._wake = asyncio.Event()
        self._publish_status(url=url, reason="connecting", attempts=0)
        self._supervisor = asyncio.create_task(self._supervise(url, auth))

    async def _stop(self) -> None:
        task, self._supervisor = self._supervisor, None
        if task is not None:
            task.cancel()
            await asyncio.wait([task], timeout=3)
            self._publish_status(connected=False, reason="client disconnect", since=time.time())

    async def _supervise(self, urls: str, auth: Any) -> None:
        gateways = [u.strip() for u in urls.split(",") if u.strip()] or [urls]
        retries = 0  # failed reconnect attempts in the current outage
        first = True
        for attempt in itertools.count():
            url = gateways[attempt % len(gateways)]  # failover: every attempt goes to the next gateway
            self._publish_status(url=url, trying=True, next_try=None)
            log.info(fields("connecting", url=url, attempt=retries + 1 if not first else 0))
            error = await self._session(url, auth)
            if error is None:
                retries = 0  # the link was up: a new outage starts a fresh schedule
            else:
                retries += not first
                self._tried += 1
                self._publish_status(connected=False, reason=error, attempts=retries, trying=False,
                                     since=self._status.since or time.time())
                if retries == self.options.reconnect_attempts:
                    self._subscribers.dispatch(protocol.CONNECTION_ERROR, {"error": error, "attempts": retries})
            first = False
            self._wake.clear()
            # The next gateway at once after a drop; the schedule's wait once a round has failed.
            wait = delay(self.options, retries + 1) if error is not None or len(gateways) == 1 else 0
            log.info(fields("reconnect scheduled", url=url, failed_attempts=retries, reason=error or "link dropped",
                            in_seconds=f"{wait:g}"))
            self._publish_status(trying=False, next_try=time.time() + wait)
            await pause(self._wake, wait)

    async def _session(self, url: str, auth: Any) -> str | None:
        """One connection: connect, run until it drops. Returns an error when it never came
        up, None when it was up and then dropped."""
        sio = socketio.AsyncClient(reconnection=False, logger=logging.getLogger("socketio.client"),
                                   engineio_logger=logging.getLogger("engineio.client"))
        closed = asyncio.Event()
        reason = "transport closed"

        async def on_disconnect(*args: Any) -> None:
            nonlocal reason
            reason = str(args[0]) if args else "server disconnect"
            closed.set()

        sio.on("*", self._receive)
        sio.on("disconnect", on_disconnect)
        opened = await self._open(sio, url, auth)
        if isinstance(opened, str):
            return opened
        out = self._go_live(*opened)
        log.info(fields("connected", url=url, rooms=",".join(sorted(self._rooms)) or "-",
                        catch_up=opened[0].note or "-"))
        sender = asyncio.create_task(self._drain(sio, out))
        try:
            await closed.wait()
        except asyncio.CancelledError:
            reason = "client disconnect"
            raise
        finally:
            await self._shut(sio, out, sender)
            self._inbox.flush()  # what came before the drop (the last of it during _shut), before the drop
            self._publish_status(connected=False, reason=reason, since=time.time(), queued=len(self._outbox))
            log.warning(fields("disconnected", url=url, reason=reason))
        return None

    async def _open(self, sio: socketio.AsyncClient, url: str, auth: Any) -> tuple[CatchUp, set[str]] | str:
        """Connect and catch up, holding live events until then: (how it caught up, the rooms the
        resume asked for), or why it failed."""
        refused: list[str] = []

        async def on_connect_error(data: Any = None) -> None:
            if isinstance(data, dict):  # the gateway's own reason, e.g. "token expired"
                detail = data.get("error") or (data.get("data") or {}).get("error") or data.get("message")
                refused.append(f"refused: {protocol.preview(detail, 200)}")

        sio.on("connect_error", on_connect_error)
        transports = [t.strip() for t in self.options.transports.split(",") if t.strip()]
        self._pending = []  # from the first event on, hold everything until we have caught up
        self._publish_status(stream=None)  # this gateway's word only
        try:
            async with asyncio.timeout(self.options.connect_timeout):  # (not wait_for: see reconnect.pause)
                await sio.connect(url, auth={**(auth or {}), "resume": True}, transports=transports,
                                  wait_timeout=self.options.connect_timeout)
            with self._lock:
                rooms = set(self._rooms)
            caught_up = await catch_up(sio, self.store, self.options, url, auth, rooms)
        except asyncio.CancelledError:
            self._pending = None
            await quietly(sio.disconnect())
            raise
        except Exception as exc:  # noqa: BLE001 - any failure is a failed attempt
            self._pending = None
            await quietly(sio.disconnect())
            return refused[0] if refused else describe(exc)
        if caught_up.refused is not None:
            with self._lock:
                self._refused = {r: why for r, why in caught_up.refused.items() if r in self._rooms}
        pending, self._pending = self._pending, None
        for event, args in pending:  # in arrival order, before anything newer
            self._take(event, args)
        return caught_up, rooms

    def _go_live(self, caught_up: CatchUp, rooms: set[str]) -> asyncio.Queue:
        """The live connection's send queue: rooms the resume did not cover first (joined
        meanwhile, or an old gateway), then what was sent while offline."""
        out: asyncio.Queue = asyncio.Queue()
        with self._lock:
            for room in self._rooms:
                if not caught_up.joined or room not in rooms:
                    out.put_nowait(("join_room", {"room": room}, self._room_ack(room)))
            for room in rooms - set(self._rooms) if caught_up.joined else ():
                out.put_nowait(("leave_room", {"room": room}, None))
            while self._outbox:
                out.put_nowait(self._outbox.popleft() + (None,))
            self._out = out
        self._connected.set()
        self._publish_status(connected=True, reason=None, attempts=0, since=time.time(), queued=0,
                             note=caught_up.note, trying=False, next_try=None, capabilities=caught_up.capabilities,
                             stream=stream_health.newer(self._status.stream, caught_up.stream))
        return out

    async def _shut(self, sio: socketio.AsyncClient, out: asyncio.Queue, sender: asyncio.Task) -> None:
        """The link is gone: keep unsent messages for the next one, close the socket."""
        with self._lock:
            self._out = None
        # Sends that saw the link up were scheduled with call_soon_threadsafe before _out
        # was cleared; one loop turn lands them in `out`, so none is lost.
        await asyncio.sleep(0)
        with self._lock:
            unsent = []
            while not out.empty():
                event, data, _ = out.get_nowait()
                if event not in ("join_room", "leave_room"):
                    unsent.append((event, data))
            self._outbox.extendleft(reversed(unsent))
        self._connected.clear()
        sender.cancel()
        await quietly(sio.disconnect())

    async def _drain(self, sio: socketio.AsyncClient, out: asyncio.Queue) -> None:
        while True:
            event, data, callback = await out.get()
            try:
                await sio.emit(event, data, callback=callback and self._inbox.after(callback))
            except Exception:  # noqa: BLE001 - the link is going; keep it for the next one
                with self._lock:
                    self._outbox.appendleft((event, data))
                return

    def _room_ack(self, room: str) -> Handler:
        def ack(reply: Any = None, *_: Any) -> None:
            if isinstance(reply, dict) and reply.get("ok") is False:
                why = protocol.preview(reply.get("error"), 200)
                log.warning(fields("join refused", room=room, reason=why))
                with self._lock:
                    self._refused = {**self._refused, room: why}
            else:
                log.info(fields("joined", room=room))
                with self._lock:
                    self._refused = {r: w for r, w in self._refused.items() if r != room}
            self._publish_status()
        return ack

    def _receive(self, event: str, *args: Any) -> bool | None:  # plain: no coroutine per event
        if event == protocol.BACKLOG_CHECK:
            return True  # the acknowledgement is the answer: everything before it has arrived
        if event == stream_health.STREAM_STATUS:  # the connection's state, not the stream's content
            self._inbox.flush()  # (told after what came before it)
            news = stream_health.read(args[0] if args else None)
            self._publish_status(stream=stream_health.newer(self._status.stream, news))
        elif self._pending is not None:
            self._pending.append((event, args))
        else:
            self._inbox.put(event, args)

    def _take(self, event: str, args: tuple) -> None:
        """One received event, in arrival order: to the store, then to subscribers."""
        data = args[0] if len(args) == 1 else (list(args) if args else None)
        parsed = self.store.apply(event, data)
        if parsed is None and event in protocol.SERVER_EVENTS:
            return  # rejected: it is in the store's rejected list, not for subscribers
        if self._subscribers.wanted(event):
            if parsed is not None:
                data = parsed.model_dump(exclude_none=True)
            self._subscribers.dispatch(event, data)

    def _publish_status(self, **changes: Any) -> None:
        with self._lock:
            changes.setdefault("rooms", tuple(sorted(self._rooms)))
            changes.setdefault("refused", tuple(sorted(self._refused.items())))
            old = self._status
            new = self._status = replace(old, **changes)
        if (old.connected, old.reason, old.attempts) != (new.connected, new.reason, new.attempts):
            line = "connected" if new.connected else f"disconnected: {new.reason}"
            self.store.set_connection(new, log=line)
            if old.connected != new.connected or not new.connected:
                payload = {"connected": new.connected}
                if new.reason:
                    payload["reason"] = new.reason
                self._subscribers.dispatch(protocol.CONNECTION_STATUS, payload)
        else:
            self.store.set_connection(new)

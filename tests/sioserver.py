"""A real python-socketio server on 127.0.0.1 for client tests, run by uvicorn in a thread.

It records what clients send and lets a test emit to everyone or to a room; it can be stopped
and started again on the same port to test reconnection.
"""
from __future__ import annotations

import asyncio
import socket
import threading
import time

import socketio
import uvicorn


def bind(port: int = 0) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


class SioServer:
    def __init__(self, port: int = 0):
        self.port = port
        self.received: list[tuple[str, str, object]] = []  # (sid, event, data)
        self.connects = 0
        self._thread: threading.Thread | None = None
        self._server: uvicorn.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _app(self) -> socketio.ASGIApp:
        sio = self.sio = socketio.AsyncServer(async_mode="asgi", logger=False)

        @sio.event
        async def connect(sid, environ, auth=None):
            self.connects += 1

        @sio.on("*")
        async def any_event(event, sid, data=None):
            self.received.append((sid, event, data))
            if event == "join_room":
                await sio.enter_room(sid, data["room"])
                return {"ok": True}
            if event == "leave_room":
                await sio.leave_room(sid, data["room"])
                return {"ok": True}
            if event == "start_scan":
                return {"ok": True}
            return {"ok": False, "error": f"unknown event {event}"}  # e.g. resume: a plain server

        return socketio.ASGIApp(sio)

    def start(self) -> SioServer:
        sock = bind(self.port)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self._app(), log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._loop = asyncio.new_event_loop()

        def run():
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._server.serve(sockets=[sock]))
            # engine.io leaves per-socket tasks behind; end them so nothing leaks into later tests
            pending = asyncio.all_tasks(self._loop)
            for task in pending:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self._loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        deadline = time.time() + 10
        while not self._server.started and time.time() < deadline:
            time.sleep(0.01)
        assert self._server.started, "test server did not start"
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._server.force_exit = True
        self._thread.join(10)

    def run(self, coro, timeout: float = 10):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def emit(self, event: str, data=None, to: str | None = None) -> None:
        self.run(self.sio.emit(event, data, to=to))

    def rooms_of_all(self) -> set[str]:
        """Rooms any connected client is in (besides its own sid room)."""
        rooms = self.sio.manager.rooms.get("/", {})
        return {r for r, members in rooms.items() if r and members and r not in members}

    def joins(self, event: str = "join_room") -> list[str]:
        return [d["room"] for _, e, d in self.received if e == event]

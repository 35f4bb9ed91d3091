"""A test viewer: a socketio.AsyncClient run on its own loop thread, recording what it gets."""
from __future__ import annotations

import asyncio
import logging
import threading

import socketio


class Viewer:
    def __init__(self, url: str, auth=None):
        self.events: list[tuple[str, object]] = []
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, daemon=True).start()
        # Logger objects, as realtime.client passes: with none python-socketio sets its loggers'
        # levels, which would keep debug mode's library logs quiet in later tests of this process.
        self.sio = socketio.AsyncClient(reconnection=False, logger=logging.getLogger("socketio.client"),
                                        engineio_logger=logging.getLogger("engineio.client"))

        @self.sio.on("*")
        async def record(event, data=None):
            self.events.append((event, data))

        self.refusal = None

        @self.sio.on("connect_error")
        async def refused(data=None):
            self.refusal = data

        self._run(self.sio.connect(url, auth=auth, transports=["websocket"]))

    def _run(self, coro, timeout=10):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def call(self, event, data=None):
        return self._run(self.sio.call(event, data, timeout=5))

    def burst(self, event, data, count):
        """`count` calls sent at once (a flood does not wait for acks), with their answers."""
        async def flood():
            return await asyncio.gather(*(self.sio.call(event, data, timeout=5) for _ in range(count)),
                                        return_exceptions=True)

        return self._run(flood())

    def of(self, event):
        return [d for e, d in self.events if e == event]

    @property
    def connected(self):
        return self.sio.connected

    def close(self):
        self._run(self.sio.disconnect())
        self._loop.call_soon_threadsafe(self._loop.stop)

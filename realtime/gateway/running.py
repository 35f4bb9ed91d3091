"""Serving a gateway: binding its socket, and running it in a thread of this process (the
dashboard's demo mode). `python -m realtime.gateway` (__main__) serves it in the foreground."""
from __future__ import annotations

import asyncio
import socket
import threading
import time

import uvicorn

from realtime.gateway.server import Gateway
from realtime.options import GatewayOptions


def bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit this: without it a response's header and body writes wait on
    # the client's delayed ACK (~40 ms per keep-alive request).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


class RunningGateway:
    """A gateway served by uvicorn on its own thread and event loop. The constructor starts
    nothing; `start()` binds and serves, `stop()` shuts down and joins the thread."""

    def __init__(self, options: GatewayOptions, secret: str | None = None):
        self.gateway = Gateway(options, secret)
        self.url: str | None = None
        self._thread: threading.Thread | None = None
        self._server: uvicorn.Server | None = None
        self._socket: socket.socket | None = None

    def start(self, timeout: float = 15) -> RunningGateway:
        options = self.gateway.options
        self._socket = sock = bind(options.host, options.port)
        self._server = server = self.gateway.server()
        self._thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])),
                                        name="bughunt-gateway", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not server.started:
            self.stop()
            raise RuntimeError("the gateway did not start")
        host, port = sock.getsockname()[:2]
        self.url = f"http://{host}:{port}"
        return self

    def stop(self, timeout: float = 10) -> None:
        if self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout)
            self._thread = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def start_in_thread(options: GatewayOptions, secret: str | None = None) -> RunningGateway:
    """Run a gateway in a thread of this process until its `stop()`."""
    return RunningGateway(options, secret).start()

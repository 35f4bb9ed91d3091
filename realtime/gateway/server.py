"""Gateway: the composition root wiring the gateway's parts.

Every event, whatever its source (HTTP, the demo engine, a scan launcher, another gateway via
Redis), goes through the stream (realtime.gateway.stream): validated, given the next `seq`,
applied to this gateway's own EventStore (served at /api/state) and sent to its audience.

    sessions.py   what is known of each socket; connection and rate limits
    namespace.py  the Socket.IO handlers (connect, resume, join_room, start_scan, ...)
    api.py        the HTTP API (healthz, state, publishing)
    metrics.py    metrics_update from the store
    running.py    binding a socket, serving in a thread of this process

The constructor builds the parts and starts nothing; `start()`/`stop()` (run by the ASGI
lifespan) start and stop the stream, the metrics and the scan launcher.
"""
from __future__ import annotations

import contextlib
import importlib
import logging
from typing import Any

import socketio
import uvicorn
from starlette.applications import Starlette

from realtime import protocol
from realtime.auth import for_gateway, is_loopback
from realtime.gateway.api import HttpApi
from realtime.gateway.backlog import Backlog
from realtime.gateway.limits import depth_limited, limit_packets
from realtime.gateway.local_stream import LocalStream
from realtime.gateway.metrics import Metrics
from realtime.gateway.namespace import GatewayNamespace, ScanLauncher
from realtime.gateway.origins import Origins
from realtime.gateway.redis_stream import RedisStream
from realtime.gateway.scans import ScanStarts
from realtime.gateway.sessions import Sessions
from realtime.gateway.triage import Triages
from realtime.options import GatewayOptions
from realtime.store import EventStore
from realtime.stream_health import STREAM_STATUS

log = logging.getLogger("bughunt.gateway")


class Gateway:
    def __init__(self, options: GatewayOptions | None = None, secret: str | None = None):
        """`secret`: the token secret when the caller has one (the dashboard's demo gateway);
        otherwise BUGHUNT_SECRET or --secret-file, or none (open mode)."""
        self.options = options = options or GatewayOptions()
        self.auth = for_gateway(options, secret)
        self.store = EventStore()
        self.origins = Origins(options.cors_origins, self.auth.open_mode)
        self.sio = socketio.AsyncServer(
            async_mode="asgi", cors_allowed_origins=self.origins.allowed, **depth_limited(options.max_depth),
            max_http_buffer_size=options.max_body_bytes,
            # Logger objects (not True/False) leave their levels to realtime.debug.
            logger=logging.getLogger("socketio.server"), engineio_logger=logging.getLogger("engineio.server"))
        limit_packets(self.sio, options.max_depth)
        self.stream = (RedisStream if options.redis_url else LocalStream)(options, self.store, self.sio.emit)
        self.sessions = Sessions(options)
        if isinstance(self.stream, RedisStream):
            self.stream.on_new_epoch = self.resync_clients
        self.stream.on_health = lambda status: self.sio.emit(STREAM_STATUS, status)  # every socket, every room
        self.launcher = self._launcher()
        self.scan_starts = ScanStarts(options, self.store, demo=options.demo)
        self.triages = Triages(options, self.stream)
        self.sio.register_namespace(GatewayNamespace(options, self.auth, self.sessions, self.stream, self.launcher,
                                                     self.scan_starts, self.triages))
        self.api = HttpApi(options, self.auth, self.stream, self.sessions, self.mode, self.origins, self.triages)
        self.metrics = Metrics(self.stream, self.publish, options.metrics_interval)
        self.backlog = Backlog(options, self.sessions, self.stream, self.sio.emit, self.sio.disconnect)
        http = Starlette(routes=self.api.routes(), lifespan=self._lifespan)
        self.app = socketio.ASGIApp(self.sio, other_asgi_app=http)

    def _launcher(self) -> ScanLauncher | None:
        if self.options.demo:
            from realtime.gateway.demo import DemoEngine
            return DemoEngine(self)
        if self.options.launcher:
            module, _, attr = self.options.launcher.partition(":")
            return getattr(importlib.import_module(module), attr)(self)
        return None

    @property
    def mode(self) -> str:
        return "demo" if self.options.demo else self.stream.mode

    @property
    def clients(self) -> int:
        return len(self.sessions)

    async def publish(self, event: str, data: Any) -> None:
        """Validate (raises protocol.InvalidEvent) and put an event on the stream; returns once it
        is delivered (raises StreamUnavailable when it cannot be now). Waits when the stream is
        full, so a fast producer is slowed rather than dropped."""
        await (await self.stream.submit(event, protocol.wire(event, data)))

    async def resync_clients(self) -> None:
        """The stream is another one now (Redis lost its data): disconnect every socket, so each
        client comes back, finds its epoch gone and loads the state afresh."""
        for sid in self.sessions.sids():
            await self.sio.disconnect(sid)

    async def start(self) -> None:
        await self.stream.start()
        await self.metrics.start()
        await self.backlog.start()
        if hasattr(self.launcher, "start"):
            await self.launcher.start()
        log.info("gateway up (%s mode); %s", self.mode,
                 "open mode, loopback only: no secret configured" if self.auth.open_mode
                 else "viewer and producer tokens required")
        if self.auth.open_mode and not is_loopback(self.options.host):
            log.warning("open mode (no secret) listening on %s: anything that forwards to this address makes "
                        "the gateway public; set BUGHUNT_SECRET", self.options.host)

    async def stop(self) -> None:
        if hasattr(self.launcher, "stop"):
            await self.launcher.stop()
        await self.backlog.stop()
        await self.metrics.stop()
        await self.stream.stop()

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Any):
        await self.start()
        try:
            yield
        finally:
            await self.stop()

    def server(self) -> uvicorn.Server:
        # Proxy headers only from the proxies a setting lists: uvicorn's default believes
        # X-Forwarded-For from loopback (or from FORWARDED_ALLOW_IPS), which would let any local
        # forwarder's client pick the address open mode and the per-address limits judge.
        proxies = self.options.trusted_proxies.strip()
        return uvicorn.Server(uvicorn.Config(self.app, log_level="warning", lifespan="on",
                                             proxy_headers=bool(proxies), forwarded_allow_ips=proxies or None))

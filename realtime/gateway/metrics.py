"""Metrics: a `metrics_update` from the gateway's store every `--metrics-interval` seconds when
the metrics changed. With several gateways on one stream only the one holding a short lease
emits, so clients do not get one copy per gateway."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from realtime.gateway.stream import Stream, periodically, stop_task

LEASE_INTERVALS = 3  # a lease outlives a few missed ticks, so the emitting gateway rarely changes


class Metrics:
    def __init__(self, stream: Stream, publish: Callable[[str, Any], Awaitable[None]], interval: float):
        self.stream, self.publish, self.interval = stream, publish, interval
        self._task: asyncio.Task | None = None
        self._last: dict | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(periodically(self.interval, self.tick, "metrics update"),
                                         name="bughunt-metrics")

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None

    async def tick(self) -> None:
        metrics = self.stream.store.derived_metrics()
        if metrics != self._last and await self.stream.lease("metrics", self.interval * LEASE_INTERVALS):
            await self.publish("metrics_update", metrics)
            self._last = metrics

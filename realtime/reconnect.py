"""The client's reconnection schedule: quick attempts doubling up to a cap, then a slow retry
that is itself capped (BUGHUNT_SLOW_RETRY, 10 s), so a gateway that is back is noticed within
seconds; each wait can be cut short (*Reconnect now*)."""
from __future__ import annotations

import asyncio
from typing import Any

from realtime.options import ClientOptions


def delay(options: ClientOptions, attempt: int) -> float:
    """Wait before reconnect attempt `attempt` (1-based): 1, 2, 4, 5, 5 s, then every `slow_retry` s."""
    if attempt > options.reconnect_attempts:
        return options.slow_retry
    return min(options.reconnect_delay * 2 ** (attempt - 1), options.reconnect_delay_max)


async def pause(wake: asyncio.Event, seconds: float) -> None:
    """Wait `seconds`, or until `wake` is set (a timeout block, not 3.11's wait_for: that can
    swallow a cancel landing as the event is set, and the client would not stop)."""
    try:
        async with asyncio.timeout(seconds):
            await wake.wait()
    except TimeoutError:
        pass


async def quietly(coro: Any, timeout: float = 2.0) -> None:
    """Best-effort cleanup of a dead or half-made connection, bounded in time."""
    try:
        async with asyncio.timeout(timeout):
            await coro
    except Exception:  # noqa: BLE001 - includes the timeout
        pass

"""Settings with defaults and help text, one dataclass per part (the Flower options model).

Every field names its environment variable; README's settings table is checked against these
by a test, so the two cannot drift.
"""
from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


def setting(default: Any, env: str, help: str) -> Any:
    return field(default=default, metadata={"env": env, "help": help})


@dataclass(frozen=True)
class StoreOptions:
    max_events: int = setting(5_000, "BUGHUNT_MAX_EVENTS", "Events kept in the live event log.")
    max_notifications: int = setting(
        1_000, "BUGHUNT_MAX_NOTIFICATIONS", "Notifications kept (oldest dropped first).")
    max_findings: int = setting(
        100_000, "BUGHUNT_MAX_FINDINGS", "Findings kept (oldest dropped first).")
    max_scans: int = setting(
        10_000, "BUGHUNT_MAX_SCANS", "Scans kept; finished scans are dropped before running ones.")
    max_history: int = setting(
        500, "BUGHUNT_MAX_HISTORY", "Progress points kept per scan (older ones are thinned out).")
    max_rejected: int = setting(
        500, "BUGHUNT_MAX_REJECTED", "Rejected events kept, with their reasons.")


@dataclass(frozen=True)
class ClientOptions:
    reconnect_delay: float = setting(
        1.0, "BUGHUNT_RECONNECT_DELAY", "First reconnect delay in seconds; doubles per attempt.")
    reconnect_delay_max: float = setting(
        5.0, "BUGHUNT_RECONNECT_DELAY_MAX", "Longest delay between quick reconnect attempts.")
    reconnect_attempts: int = setting(
        5, "BUGHUNT_RECONNECT_ATTEMPTS",
        "Quick reconnect attempts before `connection_error`; then retries go on slowly.")
    slow_retry: float = setting(
        30.0, "BUGHUNT_SLOW_RETRY", "Seconds between retries once the quick attempts ran out.")
    connect_timeout: float = setting(
        10.0, "BUGHUNT_CONNECT_TIMEOUT", "Seconds one connection attempt may take.")
    max_outbox: int = setting(
        1_000, "BUGHUNT_MAX_OUTBOX", "Sends queued while offline (oldest dropped first).")
    transports: str = setting(
        "websocket", "BUGHUNT_WS_TRANSPORTS",
        "Engine.IO transports, comma separated: `websocket`, or `polling,websocket` behind proxies "
        "without WebSocket support.")


def _cast(kind: Any, raw: str) -> Any:
    return {"int": int, "float": float, "str": str}[kind if isinstance(kind, str) else kind.__name__](raw)


def from_env(cls: type[T], env: Mapping[str, str] | None = None, **overrides: Any) -> T:
    """Build `cls` from its defaults, the environment, then explicit overrides (in that order)."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        raw = env.get(f.metadata["env"])
        if raw not in (None, ""):
            try:
                values[f.name] = _cast(f.type, raw)
            except ValueError:
                raise ValueError(f"{f.metadata['env']}={raw!r}: expected {f.type}") from None
    values.update(overrides)
    return cls(**values)


def documented() -> list[tuple[str, Any, str]]:
    """(env var, default, help) of every setting, for README and --help."""
    return [
        (f.metadata["env"], f.default, f.metadata["help"])
        for cls in (StoreOptions, ClientOptions)
        for f in dataclasses.fields(cls)
    ]


def markdown_table() -> str:
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    rows += [f"| `{env}` | `{default}` | {help} |" for env, default, help in documented()]
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())

"""Whether a gateway's stream can take events, as the gateway tells its clients.

A gateway whose Redis is down answers every producer 503: nothing can arrive, though its sockets
are up. A dashboard that only says "Connected" then lies by omission, so the gateway says it:
the `stream_status` event (to every socket, when it changes) and the `stream` field of `resume`'s
answer carry `{"ok", "since", "error"?}` (docs/protocol.md, "Stream status").
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any

STREAM_STATUS = "stream_status"  # the gateway's own event, not on the seq stream


def health(down: tuple[float, str] | None, since: float) -> dict[str, Any]:
    """The wire form: ok since `since`, or down since `down[0]` because of `down[1]`."""
    if down is None:
        return {"ok": True, "since": iso(since)}
    return {"ok": False, "since": iso(down[0]), "error": down[1]}


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def read(value: Any) -> dict[str, Any] | None:
    """A status from the wire, checked (untrusted): {"ok", "since" (epoch seconds), "error"}, or None."""
    if not isinstance(value, Mapping) or not isinstance(value.get("ok"), bool):
        return None
    try:
        since = datetime.fromisoformat(str(value.get("since"))).timestamp()
    except ValueError:
        since = 0.0
    error = value.get("error")
    return {"ok": value["ok"], "since": since, "error": str(error)[:300] if error is not None else None}


def newer(current: Mapping[str, Any] | None, news: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The later of two statuses by `since` (a status event and resume's answer may cross)."""
    if news is None:
        return current
    if current is None or news["since"] >= current["since"]:
        return news
    return current


def down_text(status: Mapping[str, Any] | None, zone: tzinfo = UTC, shown: Callable[[str], str] = str) -> str | None:
    """What the connection panel adds while the gateway cannot take events, else None; `shown`
    renders the gateway's error text (e.g. `literal` for markdown: the clock is ours, that is not)."""
    if not status or status["ok"]:
        return None
    # Imported here: the gateway imports this module, and realtime.views brings the pages' code with it.
    from realtime.views.times import clock

    at = clock(status["since"], zone) if status["since"] else "?"  # the date too: it may be down for days
    why = f" ({shown(status['error'])})" if status.get("error") else ""
    return (f"Connected to the gateway — it cannot receive events: its Redis stream is down since {at}{why}. "
            "Producers get 503 and retry; nothing new arrives until it is back.")

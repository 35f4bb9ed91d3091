"""Fields a payload carries that the catalogue does not know: never dropped silently.

A producer newer than its gateway may send fields this gateway does not know yet, so they are
not refused (that would break every scanner upgrade against an older gateway, and lose the whole
batch); but a misspelt field (`cve_id` for `cve`) must not vanish either. So the gateway names
them: in the answer (`ignored` of POST /api/events' 202, `ignored_fields` of a socket request's
ack) and, once per producer, event and fields a while, in a warning notification every dashboard
shows (docs/protocol.md, "Unknown fields").
"""
from __future__ import annotations

import difflib
import time
from collections import OrderedDict
from functools import cache
from typing import Any

from pydantic import AliasChoices, BaseModel

from realtime import protocol

MAX_NAMED = 10  # fields named per item: a hostile payload may carry thousands


@cache
def known(model: type[BaseModel]) -> frozenset[str]:
    """Every name the model accepts: its fields and their aliases."""
    names = set(model.model_fields)
    for field in model.model_fields.values():
        alias = field.validation_alias
        choices = alias.choices if isinstance(alias, AliasChoices) else [alias]
        names.update(c for c in choices if isinstance(c, str))
    return frozenset(names)


def strange(model: type[BaseModel] | None, payload: Any) -> list[str]:
    """The top-level fields of `payload` that `model` does not know."""
    if model is None or not isinstance(payload, dict):
        return []
    names = known(model)
    return [str(key) for key in payload if key not in names]


def unknown(model: type[BaseModel] | None, payload: Any, hints: dict | None = None) -> list[str]:
    """The fields `model` does not know, at most MAX_NAMED, each with the known name it is probably
    a misspelling of ("cve_id (did you mean cve?)") while `hints` (shared by a batch) has room."""
    hints = {} if hints is None else hints
    found = strange(model, payload)
    named = [label(name, model, hints) for name in found[:MAX_NAMED]]
    return named + ([f"… {len(found) - MAX_NAMED} more"] if len(found) > MAX_NAMED else [])


HINTED_LENGTH = 64  # longer names are no misspelling of ours, and comparing them costs
HINTS = 50  # distinct names a batch compares with the catalogue (~0.5 ms each): a batch of 1,000
# items, each with other unknown names, must not hold the gateway's loop for seconds


def label(name: str, model: type[BaseModel], hints: dict) -> str:
    if (model, name) not in hints and len(hints) < HINTS and len(name) <= HINTED_LENGTH:
        close = difflib.get_close_matches(name, sorted(known(model)), n=1, cutoff=0.6)
        hints[model, name] = f" (did you mean {close[0]}?)" if close else ""
    return protocol.preview(name, HINTED_LENGTH) + hints.get((model, name), "")


def of_event(event: str, payload: Any) -> list[str]:
    return unknown(protocol.SERVER_EVENTS.get(event), payload)


def of_request(event: str, payload: Any) -> list[str]:
    return unknown(protocol.CLIENT_EVENTS.get(event), payload)


def in_batch(items: list) -> list[dict]:
    """`{"index", "event", "fields"}` for each item of a valid batch that carries unknown fields."""
    ignored: list[dict] = []
    hints: dict = {}
    for index, item in enumerate(items):
        if fields := unknown(protocol.SERVER_EVENTS.get(item["event"]), item.get("data"), hints):
            ignored.append({"index": index, "event": item["event"], "fields": fields})
    return ignored


class Reported:
    """Which (producer, event, fields) were told to dashboards lately: each once per `seconds`,
    at most `limit` remembered (the oldest forgotten first), so a scanner repeating a misspelling
    in every finding makes one notification, not thousands."""

    def __init__(self, seconds: float = 3600.0, limit: int = 1000):
        self.seconds, self.limit = seconds, limit
        self._at: OrderedDict[Any, float] = OrderedDict()

    def first(self, key: Any, now: float | None = None) -> bool:
        """Whether `key` is news (and remember it)."""
        now = time.time() if now is None else now
        if (at := self._at.get(key)) is not None and now - at < self.seconds:
            return False
        self._at[key] = now
        self._at.move_to_end(key)
        while len(self._at) > self.limit:
            self._at.popitem(last=False)
        return True


def notification(producer: str, ignored: list[dict]) -> dict:
    """The warning every dashboard shows for a batch's unknown fields."""
    parts = sorted({f"{item['event']}: {', '.join(item['fields'])}" for item in ignored})
    return {"type": "warning", "title": "Unknown fields ignored",
            "message": protocol.preview(f"{producer} sent fields this gateway does not know; they were dropped, the "
                                        f"rest was accepted — {'; '.join(parts)}", 2000)}

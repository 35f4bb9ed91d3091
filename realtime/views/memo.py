"""Derived data shared by every viewer of one snapshot."""
from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from typing import Any

from realtime.models import Snapshot

_memo: OrderedDict[tuple, tuple[Snapshot, Any]] = OrderedDict()


_memo_lock = threading.Lock()


def per_snapshot(fn):
    """Memoise fn(snapshot, *args) for as long as the snapshot is current (bounded LRU)."""

    @functools.wraps(fn)
    def wrapper(snap: Snapshot, *args: Any) -> Any:
        key = (fn.__name__, args)
        with _memo_lock:
            hit = _memo.get(key)
            if hit is not None and hit[0] is snap:
                _memo.move_to_end(key)
                return hit[1]
        value = fn(snap, *args)
        with _memo_lock:
            _memo[key] = (snap, value)
            while len(_memo) > 256:
                _memo.popitem(last=False)
        return value

    return wrapper

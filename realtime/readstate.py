"""Read flags per viewer: which notifications each person has read (their signed-in user, else
their browser's local id). One person's *Mark all as read* clears their count, not everyone's.

Flags are remembered in the journal (its `viewer_reads` table) and loaded when a viewer comes
back, so they survive a restart; in memory, the `max_viewers` most recent viewers are kept, each
with the ids of notifications the store still holds."""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from realtime.models import Notification, Snapshot


class ReadState:
    def __init__(self, journal: Any = None, max_viewers: int = 1000):
        self.journal = journal
        self.max_viewers = max_viewers
        self.on_mark: Callable[[], None] | None = None  # called after a viewer's flags changed
        self._lock = threading.Lock()
        self._viewers: OrderedDict[str, frozenset[str]] = OrderedDict()

    def read_ids(self, viewer: str) -> frozenset[str]:
        """The ids `viewer` has read (loaded from the journal the first time)."""
        with self._lock:
            ids = self._viewers.get(viewer)
            if ids is not None:
                self._viewers.move_to_end(viewer)
                return ids
        ids = frozenset(self.journal.read_ids(viewer)) if self.journal is not None else frozenset()
        with self._lock:
            return self._keep(viewer, self._viewers.get(viewer, ids))

    def _keep(self, viewer: str, ids: frozenset[str]) -> frozenset[str]:
        self._viewers[viewer] = ids
        self._viewers.move_to_end(viewer)
        while len(self._viewers) > self.max_viewers:
            self._viewers.popitem(last=False)
        return ids

    def is_read(self, note: Notification, viewer: str) -> bool:
        """Read by this viewer (or by everyone, a flag from before flags were per viewer)."""
        return note.read or note.id in self.read_ids(viewer)

    def unread(self, snap: Snapshot, viewer: str) -> int:
        read = self.read_ids(viewer)
        return sum(not (n.read or n.id in read) for n in snap.notifications)

    def mark(self, viewer: str, ids: Iterable[str], snap: Snapshot) -> int:
        """Mark `ids` read for `viewer`; returns how many were unread. Returns once the journal
        has committed them: what a click did survives a restart right after it."""
        held = {n.id for n in snap.notifications}
        before = self.read_ids(viewer)
        new = [nid for nid in dict.fromkeys(ids) if nid in held and nid not in before]
        if not new:
            return 0
        with self._lock:  # ids of notifications the store dropped are forgotten here
            self._keep(viewer, frozenset(nid for nid in self._viewers.get(viewer, before) if nid in held) | set(new))
        if self.journal is not None and self.journal.failure is None:
            self.journal.mark_read(new, viewer)  # committed when it returns
        if self.on_mark is not None:
            self.on_mark()
        return len(new)

    def hand_over(self, old: str, new: str, snap: Snapshot) -> int:
        """`new` (a browser's id, come a moment after the tab's first run) gets what `old` (that
        tab's own id) marked read meanwhile: a click before the id came is not lost."""
        return self.mark(new, self.read_ids(old), snap) if old != new else 0

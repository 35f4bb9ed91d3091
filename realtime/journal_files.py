"""Where a dashboard's journal lives, and opening it whatever state it is in.

Each gateway URL has its own journal file (`{gateway}` in BUGHUNT_JOURNAL), and a journal
remembers the gateway whose stream it holds, so two dashboards on one machine never mix. A
journal that cannot be read (corrupt, truncated, not a database) or that holds another
gateway's stream is moved aside with a message naming the file, the error and BUGHUNT_JOURNAL;
the dashboard starts anyway (without a journal if even that fails)."""
from __future__ import annotations

import hashlib
import logging
import os
import re
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from realtime.journal import Journal, OtherStream
from realtime.options import JournalOptions

log = logging.getLogger("bughunt.journal")
DEMO = "demo"  # the gateway name of demo mode (its own gateway inside the app)
HOW = "BUGHUNT_JOURNAL chooses the file (`:memory:` runs without one)"


def gateway_name(url: str) -> str:
    """A file-name-safe name for a gateway URL: readable, and distinct for distinct URLs."""
    if not url:
        return DEMO
    parts = urlsplit(url)
    readable = re.sub(r"[^A-Za-z0-9.-]+", "_", parts.netloc + parts.path).strip("_")[:60]
    return f"{readable}-{hashlib.sha1(url.encode()).hexdigest()[:8]}"


def journal_path(template: str, url: str) -> str:
    """BUGHUNT_JOURNAL with `{gateway}` made the gateway's name."""
    return template.replace("{gateway}", gateway_name(url))


@dataclass
class Opened:
    journal: Journal | None
    store: Any
    notice: str | None = None  # what happened to a journal that could not be used
    replayed: int = 0


def open_replayed(path: str, options: JournalOptions, url: str, make_store: Callable[[Journal | None], Any]) -> Opened:
    """The journal at `path` for the gateway `url`, and a store (`make_store(journal)`) replayed
    from it; a journal that cannot be used is moved aside and a fresh one started."""
    if path == ":memory:":
        return Opened(None, make_store(None))
    path = os.path.expanduser(path)  # the default lives under `~`: moving it aside needs the real name
    try:
        return _replayed(path, options, url, make_store)
    except (sqlite3.Error, OSError, OtherStream) as exc:
        problem = f"The journal {path} could not be used ({exc})"
    try:
        aside = move_aside(path)
        opened = _replayed(path, options, url, make_store)
    except (sqlite3.Error, OSError) as exc:
        notice = (f"{problem}, nor replaced ({exc}): running without a journal, so a restart starts "
                  f"empty. {HOW}.")
        log.error(notice)
        return Opened(None, make_store(None), notice)
    opened.notice = f"{problem}: moved it to {aside} and started a new one. {HOW}."
    log.error(opened.notice)
    return opened


def _replayed(path: str, options: JournalOptions, url: str, make_store: Callable[[Journal | None], Any]) -> Opened:
    journal = None
    try:
        journal = Journal(path, options)
        journal.bind(url or DEMO)
        store = make_store(journal)
        count = journal.replay(store)
    except BaseException:
        if journal is not None:
            journal.close()
        raise
    return Opened(journal, store, replayed=count)


def move_aside(path: str) -> str:
    """Rename the journal (and its WAL files) to `<path>.aside-<time>`; returns the new name."""
    aside = f"{path}.aside-{time.strftime('%Y%m%dT%H%M%S')}"
    for suffix in ("-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.replace(path + suffix, aside + suffix)
    if os.path.exists(path):
        os.replace(path, aside)
    return aside

"""Debug mode: the Python version of the guide's `localStorage.debug = 'socket.io-client:*'`.

`BUGHUNT_DEBUG=1` (or an admin's toggle on the Live events page) turns on the socket.io / engine.io
logs and our own structured logs (connects, reconnect attempts, rooms joined or refused, events
rejected and why). They go to stderr and to a bounded in-memory list the Live events page shows.
Off, our loggers follow the process's logging setup and the libraries say only errors.
"""
from __future__ import annotations

import logging
import re
import sys
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from realtime.options import DebugOptions

OURS = "bughunt"
# engine.io logs whole packets, the connect packet's token included: never let a token out.
TOKEN_RE = re.compile(r"eyJ[\w-]*\.[\w-]*\.[\w-]*|(?<=Bearer )\S+")
LIBRARIES = ("socketio", "engineio")
# Their clients and servers set these to ERROR when first made, so the parents' level alone is not heard.
LIBRARY_PARTS = tuple(f"{name}{part}" for name in LIBRARIES for part in ("", ".client", ".server"))


@dataclass(frozen=True, slots=True)
class Line:
    at: float
    level: str
    source: str
    message: str


class _Redact(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not break logging
            message = str(record.msg)
        record.msg, record.args = TOKEN_RE.sub("[token]", message), ()
        return True


class _Stderr(logging.StreamHandler):
    """stderr as it is when a line is written (it may have been replaced since start)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


class _Recorder(logging.Handler):
    """Keeps the newest log lines in memory (a deque: bounded however long it runs)."""

    def __init__(self, size: int):
        super().__init__(logging.DEBUG)
        self.addFilter(_Redact())
        self.lines: deque[Line] = deque(maxlen=size)

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(Line(record.created, record.levelname, record.name, record.getMessage()))


_lock = threading.Lock()
_recorder = _Recorder(DebugOptions().debug_lines)
_stderr = _Stderr()
_stderr.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
_stderr.addFilter(_Redact())
_on = False


def configure(options: DebugOptions) -> None:
    """Apply the debug settings (once at start; `enable` switches later)."""
    with _recorder.lock:  # logging.Handler's own lock: emit() holds it while it appends
        if _recorder.lines.maxlen != options.debug_lines:
            _recorder.lines = deque(_recorder.lines, maxlen=options.debug_lines)
    enable(options.debug)


def enable(on: bool) -> None:
    """Switch debug mode for the whole process."""
    global _on
    with _lock:
        _on = on
        ours = logging.getLogger(OURS)
        ours.setLevel(logging.DEBUG if on else logging.NOTSET)
        for name in LIBRARY_PARTS:
            logging.getLogger(name).setLevel(logging.INFO if on else logging.ERROR)
        for name in (OURS, *LIBRARIES):
            logger = logging.getLogger(name)
            for handler in (_recorder, _stderr):
                if on and handler not in logger.handlers:
                    logger.addHandler(handler)
                elif not on and handler in logger.handlers:
                    logger.removeHandler(handler)
        # Our own stderr handler replaces the root's while on: one line per record, not two.
        ours.propagate = not on
    logging.getLogger(OURS + ".debug").info("debug mode %s", "on" if on else "off")


def enabled() -> bool:
    return _on


def lines() -> list[Line]:
    """The recorded lines, oldest first (copied under the lock logging threads append with)."""
    with _recorder.lock:
        return list(_recorder.lines)


def fields(what: str, **values: Any) -> str:
    """A structured log line: `what key=value …`, values quoted when they hold spaces."""
    parts = [what]
    for key, value in values.items():
        text = str(value)
        plain = text and not any(c.isspace() or c in "'\"=" for c in text)
        parts.append(f"{key}={text}" if plain else f"{key}={text!r}")
    return " ".join(parts)

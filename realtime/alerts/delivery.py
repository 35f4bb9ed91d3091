"""Sending: one thread per destination takes its oldest pending alert from the delivery log and
sends it through Apprise; a failure is retried with backoff (later alerts to that destination
wait, keeping the order), then recorded as failed. A destination that starts failing is told to
every dashboard once, by a `notification` (warning) published to the gateway, and again when it
works again. Apprise's own log lines can quote URLs, so they never reach our logs or stderr:
they are captured per thread and redacted into the recorded reason."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from realtime.alerts.engine import OWN_NOTIFICATION
from realtime.alerts.lease import Lease
from realtime.alerts.rules import Destination
from realtime.alerts.state import Outbox, connect
from realtime.debug import fields

log = logging.getLogger("bughunt.alerts")
Deliver = Callable[[Destination, str, str, str, str], str | None]  # → None when sent, else why not


class _ThreadCapture(logging.Handler):
    """Apprise's warnings, kept per thread so each sender reads only its own."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.local = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        lines = getattr(self.local, "lines", None)
        if lines is not None:
            lines.append(record.getMessage())


_capture = _ThreadCapture()
_apprise_log = logging.getLogger("apprise")
_apprise_log.addHandler(_capture)
_apprise_log.propagate = False  # its messages may hold secrets


def redact(text: str, destination: Destination) -> str:
    for secret in destination.secrets():
        text = text.replace(secret, "***")
    return text


def apprise_deliver(destination: Destination, title: str, body: str, fmt: str, notify_type: str) -> str | None:
    import apprise

    box = apprise.Apprise()
    box.add(destination.url)
    _capture.local.lines = []
    try:
        ok = box.notify(body=body, title=title, body_format=fmt, notify_type=notify_type)
    except Exception as exc:  # noqa: BLE001 - a plugin error is a failed delivery, not a crash
        ok, _capture.local.lines = False, [*_capture.local.lines, type(exc).__name__]
    lines, _capture.local.lines = _capture.local.lines, None
    if ok:
        return None
    return redact("; ".join(dict.fromkeys(lines)) or "the service refused the message", destination)[:300]


class Sender:
    def __init__(self, destination: Destination, db_path: str, lease: Lease | None, deliver: Deliver,
                 retries: int, backoff: float, announce: Callable[[dict[str, Any]], None] | None = None,
                 dry_run: bool = False):
        self.destination, self.db_path, self.lease, self.deliver = destination, db_path, lease, deliver
        self.retries, self.backoff, self.announce = retries, backoff, announce
        self.done = "alert not sent (dry run)" if dry_run else "alert sent"
        self.failing_since: float | None = None
        self.wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"alerts-{self.destination.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.wake.set()
        if self._thread is not None:
            self._thread.join(15)

    def _run(self) -> None:
        outbox = Outbox(connect(self.db_path), self.destination.name)
        try:
            while not self._stop.is_set():
                wait = self._step(outbox)
                if wait:
                    self.wake.wait(wait)
                    self.wake.clear()
        finally:
            outbox.db.close()

    def _step(self, outbox: Outbox) -> float:
        """Send what is due; returns how long to wait before looking again (0: at once)."""
        if self.lease is not None and not self.lease.held():
            return 0.2
        row = outbox.next()
        if row is None:
            return 1.0
        now = time.time()
        if row["next_at"] > now:
            return min(row["next_at"] - now, 1.0)
        why = self.deliver(self.destination, row["title"], row["body"], row["format"], row["notify_type"])
        if why is None:
            outbox.sent(row["id"])
            log.info(fields(self.done, destination=self.destination.name, id=row["id"],
                            after_s=f"{time.time() - row['created']:.2f}"))
            self._recovered()
            return 0
        attempts = row["attempts"] + 1
        if attempts >= self.retries:
            outbox.failed(row["id"], why)
            log.error(fields("alert failed", destination=self.destination.name, id=row["id"], attempts=attempts,
                             reason=why))
        else:
            outbox.retry(row["id"], now + min(self.backoff * 2 ** (attempts - 1), 60.0), why)
            log.warning(fields("alert delivery failed, will retry", destination=self.destination.name,
                               id=row["id"], attempt=attempts, reason=why))
        self._failing(now, why)
        return 0

    def _failing(self, now: float, why: str) -> None:
        if self.failing_since is not None:
            return
        self.failing_since = now
        since = datetime.fromtimestamp(now).strftime("%H:%M")
        self._announce({"id": f"{OWN_NOTIFICATION}{self.destination.name}-{int(now)}", "type": "warning",
                        "title": f"Alerts to {self.destination.name} failing",
                        "message": f"alerts to {self.destination.name} failing since {since}: {why}"})

    def _recovered(self) -> None:
        if self.failing_since is None:
            return
        since = datetime.fromtimestamp(self.failing_since).strftime("%H:%M")
        self.failing_since = None
        self._announce({"id": f"{OWN_NOTIFICATION}{self.destination.name}-{int(time.time())}-ok",
                        "type": "success", "title": f"Alerts to {self.destination.name} delivered again",
                        "message": f"alerts to {self.destination.name} delivered again (failing since {since})"})

    def _announce(self, data: dict[str, Any]) -> None:
        if self.announce is None:
            return
        try:
            self.announce(data)
        except Exception as exc:  # noqa: BLE001 - the gateway may be down too; the log still says it
            log.warning(fields("could not tell the gateway", destination=self.destination.name, reason=str(exc)))

"""The alert worker: follows the gateway's stream, turns events into alerts by the rules, and
hands them to the senders through the delivery log.

The client calls `on_event` on its loop thread; events go through a bounded queue to one
handler thread, which handles them in batches, each batch one SQLite transaction with the
cursor (see state.py). The same thread closes due digest windows and finds stuck scans.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from realtime import protocol
from realtime.alerts import messages
from realtime.alerts.delivery import Deliver, Sender
from realtime.alerts.engine import Alert, Engine
from realtime.alerts.lease import Lease
from realtime.alerts.rules import SEVERITY_RANK, Config, Rule, route_name
from realtime.alerts.state import State, connect, transaction
from realtime.debug import fields
from realtime.options import AlertOptions, StoreOptions
from realtime.store import EventStore

log = logging.getLogger("bughunt.alerts")
CAPPED_WINDOW = 60.0  # seconds an over-the-cap immediate route gathers alerts into one message
BATCH = 2_000
# The worker's own store only carries the stream position: keep it small.
STORE = StoreOptions(max_events=100, max_notifications=100, max_findings=1_000, max_history=2, max_rejected=100)
POSITION = "position"  # queue marker: where the stream stands after a (re)connect
SNAPSHOT = "snapshot"  # queue marker: the scans of a gateway state the client loaded


class FollowedStore(EventStore):
    """The worker's store: a gateway state it loads (a fresh start, a resync) is also queued for
    the handler, ahead of the events that follow it, so the engine knows those scans too."""

    def __init__(self, options: StoreOptions, events: queue.Queue):
        super().__init__(options)
        self.events = events

    def load_state(self, doc: dict[str, Any], at: float | None = None) -> dict[str, int]:
        loaded = super().load_state(doc, at)
        scans = [s for s in doc.get("scans", []) if isinstance(s, dict) and s.get("scan_id")]
        self.events.put((SNAPSHOT, scans, None))
        return loaded


class Worker:
    def __init__(self, config: Config, options: AlertOptions, links: messages.Links, deliver: Deliver,
                 lease: Lease | None = None, announce: Callable[[dict[str, Any]], None] | None = None,
                 dry_run: bool = False):
        self.config, self.options, self.links, self.lease = config, options, links, lease
        self.engine = Engine(config.rules, options.max_scans)
        self.routes = {route_name(r.name, d): (r, d) for r in config.rules for d in r.to}
        self.senders = {name: Sender(dest, options.db, lease, deliver, options.retries, options.backoff, announce,
                                     dry_run) for name, dest in config.destinations.items()}
        self.events: queue.Queue = queue.Queue(maxsize=10_000)  # full: the client's loop waits
        self.store = FollowedStore(STORE, self.events)
        self.state: State | None = None
        self.cursor: tuple[str | None, int | None] = (None, None)
        self.handled = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Restore the cursor and scans, start the handler and the senders. Connect a client
        with `on_event` as its '*' handler and `store` as its store afterwards."""
        self.state = State(connect(self.options.db))
        self.engine.restore(self.state.scans())
        self.cursor = self.state.cursor()
        epoch, seq = self.cursor
        if epoch is not None:  # resume after the last event handled
            self.store.load_state({"epoch": epoch, "last_seq": seq})
        self._thread = threading.Thread(target=self._run, name="alerts-handler", daemon=True)
        self._thread.start()
        for sender in self.senders.values():
            sender.start()
        log.info(fields("alert worker started", rules=len(self.config.rules), cursor=f"{epoch}:{seq}"))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(15)
        for sender in self.senders.values():
            sender.stop()
        if self.state is not None:
            self.state.db.close()

    def on_event(self, event: str, data: Any) -> None:
        """The client's '*' handler (its loop thread): queue events with their stream."""
        if event in protocol.SERVER_EVENTS and isinstance(data, dict):
            self.events.put((event, data, self.store.stream[0]))
        elif event == protocol.CONNECTION_STATUS and isinstance(data, dict) and data.get("connected"):
            # Everything replayed was dispatched before this: the position is exact here.
            self.events.put((POSITION, self.store.stream, None))

    # ---- handler thread ----------------------------------------------------------------------

    def _run(self) -> None:
        next_tick = 0.0
        while not self._stop.is_set():
            batch = self._drain(timeout=min(self.options.tick, 0.2))
            now = time.time()
            try:
                if batch:
                    self.handle(batch, now)
                if now >= next_tick:
                    self.tick(now)
                    next_tick = now + self.options.tick
            except Exception:  # noqa: BLE001 - uncommitted: the events come again after a restart
                log.exception("alert handling failed; stopping the handler (restart the worker)")
                return

    def _drain(self, timeout: float) -> list[tuple[str, Any, Any]]:
        try:
            batch = [self.events.get(timeout=timeout)]
        except queue.Empty:
            return []
        while len(batch) < BATCH:
            try:
                batch.append(self.events.get_nowait())
            except queue.Empty:
                break
        return batch

    def handle(self, batch: list[tuple[str, Any, Any]], now: float) -> None:
        """Handle events in one transaction with the cursor past the last of them."""
        woken: set[str] = set()
        with transaction(self.state.db):
            for event, data, epoch in batch:
                if event == POSITION:
                    self._position(*data, now, woken)
                    continue
                if event == SNAPSHOT:
                    self.engine.learn(data)
                    continue
                self.engine.epoch = epoch or ""
                for rule, alert in self.engine.handle(event, data, now):
                    self._route(rule, alert, now, woken)
                if data.get("seq") is not None:
                    self.cursor = (epoch, data["seq"])
            self.state.set_cursor(*self.cursor)
            self.state.save_scans(*self.engine.take_dirty())
        self.handled += len(batch)
        self._wake(woken)

    def _position(self, epoch: str | None, seq: int | None, now: float, woken: set[str]) -> None:
        old_epoch, old_seq = self.cursor
        if old_epoch is not None and (epoch != old_epoch or (seq or 0) > (old_seq or 0)):
            # The client resynced from a snapshot past a gap: running scans it does not know are lost.
            known = self.store.snapshot().scans
            gone = [s for s in self.engine.running() if s not in known or known[s].status == "lost"]
            why = "the gateway's stream restarted" if epoch != old_epoch else "events were missed"
            for rule, alert in self.engine.lose(gone, why):
                self._route(rule, alert, now, woken)
        self.cursor = (epoch, 0 if seq is None and epoch is not None else seq)

    def tick(self, now: float) -> None:
        """Stuck scans, due digests, old log entries."""
        woken: set[str] = set()
        with transaction(self.state.db):
            for rule, alert in self.engine.stuck(now):
                self._route(rule, alert, now, woken)
            for route in self.state.due_windows(now):
                self._flush(route, now, woken)
            self.state.save_scans(*self.engine.take_dirty())
            self.state.prune(now - self.options.keep_days * 86400)
        self._wake(woken)

    def _wake(self, destinations: set[str]) -> None:
        for name in destinations:
            self.senders[name].wake.set()

    # ---- routing -----------------------------------------------------------------------------

    def _route(self, rule: Rule, alert: Alert, now: float, woken: set[str]) -> None:
        rank = SEVERITY_RANK.get(alert.severity or "", 0) + (5 if alert.kind != "finding" else 0)
        for dest in rule.to:
            route = route_name(rule.name, dest)
            if rule.digest > 0 or self._capped(rule, route, now):
                self.state.add_pending(route, alert, rank, rule.digest or CAPPED_WINDOW, now)
            else:
                self._enqueue(route, dest, alert.key, messages.single(alert, self.links), now, woken)

    def _capped(self, rule: Rule, route: str, now: float) -> bool:
        """Over the route's hourly cap, or already gathering (so nothing overtakes what waits)."""
        if self.state.db.execute("SELECT 1 FROM windows WHERE route = ?", (route,)).fetchone():
            return True
        return bool(rule.max_per_hour) and self.state.sent_within(route, now - 3600) >= rule.max_per_hour

    def _enqueue(self, route: str, dest: str, key: str, message: messages.Message, now: float,
                 woken: set[str]) -> None:
        rendered = messages.render(message, self.config.destinations[dest].dialect)
        if self.state.enqueue(route, dest, key, rendered, message.notify_type, now):
            woken.add(dest)

    def _flush(self, route: str, now: float, woken: set[str]) -> None:
        rule, dest = self.routes.get(route, (None, None))
        if rule is None:
            self.state.take_window(route, 0)
            log.warning(fields("digest dropped: its rule is gone", route=route))
            return
        if rule.max_per_hour and self.state.sent_within(route, now - 3600) >= rule.max_per_hour:
            self.state.postpone(route, now + CAPPED_WINDOW)
            return
        alerts, total, by_kind, severities = self.state.take_window(route, self.options.top_items)
        if total == 1:
            message = messages.single(alerts[0], self.links)
        else:
            message = messages.digest(alerts, total, by_kind, severities, self.links)
        self._enqueue(route, dest, f"digest:{now:.6f}", message, now, woken)

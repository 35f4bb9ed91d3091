"""Viewer threads share snapshots: what they read at the same time must never break (issue 12)."""
import inspect
import logging
import sys
import threading
import time

from realtime import debug
from realtime.options import DebugOptions
from realtime.store import EventRecord, EventStore

READERS = 8


def switching_between_lines(cls):
    """A trace function that hands the GIL to another thread between any two lines of `cls`'s
    module: the interleavings a thread switch can cause, made to happen rather than hoped for."""
    source = inspect.getsourcefile(cls)

    def trace(frame, event, arg):
        if frame.f_code.co_filename != source:
            return None

        def lines(frame, event, arg):
            if event == "line":
                time.sleep(0)
            return lines

        return lines

    return trace


def hammer(read, rounds, trace=None):
    """Run `read(round)` in READERS threads at once, round after round, switching threads as
    often as the interpreter allows (and between any two traced lines); returns what any of
    them raised."""
    errors = []
    barrier = threading.Barrier(READERS)

    def reader():
        if trace is not None:
            sys.settrace(trace)
        for i in range(rounds):
            barrier.wait()  # all readers start each round together
            try:
                read(i)
            except Exception as exc:  # noqa: BLE001 - collected, the test fails on any
                errors.append(exc)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=reader) for _ in range(READERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    return errors


def test_many_viewers_read_the_same_fresh_event_records_at_once():
    store = EventStore()
    rounds = 300
    for i in range(rounds):
        store.apply("vulnerability_found", {"scan_id": "s1", "title": f"finding {i}", "severity": "high"})
    records = store.snapshot().events  # fresh: no one has read their data yet
    errors = hammer(lambda i: records[i].data["title"], rounds, switching_between_lines(EventRecord))
    assert not errors, errors[:3]
    assert [r.data["title"] for r in reversed(records)] == [f"finding {i}" for i in range(rounds)]


def test_viewers_read_while_the_writer_applies():
    store = EventStore()
    stop = threading.Event()

    def write():
        i = 0
        while not stop.is_set():
            store.apply("scan_progress", {"scan_id": f"s{i % 50}", "progress": i % 100, "phase": "active_recon"})
            store.apply("notification", {"message": f"n{i}", "type": "info"})
            i += 1

    def read(_):
        snap = store.snapshot()
        for record in snap.events[:20]:
            assert isinstance(record.data, dict)
        assert snap.metrics["total_scans"] == len(snap.scans)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        errors = hammer(read, 200)
    finally:
        stop.set()
        writer.join()
    assert not errors, errors[:3]


def test_viewers_read_the_debug_log_while_threads_write_it():
    debug.configure(DebugOptions(debug=True, debug_lines=50))
    stop = threading.Event()
    log = logging.getLogger("bughunt.test")

    def write():
        while not stop.is_set():
            log.info("a line")

    writers = [threading.Thread(target=write) for _ in range(2)]
    for w in writers:
        w.start()
    try:
        errors = hammer(lambda _: [line.message for line in debug.lines()], 300)
    finally:
        stop.set()
        for w in writers:
            w.join()
        debug.configure(DebugOptions())
    assert not errors, errors[:3]

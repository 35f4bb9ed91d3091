"""Everything a runtime starts, its close() stops: no thread outlives it (issue 13)."""
import threading

import pytest

from realtime import bridge
from tests.conftest import wait_for


def test_a_full_runtime_leaves_no_thread_behind(monkeypatch, tmp_path):
    # Demo mode (an in-process gateway with simulated scans) and a journal on disk: every part.
    monkeypatch.delenv("BUGHUNT_WS_URL", raising=False)
    monkeypatch.setenv("BUGHUNT_JOURNAL", str(tmp_path / "journal.sqlite"))
    monkeypatch.setenv("BUGHUNT_DEMO_SPEED", "10")
    bridge.runtime.clear()
    before = {t.ident for t in threading.enumerate()}
    rt = bridge.runtime()
    try:
        assert rt.client.wait_connected(15), rt.client.status
        wait_for(lambda: rt.store.snapshot().scans, timeout=20)  # the demo is publishing
        rt.leases.renew("scan_x")
        started = {t.name for t in threading.enumerate() if t.ident not in before}
        assert {"realtime-client", "journal", "room-leases", "bughunt-gateway"} <= started
    finally:
        rt.close()
        bridge.runtime.clear()
    assert [t.name for t in threading.enumerate() if t.ident not in before] == []


def test_constructors_start_nothing(monkeypatch, tmp_path):
    monkeypatch.delenv("BUGHUNT_WS_URL", raising=False)
    before = threading.active_count()
    rt = bridge.build_runtime({"BUGHUNT_JOURNAL": str(tmp_path / "j.sqlite")})
    assert threading.active_count() == before and rt.demo is None
    rt.close()  # closing what never started is fine too


def test_the_journal_is_committed_though_the_client_fails_to_stop(monkeypatch, tmp_path):
    """On a loaded machine the client's disconnect timed out as the dashboard stopped, and close()
    raised before the journal was closed: what it had queued, and its WAL, were left behind."""
    monkeypatch.delenv("BUGHUNT_WS_URL", raising=False)
    journal = tmp_path / "journal.sqlite"
    before = {t.ident for t in threading.enumerate()}
    rt = bridge.build_runtime({"BUGHUNT_JOURNAL": str(journal), "BUGHUNT_DEMO_SPEED": "10"}).start()
    wait_for(lambda: (tmp_path / "journal.sqlite-wal").exists(), timeout=20)  # the demo is journaled
    stop_client = rt.client.close

    def too_slow():
        stop_client()
        raise TimeoutError("the client did not stop in time")

    monkeypatch.setattr(rt.client, "close", too_slow)
    with pytest.raises(TimeoutError):
        rt.close()
    assert journal.exists() and not (tmp_path / "journal.sqlite-wal").exists()  # committed, closed
    assert [t.name for t in threading.enumerate() if t.ident not in before] == []  # the rest stopped too

"""A dashboard stopped the way services are stopped (SIGTERM) keeps what it was told."""
import os
import subprocess
import sys

from bench.procs import start_streamlit, stop
from tests.conftest import ROOT, wait_for


def test_sigterm_closes_the_dashboards_journal(page, tmp_path):
    """uvicorn re-raises SIGTERM once it has shut the app down, so atexit never runs: the app's
    lifespan must close the runtime, which commits the journal and checkpoints its WAL away."""
    journal = tmp_path / "journal.sqlite"
    wal = tmp_path / "journal.sqlite-wal"
    proc, url = start_streamlit({"BUGHUNT_JOURNAL": str(journal), "BUGHUNT_DEMO_SPEED": "10"})
    try:
        page.goto(url)  # a session builds the runtime; the demo writes to the journal
        wait_for(wal.exists, timeout=30)
    finally:
        stop(proc)
    assert proc.returncode == -15  # stopped by the signal, not killed after a timeout
    assert journal.exists() and not wal.exists()


def test_a_run_under_way_as_the_dashboard_stops_builds_no_new_runtime(tmp_path):
    """Streamlit stops its sessions only after the app's lifespan has closed the runtime: a run
    still under way then must not build a new one, whose journal (and WAL) nothing would close."""
    journal = tmp_path / "journal.sqlite"
    env = {**os.environ, "BUGHUNT_JOURNAL": str(journal), "BUGHUNT_WS_URL": "http://127.0.0.1:9"}
    done = subprocess.run([sys.executable, "-c", "from realtime import bridge; bridge.shut_down(); bridge.runtime()"],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    assert "RuntimeError: the dashboard is shutting down" in done.stderr
    assert not journal.exists()


RACE = """
import os, signal, threading, time
from pathlib import Path
from realtime import bridge
from realtime.journal import Journal
path = os.environ["BUGHUNT_JOURNAL"]
old = Journal(path)
old.write([(None, "scan_progress", {"scan_id": f"s{i % 100}", "progress": i % 100}, time.time()) for i in range(5000)])
old.close()
threading.Thread(target=bridge.runtime, daemon=True).start()  # a session's first run
while not Path(path + "-wal").exists():  # the new runtime opened the journal and is replaying it
    time.sleep(0.001)
bridge.shut_down()
os.kill(os.getpid(), signal.SIGTERM)  # as uvicorn re-raises it: no atexit
"""


def test_a_runtime_being_built_as_the_dashboard_stops_is_closed(tmp_path):
    """SIGTERM while a session's first run builds the runtime (it replays a journal): that
    runtime is closed too, though cache_resource stores it after the lifespan's clear."""
    journal = tmp_path / "journal.sqlite"
    env = {**os.environ, "BUGHUNT_JOURNAL": str(journal), "BUGHUNT_WS_URL": "http://127.0.0.1:9"}
    done = subprocess.run([sys.executable, "-c", RACE], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    assert done.returncode == -15, done.stderr
    assert journal.exists() and not (tmp_path / "journal.sqlite-wal").exists()

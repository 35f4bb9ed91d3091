"""A dashboard stopped the way services are stopped (SIGTERM) keeps what it was told."""
from bench.procs import start_streamlit, stop
from tests.conftest import wait_for


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

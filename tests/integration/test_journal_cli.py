"""The journal's command line (`python -m realtime.journal`) as a real process."""
import json
import subprocess
import sys

from realtime.journal import Journal
from realtime.store import EventStore
from tests.conftest import ROOT
from tests.unit.test_journal import fill


def run(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "realtime.journal", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=60, **kwargs)


def test_cli_export_import_and_stats(tmp_path):
    source, target = str(tmp_path / "a.sqlite"), str(tmp_path / "b.sqlite")
    journal = Journal(source).start()
    fill(EventStore(journal=journal))
    journal.close()
    out = tmp_path / "events.jsonl"
    done = run("export", str(out), "--journal", source)
    assert done.returncode == 0 and "exported 14 events" in done.stderr
    lines = out.read_text().splitlines()
    assert json.loads(lines[0])["event"] == "scan_started"
    out.write_text("\n".join(lines + ["not json", '{"event": "scan_progress", "data": {"progress": 1}}']))
    done = run("import", str(out), "--journal", target)
    assert "imported 14 events, skipped 2 lines" in done.stderr
    assert "line 15: skipped" in done.stderr and "line 16: skipped: scan_id: Field required" in done.stderr
    stats = json.loads(run("stats", "--journal", target).stdout)
    assert stats["events"] == 14 and stats["by_event"]["scan_progress"] == 10
    store = EventStore()
    Journal(target).replay(store)  # an imported scan replays like a live one (e.g. for a post-mortem)
    assert store.snapshot().scans["1"].progress == 55

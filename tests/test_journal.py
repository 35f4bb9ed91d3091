import json
import subprocess
import sys

from realtime.journal import Journal
from realtime.options import JournalOptions
from realtime.store import EventStore
from tests.conftest import ROOT


def fill(store):
    store.set_epoch("e1")
    store.apply("scan_started", {"scan_id": 1, "scan_name": "A", "seq": 1})
    for i in range(2, 12):
        store.apply("scan_progress", {"scan_id": 1, "progress": i * 5, "seq": i})
    store.apply("vulnerability_found", {"scan_id": 1, "title": "x", "severity": "critical", "seq": 12})
    store.apply("notification", {"id": "n1", "message": "m", "seq": 13})
    store.apply("notification", {"id": "n2", "message": "m2", "seq": 14})
    store.mark_read(["n1"])


def test_a_store_comes_back_from_its_journal(tmp_path):
    path = str(tmp_path / "j.sqlite")
    journal = Journal(path).start()
    store = EventStore(journal=journal)
    fill(store)
    journal.close()

    again = EventStore(journal=Journal(path))
    assert again.journal.replay(again) == 14
    before, after = store.snapshot(), again.snapshot()
    assert after.scans["1"].progress == 55 and after.scans["1"].name == "A"
    assert [v.id for v in after.vulnerabilities] == [v.id for v in before.vulnerabilities]
    assert [(n.id, n.read) for n in after.notifications] == [("n2", False), ("n1", True)]
    assert again.stream == ("e1", 14)  # resumes where it was
    assert again.journal.written == 0  # replaying does not write the events again


def test_compaction_and_retention(tmp_path):
    journal = Journal(str(tmp_path / "j.sqlite"), JournalOptions(max_events=5, compact_after=0)).start()
    store = EventStore(journal=journal)
    fill(store)
    journal.flush()
    journal.compact(now=10**10 - 1)  # everything is old: progress folds to the latest per scan
    assert journal.stats()["by_event"].get("scan_progress", 0) <= 1
    assert journal.stats()["events"] <= 5


def test_snapshot_catch_ups_are_journaled_too(tmp_path):
    path = str(tmp_path / "j.sqlite")
    store = EventStore(journal=Journal(path).start())
    store.load_state({"epoch": "e9", "last_seq": 40, "metrics": {}, "notifications": [], "vulnerabilities": [],
                      "scans": [{"scan_id": "s", "name": "From snapshot", "target": None, "status": "running",
                                 "progress": 30.0, "phase": "p", "current_step": None, "error": None,
                                 "vulnerability_count": 0, "started_at": 1.0, "updated_at": 2.0,
                                 "finished_at": None, "duration": None, "history": []}]})
    store.apply("scan_progress", {"scan_id": "s", "progress": 35, "seq": 41})
    store.journal.close()
    again = EventStore()
    Journal(path).replay(again)
    assert again.snapshot().scans["s"].progress == 35 and again.stream == ("e9", 41)


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

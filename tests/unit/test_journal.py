
import sqlite3

from realtime.journal import Journal
from realtime.options import JournalOptions
from realtime.store import EventStore


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


def test_a_broken_journal_under_home_is_moved_aside(tmp_path, monkeypatch):
    from realtime.journal_files import open_replayed

    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "j.sqlite").write_bytes(b"not a database" * 1000)
    opened = open_replayed("~/j.sqlite", JournalOptions(), "http://127.0.0.1:1",
                           lambda journal: EventStore(journal=journal))
    try:
        assert opened.journal is not None and "moved it to" in opened.notice
        assert [p.name for p in tmp_path.glob("j.sqlite.aside-*")]
    finally:
        opened.journal.close()


def test_a_read_flag_is_on_disk_when_the_click_returns(tmp_path):
    """A stop right after "Mark all as read" (SIGTERM kills at once) must not undo it."""
    path = str(tmp_path / "j.sqlite")
    journal = Journal(path).start()
    store = EventStore(journal=journal)
    store.apply("notification", {"id": "n1", "message": "m", "seq": 1})
    store.mark_read()
    other = sqlite3.connect(path)  # what another process would find, before any close
    assert other.execute("SELECT id FROM reads").fetchall() == [("n1",)]
    other.close()
    journal.close()

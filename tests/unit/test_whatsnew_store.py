"""What's new on the dashboard side (issue 19): the store keeps each finding's identity, new/known
and triage; a triage applies to every finding of its fingerprint, held and later; the Critical
count, filters, toasts, exports and alerts follow it; all of it survives the journal and a
resync; every new field is inert text."""
import dataclasses
import io
import json

import pandas as pd
import pytest

from realtime import views, whatsnew
from realtime.alerts.engine import Engine
from realtime.alerts.rules import parse
from realtime.journal import Journal
from realtime.models import EventRecord
from realtime.options import StoreOptions
from realtime.store import EventStore

HOSTILE = "**bold** [x](javascript:alert(1)) <img src=x onerror=alert(1)> :material/home:"
T0 = "2026-11-20T10:00:00Z"


def finding(seq, scan_id, fp, severity="high", known=False, triage=None, **more):
    data = {"scan_id": scan_id, "title": f"t-{fp}", "severity": severity, "url": f"https://a.example/{fp}",
            "fingerprint": fp, "known": known, "first_seen_at": T0, "seq": seq, **more}
    if known:
        data["previous_scan_id"] = "s0"
    if triage:
        data["triage"] = triage
    return data


def triaged(seq, fp, state, at="2026-11-27T10:00:00Z", note="not reachable", by="alice"):
    return {"fingerprint": fp, "state": state, "note": note, "by": by, "at": at, "scan_id": "s1",
            "title": f"t-{fp}", "severity": "critical", "seq": seq}


def two_scans(store):
    store.apply("vulnerability_found", finding(1, "s1", "fpA", "critical", known=True))
    store.apply("vulnerability_found", finding(2, "s1", "fpB", "high"))
    store.apply("vulnerability_found", finding(3, "s2", "fpA", "critical", known=True))
    store.apply("scan_completed", {"scan_id": "s2", "seq": 4, "diff": {
        "previous_scan_id": "s1", "previous_completed_at": "2026-11-24T10:00:00Z", "new": 4, "still_open": 21,
        "fixed": 6}})


def by_scan(snap):
    return {(v.scan_id, v.fingerprint): v for v in snap.vulnerabilities}


def test_the_store_keeps_identity_known_first_seen_and_previous_scan():
    store = EventStore()
    two_scans(store)
    snap = store.snapshot()
    a, b = by_scan(snap)[("s1", "fpA")], by_scan(snap)[("s1", "fpB")]
    assert (a.fingerprint, a.known, a.previous_scan_id, b.known) == ("fpA", True, "s0", False)
    assert views.iso_z(a.first_seen_at) == T0
    assert (views.badge(a), views.badge(b)) == ("known", "new")
    diff = snap.scans["s2"].diff
    assert (diff.previous_scan_id, diff.new, diff.still_open, diff.fixed) == ("s1", 4, 21, 6)


def test_a_triage_applies_to_every_finding_of_its_fingerprint_and_to_later_ones():
    store = EventStore()
    two_scans(store)
    assert store.snapshot().metrics["critical_count"] == 2
    store.apply("finding_triaged", triaged(5, "fpA", "false_positive"))
    snap = store.snapshot()
    assert [v.triage.state for v in snap.vulnerabilities if v.fingerprint == "fpA"] == ["false_positive"] * 2
    assert by_scan(snap)[("s1", "fpB")].triage is None
    assert snap.metrics["critical_count"] == 0 and snap.triaged_away == 2  # out of the Critical card
    store.apply("vulnerability_found", finding(6, "s3", "fpA", "critical", known=True))  # a later scan
    assert by_scan(store.snapshot())[("s3", "fpA")].triage.by == "alice"
    store.apply("finding_triaged", triaged(7, "fpA", "open", at="2026-11-27T11:00:00Z"))
    store.apply("finding_triaged", triaged(8, "fpA", "fixed", at="2026-11-27T09:00:00Z"))  # older: ignored
    snap = store.snapshot()
    assert {v.triage.state for v in snap.vulnerabilities if v.fingerprint == "fpA"} == {"open"}
    assert snap.metrics["critical_count"] == 3 and snap.triaged_away == 0


def test_a_triage_before_its_findings_arrive_is_remembered_but_a_newer_stamp_wins():
    store = EventStore(StoreOptions(max_findings=3))
    store.apply("finding_triaged", triaged(1, "fpZ", "accepted_risk"))
    store.apply("vulnerability_found", finding(2, "s1", "fpZ"))
    assert store.snapshot().vulnerabilities[0].triage.state == "accepted_risk"
    newer = {"state": "open", "by": "bob", "at": "2026-11-28T00:00:00Z"}
    store.apply("vulnerability_found", finding(3, "s2", "fpZ", triage=newer))
    assert store.snapshot().vulnerabilities[0].triage.by == "bob"
    for seq in range(4, 8):  # the log evicts: the counts stay right
        store.apply("vulnerability_found", finding(seq, f"x{seq}", f"f{seq}", "critical"))
    assert len(store.snapshot().vulnerabilities) == 3


def test_filters_hide_triaged_away_by_default_and_show_them_under_triaged():
    store = EventStore()
    two_scans(store)
    store.apply("finding_triaged", triaged(5, "fpA", "fixed"))
    snap = store.snapshot()
    fps = lambda show, scan="": sorted(v.fingerprint for v in views.matching_findings(snap, (), scan, "", "", show))  # noqa: E731
    assert fps(views.DEFAULT_SHOW) == ["fpB"]
    assert fps(("triaged",)) == ["fpA", "fpA"]
    assert fps(("triaged",), "s2") == ["fpA"]
    assert fps(views.SHOW) == ["fpA", "fpA", "fpB"]
    store.apply("finding_triaged", triaged(6, "fpA", "open", at="2026-11-28T00:00:00Z"))
    snap = store.snapshot()
    assert fps(("known",)) == ["fpA", "fpA"] and fps(("new",)) == ["fpB"]


def test_new_fields_and_triages_survive_a_journal_replay_and_a_resync(tmp_path):
    path = str(tmp_path / "j.sqlite")
    journal = Journal(path).start()
    store = EventStore(journal=journal)
    store.set_epoch("e1")
    two_scans(store)
    store.apply("finding_triaged", triaged(5, "fpA", "false_positive", note=HOSTILE))
    journal.close()
    again = EventStore(journal=Journal(path))
    again.journal.replay(again)

    def seen(snap):
        return sorted((v.scan_id, v.fingerprint, v.known, v.first_seen_at, v.previous_scan_id, v.triage)
                      for v in snap.vulnerabilities), snap.scans["s2"].diff, snap.metrics["critical_count"]

    assert seen(again.snapshot()) == seen(store.snapshot())
    # A gateway's GET /api/state serves the same records as plain JSON (api.plain).
    snap = store.snapshot()
    state = json.loads(json.dumps({"epoch": "e1", "last_seq": 5,
                                   "scans": [dataclasses.asdict(s) for s in snap.scans.values()],
                                   "vulnerabilities": [dataclasses.asdict(v) for v in snap.vulnerabilities]}))
    fp_b = next(i for i, v in enumerate(snap.vulnerabilities) if v.fingerprint == "fpB")
    state["vulnerabilities"][fp_b]["triage"] = {"state": "bogus"}  # a wrong one is dropped, not a crash
    state["vulnerabilities"][fp_b]["first_seen_at"] = "yesterday"
    resynced = EventStore()
    resynced.load_state(state)
    got = resynced.snapshot()
    assert len(got.vulnerabilities) == 3 and got.scans["s2"].diff == snap.scans["s2"].diff
    assert got.vulnerabilities[fp_b].first_seen_at is None and got.vulnerabilities[fp_b].triage is None
    assert [v.triage for v in got.vulnerabilities] == [v.triage for v in snap.vulnerabilities]


def records(*events):
    return [EventRecord(i, i, name, data, 0.0) for i, (name, data) in enumerate(events)]


def test_toasts_count_new_findings_and_known_ones_and_leave_out_triaged_away():
    new = [("vulnerability_found", finding(i, "s1", f"n{i}", "critical" if i == 0 else "high")) for i in range(4)]
    known = [("vulnerability_found", finding(10 + i, "s1", f"k{i}", known=True)) for i in range(30)]
    away = [("vulnerability_found", finding(50, "s1", "a", "critical", triage={"state": "false_positive"}))]
    (toast,) = views.plan_toasts(records(*new, *known, *away))
    assert toast.text == "4 new findings, 1 critical · 30 known"
    texts = [t.text for t in views.plan_toasts(records(*away, *known[:2]))]
    assert texts == ["2 known findings (high or critical, seen in earlier scans)"]
    (triage,) = views.plan_toasts(records(("finding_triaged", triaged(1, "fpA", "fixed", by=HOSTILE))))
    assert triage.text.startswith("Marked fixed: t&#45;fpA") and "**" not in triage.text and "<img" not in triage.text


def test_exports_carry_fingerprint_known_first_seen_and_triage():
    store = EventStore()
    two_scans(store)
    store.apply("finding_triaged", triaged(5, "fpA", "accepted_risk", note="=cmd|' /C calc'!A0"))
    snap = store.snapshot()
    frame = views.findings_frame(snap, views.matching_findings(snap, (), "", "", "", views.SHOW))
    table = pd.read_csv(io.BytesIO(views.to_csv(frame)), keep_default_na=False)
    row = table[table["scan_id"] == "s2"].iloc[0]
    assert (row["fingerprint"], row["known"], row["first seen"], row["triage state"], row["triage by"]) == \
        ("fpA", True, T0, "accepted_risk", "alice")
    assert row["triage note"].startswith("'=")  # formula-safe
    assert row["triage at"] == "2026-11-27T10:00:00Z"
    doc = json.loads(views.to_json(frame))
    assert {(d["fingerprint"], d["known"], d["triage state"]) for d in doc} == {
        ("fpA", True, "accepted_risk"), ("fpB", False, "")}


def test_the_scan_comparison_line_and_details_are_inert():
    store = EventStore()
    two_scans(store)
    scan = store.snapshot().scans["s2"]
    line = views.diff_line(scan.diff, scan.diff.previous_completed_at + 3 * 86400)
    assert line.startswith("vs previous scan of this target, 3 d ago: 4 new, 21 still open, 6 fixed")
    rows = views.diff_rows({"fixed": [{"title": "\u202eexe.jpg", "severity": "high", "triage": {"state": "fixed"}},
                                      "junk"]}, "fixed")
    assert rows == [{"severity": "high", "title": "<U+202E>exe.jpg", "url": "", "fingerprint": "", "triage": "fixed"}]
    assert "**" not in views.literal(views.triage_text(whatsnew_triage(HOSTILE)))


def whatsnew_triage(note):
    store = EventStore()
    store.apply("vulnerability_found", finding(1, "s1", "fp"))
    store.apply("finding_triaged", triaged(2, "fp", "fixed", note=note, by=note))
    return store.snapshot().vulnerabilities[0].triage


def alerts(rules, *events):
    engine = Engine(parse({"destinations": {"hook": {"url": "json://127.0.0.1:9/x"}}, "rules": rules}, {}).rules)
    engine.handle("scan_started", {"scan_id": "s1", "target": "https://a.example", "seq": 0})
    return [[r.name for r, _ in engine.handle(name, data)] for name, data in events]


def test_alerts_skip_triaged_away_findings_unless_a_rule_includes_them_and_known_unless_new_only():
    rules = [{"name": "all", "on": "finding", "to": ["hook"]},
             {"name": "new", "on": "finding", "new_only": True, "to": ["hook"]},
             {"name": "incl", "on": "finding", "include_triaged": True, "to": ["hook"]}]
    assert alerts(rules, ("vulnerability_found", finding(1, "s1", "a")),
                  ("vulnerability_found", finding(2, "s1", "b", known=True)),
                  ("vulnerability_found", finding(3, "s1", "c", triage={"state": "false_positive"})),
                  ("vulnerability_found", finding(4, "s1", "d", triage={"state": "open"})),
                  ("finding_triaged", triaged(5, "a", "fixed"))) == [
        ["all", "new", "incl"], ["all", "incl"], ["incl"], ["all", "new", "incl"], []]


@pytest.mark.parametrize("state, note, error", [
    ("wontfix", "", "state must be one of open, false_positive, accepted_risk, fixed"),
    ("fixed", "x" * 1001, "the note is 1,001 characters; at most 1,000"),
])
def test_a_bad_triage_request_is_refused_before_it_is_sent(state, note, error):
    sent = []
    client = type("Client", (), {"call": lambda self, *a: sent.append(a)})()
    assert whatsnew.triage(client, "fp", state, note) == {"ok": False, "error": error} and not sent


def test_a_triage_request_carries_fingerprint_state_and_note_and_returns_the_gateways_answer():
    sent = []
    refusal = {"ok": False, "error": "viewers may not triage (BUGHUNT_VIEWERS_TRIAGE=false)"}
    client = type("Client", (), {"call": lambda self, *a: sent.append(a) or refusal})()
    assert whatsnew.triage(client, "fp", "fixed", "patched in 2.3") == refusal
    assert sent == [("triage_finding", {"fingerprint": "fp", "state": "fixed", "note": "patched in 2.3"}, 5.0)]

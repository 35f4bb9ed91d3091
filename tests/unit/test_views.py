import html
import re

from realtime import views
from realtime.store import EventStore, HistoryPoint, Scan


def scan_with(history, status="running", progress=None):
    last = history[-1]
    return Scan("s", "n", None, status, progress if progress is not None else last.progress, last.phase, None,
                None, 0, history[0].at, last.at, None, None, tuple(history))


def test_literal_escapes_every_markdown_construct():
    text = "**b** [a](javascript:x) <img onerror=x> :red[c] $x$ `c` __x__ :smile: ~~s~~"
    escaped = views.literal(text)
    assert not re.search(r"[*\[\]()<>!:$`/@._~]", re.sub(r"&#\d+;|`:smile:`", "", escaped))  # all escaped
    assert html.unescape(escaped).replace("`:smile:`", ":smile:") == text  # nothing lost, nothing added
    assert "`:smile:`" in escaped  # a code span: no emoji shortcode
    assert views.literal("a\nb\tc") == "a b c" and len(views.literal("x" * 1000)) < 400


def test_literal_shows_format_characters_and_keeps_links_copyable():
    assert html.unescape(views.literal("abc\u202edef\u200b")) == "abc<U+202E>def<U+200B>"
    for word in ("https://x.example/a?b=1&c=**d**", "www.example.com", "a@b.example", "![i](http://h/p.png)"):
        assert views.literal(f"see {word}") == f"see `{word}`"  # a code span: never linked, copied exactly
    assert views.literal("x `http://a/`") == "x `` `http://a/` ``"


def test_csv_quotes_formulas_after_blanks():
    for cell in (" =1+1", "\n=cmd|' /C calc'!A0", "\u00a0@SUM(A1)", "\t-2", "+1"):
        assert views.tables.csv_safe(cell) == "'" + cell
    assert views.tables.csv_safe(" plain") == " plain"


def test_csv_export_defuses_formulas():
    import pandas as pd

    frame = pd.DataFrame({"title": ["=HYPERLINK(\"http://evil\")", "+1", "-2", "@SUM(A1)", "safe", "\tx"],
                          "cvss": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    lines = views.to_csv(frame).decode().splitlines()
    assert lines[1].startswith("\"'=HYPERLINK") and lines[2] == "'+1,2.0" and lines[3] == "'-2,3.0"
    assert lines[4] == "'@SUM(A1),4.0" and lines[5] == "safe,5.0" and lines[6].startswith("'\tx")


def test_toasts_once_per_cursor_with_burst_summary_and_no_double_toast():
    store = EventStore()
    cursor = store.snapshot().logged
    store.apply("vulnerability_found", {"scan_id": 1, "title": "**SQLi**", "severity": "critical"})
    store.apply("vulnerability_found", {"scan_id": 1, "title": "minor", "severity": "low"})
    snap = store.snapshot()
    toasts = views.plan_toasts(views.new_records(snap, cursor))
    sqli = next(v.id for v in snap.vulnerabilities if v.severity == "critical")  # the store's own id
    assert [t.text for t in toasts] == [f"Critical finding: {views.literal('**SQLi**')} · [details](finding?id={sqli})"]
    assert views.new_records(snap, snap.logged) == []  # the next tick toasts nothing again

    cursor = snap.logged
    for i in range(12):
        severity = "critical" if i < 3 else "high"
        store.apply("vulnerability_found", {"scan_id": 2, "title": f"t{i}", "severity": severity})
    store.apply("scan_completed", {"scan_id": 3})
    snap = store.snapshot()
    [summary] = views.plan_toasts(views.new_records(snap, cursor))
    assert summary.text == "12 new findings, 3 critical · 1 scan completed"

    cursor = snap.logged
    store.apply("scan_failed", {"scan_id": 4, "error": "boom"})
    store.apply("notification", {"message": "Scan 4 failed: boom", "type": "error", "scan_id": 4})
    toasts = views.plan_toasts(views.new_records(store.snapshot(), cursor))
    assert [(t.icon, t.text) for t in toasts] == [(views.TYPE_ICONS["error"], views.literal("Scan 4 failed: boom"))]


def test_eta_is_hidden_until_there_is_history_then_a_range():
    early = scan_with([HistoryPoint(0, 1, "a"), HistoryPoint(5, 2, "a")])
    assert views.eta(early, now=5) is None
    steady = scan_with([HistoryPoint(t, t / 2, "a") for t in range(0, 101, 10)])  # 0.5 %/s, at 50 %
    low, high = views.eta(steady, now=100)
    assert low <= 100 <= high and high - low < 60
    assert views.eta(scan_with(steady.history, status="completed"), now=100) is None


def test_phase_spans_follow_the_history():
    scan = scan_with([HistoryPoint(0, 5, "passive_recon"), HistoryPoint(10, 20, "passive_recon"),
                      HistoryPoint(15, 30, "active_recon"), HistoryPoint(30, 60, "vulnerability_testing")])
    assert views.phase_spans(scan, now=40) == [("passive_recon", 0, 15), ("active_recon", 15, 30),
                                                ("vulnerability_testing", 30, 40)]


def test_derived_data_is_shared_per_snapshot():
    store = EventStore()
    store.apply("vulnerability_found", {"scan_id": 1, "title": "x", "severity": "high"})
    snap = store.snapshot()
    assert views.findings_page(snap, ((), "", ""), 1, 10) is views.findings_page(store.snapshot(), ((), "", ""), 1, 10)
    assert views.severity_figure(snap) is views.severity_figure(store.snapshot())
    store.apply("vulnerability_found", {"scan_id": 1, "title": "y", "severity": "high"})
    assert views.findings_page(store.snapshot(), ((), "", ""), 1, 10).num_rows == 2


def test_findings_filter_and_pages():
    store = EventStore()
    store.apply("vulnerability_found", {"scan_id": 1, "title": "SQL injection", "severity": "critical", "url": "/q"})
    store.apply("vulnerability_found", {"scan_id": 2, "title": "XSS", "severity": "low"})
    snap = store.snapshot()

    def titles(*filters):
        return [v.title for v in views.matching_findings(snap, *filters)]

    assert titles(("critical",)) == ["SQL injection"]
    assert titles((), "2") == ["XSS"]
    assert titles((), "", "sql") == ["SQL injection"]
    assert titles((), "", "(") == []  # literal, not a regex
    assert titles() == ["XSS", "SQL injection"]  # newest first
    assert views.findings_page(snap, ((), "", ""), 2, 1)["title"].to_pylist() == ["SQL injection"]
    assert views.pages(0, 10) == 1 and views.pages(11, 10) == 2


def test_findings_over_time_comes_from_the_store_histogram():
    store = EventStore()
    for i in range(30):
        store.apply("vulnerability_found", {"scan_id": 1, "title": f"f{i}", "severity": "low"}, at=1_000_000 + i * 60)
    bars = views.findings_over_time_figure(store.snapshot()).data[0]
    assert sum(bars.y) == 30 and len(bars.x) == 30  # 30 minutes: one-minute buckets


def test_directional_overrides_show_in_tables_and_charts_but_exports_keep_the_exact_text():
    spoof = "invoice\u202etxt.exe"
    store = EventStore()
    store.apply("scan_started", {"scan_id": "r", "scan_name": spoof, "target": spoof})
    store.apply("scan_progress", {"scan_id": "r", "progress": 5, "phase": spoof})
    store.apply("vulnerability_found", {"scan_id": "r", "title": spoof, "severity": "high"})
    snap = store.snapshot()
    shown = "invoice<U+202E>txt.exe"
    assert views.findings_page(snap, ((), "", ""), 1, 10)["title"].to_pylist() == [shown]
    assert views.scans_frame(snap, 0, 60).loc[0, ["name", "target", "phase"]].tolist() == [shown] * 3
    assert views.progress_figure(snap.scans["r"])["data"][0]["text"][0] == html.escape(shown)  # plotly reads HTML
    assert spoof in views.to_csv(views.findings_frame(snap, snap.vulnerabilities)).decode()

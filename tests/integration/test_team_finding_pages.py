"""Issue 18, part B under AppTest (fed through the real store): the Finding page, Targets, the
target filters, empty states that teach, exports carrying the description."""
import json

from realtime import views
from tests.integration.test_finding_details import FINDING
from tests.integration.test_pages import HOSTILE, feed, open_page, rt, texts  # noqa: F401 - rt is a fixture

LONG_TITLE = ("Reflected XSS in the search form " * 20)[:500]  # the longest title the protocol takes
SHOP, BLOG = "https://shop.example", "https://blog.example"


def two_targets(store):
    feed(store, [
        ("scan_started", {"scan_id": "s1", "scan_name": "Shop Monday", "target": SHOP}),
        ("vulnerability_found", {"scan_id": "s1", "id": "long", "title": LONG_TITLE, "severity": "high",
                                 "description": "The q parameter is echoed unencoded. " + HOSTILE}),
        ("vulnerability_found", {"scan_id": "s1", "id": "c1", "title": "SQLi", "severity": "critical"}),
        ("scan_completed", {"scan_id": "s1", "duration": 95}),
        ("scan_started", {"scan_id": "b1", "scan_name": "Blog", "target": BLOG}),
        ("vulnerability_found", {"scan_id": "b1", "id": "b-info", "title": "Server banner", "severity": "info"}),
        ("scan_started", {"scan_id": "s2", "scan_name": "Shop Tuesday", "target": SHOP}),
        ("vulnerability_found", {"scan_id": "s2", "id": "l1", "title": "Cookie flags", "severity": "low"}),
    ])


def test_every_page_without_data_says_what_to_do(rt):  # noqa: F811
    for page in ("pages/scans.py", "pages/target.py", "pages/scan.py"):
        at = open_page(page)
        assert "No scans yet — publish one with this command" in texts(at), page
        assert at.code[0].value.startswith("curl -X POST http://127.0.0.1:") and "/api/events" in at.code[0].value
    at = open_page("pages/vulnerabilities.py")
    assert "No findings yet" in texts(at) and "python -m realtime.adapters.nuclei" in texts(at)
    assert at.code[0].value.startswith("curl -X POST http://127.0.0.1:") and "vulnerability_found" in at.code[0].value
    assert "No finding chosen" in texts(open_page("pages/finding.py"))


def test_unknown_finding_and_target_say_why_never_an_exception(rt):  # noqa: F811
    feed(rt.store, [("scan_started", {"scan_id": "s1", "target": SHOP})])
    shown = texts(open_page("pages/finding.py", id="f-gone**"))
    assert f"No finding {views.literal('f-gone**')} here" in shown and "BUGHUNT\\_MAX\\_FINDINGS" in shown
    assert "holds the newest 100,000 findings" in shown
    shown = texts(open_page("pages/target.py", name="https://nowhere.example"))
    assert "No scans of `https://nowhere.example` here" in shown and "BUGHUNT\\_MAX\\_SCANS" in shown


def test_finding_page_shows_every_field_its_scan_target_and_when_seen(rt):  # noqa: F811
    two_targets(rt.store)
    feed(rt.store, [("vulnerability_found", FINDING)])
    at = open_page("pages/finding.py", id="long")
    shown = texts(at)
    assert views.literal(LONG_TITLE, 600) in shown  # whole: 500 characters, not cut
    assert "The q parameter is echoed unencoded. " + HOSTILE in [c.value for c in at.code]  # the description
    assert "Scan: Shop Monday (completed)" in [e.proto.label for e in at.get("page_link")]
    assert any(e.proto.label.startswith("Target: `https://shop.example`") for e in at.get("page_link"))
    at = open_page("pages/finding.py", id="f1")  # every triage field, plain text
    text_rows, codes = [t.value for t in at.text], [c.value for c in at.code]
    for line in ("cve: CVE-2021-44228", "cwe: CWE-200", "cvss: 7.5", "tags: ssl, tls", "extracted: tls13",
                 f"references: {HOSTILE}", f"found at: {views.clock(1699279138.56985)}"):
        assert line in text_rows, (line, text_rows)
    assert {"TLS version detection", HOSTILE, FINDING["evidence"], f"matcher: {HOSTILE}\nip: 8.8.8.8"} <= set(codes)
    # received again later: last seen moves, first seen stays
    rt.store.apply("vulnerability_found", {**FINDING, "found_at": "2023-11-07T10:00:00+00:00"})
    at.run()
    assert f"last seen: {views.clock(1699351200)}" in [t.value for t in at.text]
    assert f"First seen {views.clock(1699279138.56985)} · last seen {views.clock(1699351200)} (received again)" \
        in texts(at)


def test_target_filters_on_scans_and_vulnerabilities(rt):  # noqa: F811
    two_targets(rt.store)
    at = open_page("pages/scans.py")
    assert sorted(at.dataframe[0].value["scan_id"]) == ["b1", "s1", "s2"]
    assert at.dataframe[0].value.loc[0, "open"] == "scan?id=s2"  # the scan id column links to the scan
    [target] = [s for s in at.selectbox if s.label == "Target"]
    target.select(SHOP).run()
    assert at.dataframe[0].value["scan_id"].tolist() == ["s2", "s1"]
    links = [e.proto.label for e in at.get("page_link")]
    assert "Every scan of this target over time, with findings by severity" in links

    at = open_page("pages/vulnerabilities.py")
    [target] = [s for s in at.selectbox if s.label == "Target"]
    target.select(BLOG).run()
    table = at.dataframe[0].value
    assert table["title"].tolist() == ["Server banner"] and table["open"].tolist() == ["finding?id=b-info"]


def test_target_page_lists_every_scan_with_duration_and_severities(rt):  # noqa: F811
    two_targets(rt.store)
    at = open_page("pages/target.py")
    overview = at.dataframe[0].value
    assert overview[["target", "scans", "findings"]].values.tolist() == [[SHOP, 2, 3], [BLOG, 1, 1]]
    assert overview["open"].tolist() == [views.target_url(SHOP), views.target_url(BLOG)]
    assert views.target_url(SHOP) == "target?name=https%3A%2F%2Fshop.example"  # quoted: no parameter added
    at = open_page("pages/target.py", name=SHOP)
    rows = at.dataframe[0].value.to_dict("records")
    assert [(r["scan"], r["status"], r["critical"], r["high"], r["low"]) for r in rows] == [
        ("scan?id=s2", "running", 0, 0, 1), ("scan?id=s1", "completed", 1, 1, 0)]
    assert rows[1]["duration"] == "1 min 35 s"


def test_exports_carry_the_description_and_follow_the_target_filter(rt):  # noqa: F811
    two_targets(rt.store)
    snap = rt.store.snapshot()
    frame = views.findings_frame(snap, views.matching_findings(snap, (), "", "", SHOP))
    assert sorted(frame["id"]) == ["c1", "l1", "long"]
    records = {r["id"]: r for r in json.loads(views.to_json(frame))}
    assert records["long"]["description"] == "The q parameter is echoed unencoded. " + HOSTILE
    assert records["long"]["title"] == LONG_TITLE
    assert "The q parameter is echoed unencoded." in views.to_csv(frame).decode()

"""The triage fields of a finding on the Scan detail and Vulnerabilities pages (AppTest, fed
through the real store) and in the exports: every one shown, none ever read as markdown."""
import json

from realtime import views
from tests.integration.test_pages import HOSTILE, feed, open_page, rt  # noqa: F401 - rt is a fixture

FINDING = {
    "scan_id": "t1", "id": "f1", "title": "TLS Version - Detect", "severity": "high", "url": "www.asdf.de:443",
    "cvss_score": 7.5, "vulnerability_type": "tls-version", "description": "TLS version detection",
    "found_at": "2023-11-06T14:58:58.56985+01:00", "cve": ["CVE-2021-44228"], "cwe": ["CWE-200"],
    "cvss_vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", "references": [HOSTILE],
    "remediation": HOSTILE, "tags": ["ssl", "tls"], "evidence": "=HYPERLINK(\"http://127.0.0.1:9\")\n" + HOSTILE,
    "extracted": ["tls13"], "details": {"matcher": HOSTILE, "ip": "8.8.8.8"},
}


def shown_details(at, key):
    at.selectbox(key=key).select("f1").run()
    assert not at.exception, [e.message for e in at.exception]
    return [t.value for t in at.text], [c.value for c in at.code]


def test_vulnerabilities_and_scan_pages_show_every_triage_field_as_plain_text(rt):  # noqa: F811
    feed(rt.store, [("scan_started", {"scan_id": "t1", "scan_name": "TLS check"}), ("vulnerability_found", FINDING)])
    at = open_page("pages/vulnerabilities.py")
    row = at.dataframe[0].value.to_dict("records")[0]
    assert (row["cve"], row["extracted"]) == ("CVE-2021-44228", "tls13")
    pages = (("pages/vulnerabilities.py", "finding", {}), ("pages/scan.py", "scan_finding", {"id": "t1"}))
    for page, key, query in pages:
        at = open_page(page, **query)
        texts, codes = shown_details(at, key)
        for line in ("cve: CVE-2021-44228", "cwe: CWE-200", "cvss: 7.5", "tags: ssl, tls", "extracted: tls13",
                     "cvss vector: CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", f"references: {HOSTILE}",
                     f"found at: {views.clock(1699279138.56985)}"):
            assert line in texts, (line, texts)
        assert HOSTILE in codes and FINDING["evidence"] in codes  # st.code: shown as the characters they are
        assert f"matcher: {HOSTILE}\nip: 8.8.8.8" in codes


def test_exports_carry_the_triage_fields(rt):  # noqa: F811
    feed(rt.store, [("vulnerability_found", FINDING)])
    snap = rt.store.snapshot()
    frame = views.findings_frame(snap, snap.vulnerabilities)
    record = json.loads(views.to_json(frame))[0]
    assert record["cve"] == "CVE-2021-44228" and record["extracted"] == "tls13"
    assert record["cvss vector"] == FINDING["cvss_vector"] and record["details"] == f"matcher: {HOSTILE}\nip: 8.8.8.8"
    csv = views.to_csv(frame).decode()
    assert "'=HYPERLINK" in csv and "=HYPERLINK" not in csv.replace("'=HYPERLINK", "")  # formula-safe
    header = csv.splitlines()[0].split(",")
    assert set(views.EXTRA_COLUMNS) <= set(header)

"""What's new on the pages under AppTest (issue 19): "new"/"known" badges as text, the New / Known /
Triaged filter (triaged-away findings hidden by default), the scan comparison line, and the triage
control — its refusal shown, absent on share links. Fed through the real store; the triage
refusal of a real gateway needs the gateway side of issue 19 (skipped without it)."""
import importlib.util
import time
from datetime import UTC, datetime

import pytest
from streamlit.testing.v1 import AppTest

from realtime import bridge, views
from realtime.auth import Authenticator
from tests.conftest import ROOT, wait_for
from tests.integration.test_pages import open_page, rt, texts  # noqa: F401 - rt is a fixture

# The gateway side of issue 19 (branch w3-whatsnew-gw) answers triage_finding and serves the diff lists.
GATEWAY_TRIAGES = importlib.util.find_spec("realtime.gateway.triage") is not None
THREE_DAYS_AGO = datetime.fromtimestamp(time.time() - 3 * 86400 - 60, UTC).isoformat()


def feed(store):
    events = [("scan_started", {"scan_id": "s1", "scan_name": "First", "target": "https://t.example"}),
              ("scan_started", {"scan_id": "s2", "scan_name": "Second", "target": "https://t.example"})]
    for scan, fp, known in (("s1", "fpA", False), ("s2", "fpA", True), ("s2", "fpB", False)):
        events.append(("vulnerability_found", {
            "scan_id": scan, "id": f"{scan}-{fp}", "title": f"Finding {fp}", "severity": "critical",
            "fingerprint": fp, "known": known, "first_seen_at": "2026-11-01T00:00:00Z"}))
    events += [("scan_completed", {"scan_id": "s2", "diff": {
                    "previous_scan_id": "s1", "previous_completed_at": THREE_DAYS_AGO, "new": 4, "still_open": 21,
                    "fixed": 6}}),
               ("finding_triaged", {"fingerprint": "fpA", "state": "false_positive", "note": "**staging only**",
                                    "by": "alice", "at": "2026-11-27T10:00:00Z", "scan_id": "s1"})]
    for name, data in events:
        assert store.apply(name, data) is not None


def rows(at, index=0):
    frame = at.dataframe[index].value
    return sorted(zip(frame["title"], frame["new"], frame["triage"]))


def test_vulnerabilities_show_badges_and_hide_triaged_away_findings_unless_asked(rt):  # noqa: F811
    feed(rt.store)
    at = open_page("pages/vulnerabilities.py")
    assert rows(at) == [("Finding fpB", "new", "")]
    assert "1 of 3 findings" in texts(at)
    at.button_group(key="show").set_value(["triaged"]).run()
    assert rows(at) == [("Finding fpA", "known", "false_positive"), ("Finding fpA", "new", "false_positive")]
    at.button_group(key="show").set_value(list(views.SHOW)).run()
    assert len(rows(at)) == 3
    assert rt.snapshot().metrics["critical_count"] == 1  # the Critical card leaves triaged-away out


def test_scan_detail_compares_with_the_previous_scan_and_filters(rt):  # noqa: F811
    feed(rt.store)
    at = open_page("pages/scan.py", id="s2")
    assert "vs previous scan of this target, 3 d ago: 4 new, 21 still open, 6 fixed" in texts(at)
    assert rows(at) == [("Finding fpB", "new", "")]
    at.button_group(key="scan_show").set_value(["known", "triaged"]).run()
    assert rows(at) == [("Finding fpA", "known", "false_positive")]


def choose_and_triage(at, finding_id, state, note):
    at.selectbox(key="scan_finding").set_value(finding_id).run()
    details = "\n".join(t.value for t in at.text)
    assert "triage: false_positive by alice at" in details and "**staging only**" in details  # st.text: inert
    [box for box in at.selectbox if box.label == "Triage"][0].set_value(state)
    [area for area in at.text_area if area.label == "Note"][0].set_value(note)
    [b for b in at.button if b.label == "Save triage"][0].click().run()
    return at


def test_a_refused_triage_shows_the_reason_and_share_links_have_no_triage_control(rt, monkeypatch):  # noqa: F811
    feed(rt.store)
    at = open_page("pages/scan.py", id="s2")
    at.button_group(key="scan_show").set_value(list(views.SHOW)).run()
    at = choose_and_triage(at, "s2-fpA", "open", "re-check")
    assert [e.value for e in at.main.error] == ["Not triaged: not connected to the gateway"]  # the client's refusal

    secret = "whatsnew-secret-" + "q" * 40
    monkeypatch.setenv("BUGHUNT_SECRET", secret)
    bridge.runtime.clear()
    feed(bridge.runtime().store)
    shared = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    shared.query_params.update({"id": "s2", "token": Authenticator(secret).mint("guest", "viewer", ["s2"], ttl=600)})
    shared.run()
    shared.button_group(key="scan_show").set_value(list(views.SHOW)).run()
    shared.selectbox(key="scan_finding").set_value("s2-fpA").run()
    assert not shared.exception and "triage: false_positive by alice" in "\n".join(t.value for t in shared.text)
    assert not [b for b in shared.button if b.label == "Save triage"]


@pytest.mark.skipif(not GATEWAY_TRIAGES, reason="needs the gateway side of issue 19 (triage_finding)")
def test_the_gateways_refusal_is_shown(gateway_factory, make_client, monkeypatch):
    secret = "whatsnew-secret-" + "r" * 40
    gateway = gateway_factory(env={"BUGHUNT_SECRET": secret, "BUGHUNT_VIEWERS_TRIAGE": "false"})
    token = Authenticator(secret).mint("viewer7", "viewer")
    direct = make_client()
    direct.connect(gateway.url, auth={"token": token})
    assert direct.wait_connected(10)
    refusal = direct.call("triage_finding", {"fingerprint": "fpA", "state": "open"})
    assert refusal["ok"] is False and refusal["error"]
    monkeypatch.setenv("BUGHUNT_WS_URL", gateway.url)
    monkeypatch.setenv("BUGHUNT_WS_TOKEN", token)
    bridge.runtime.clear()
    runtime = bridge.runtime()
    try:
        assert runtime.client.wait_connected(10)
        feed(runtime.store)
        at = open_page("pages/scan.py", id="s2")
        at.button_group(key="scan_show").set_value(list(views.SHOW)).run()
        at = choose_and_triage(at, "s2-fpA", "open", "")
        assert [e.value for e in at.main.error] == ["Not triaged: " + views.literal(refusal["error"])]
    finally:
        runtime.close()
        bridge.runtime.clear()


@pytest.mark.skipif(not GATEWAY_TRIAGES, reason="needs the gateway side of issue 19 (scan diffs)")
def test_scan_detail_lists_the_fixed_findings_from_the_gateway(gateway_factory, monkeypatch):
    secret = "whatsnew-secret-" + "d" * 40
    gateway = gateway_factory(env={"BUGHUNT_SECRET": secret})
    producer = Authenticator(secret).mint("scanner", "producer")
    for scan_id, titles in (("r1", ("Kept", "Gone")), ("r2", ("Kept", "Fresh"))):
        gateway.publish("scan_started", {"scan_id": scan_id, "target": "https://r.example"}, token=producer)
        for title in titles:
            gateway.publish("vulnerability_found", {"scan_id": scan_id, "title": title, "severity": "low",
                                                    "url": f"https://r.example/{title}"}, token=producer)
        gateway.publish("scan_completed", {"scan_id": scan_id}, token=producer)
    monkeypatch.setenv("BUGHUNT_WS_URL", gateway.url)
    monkeypatch.setenv("BUGHUNT_WS_TOKEN", Authenticator(secret).mint("viewer7", "viewer"))
    bridge.runtime.clear()
    runtime = bridge.runtime()
    try:
        wait_for(lambda: (scan := runtime.store.snapshot().scans.get("r2")) is not None and scan.diff is not None,
                 timeout=15)
        at = open_page("pages/scan.py", id="r2")
        assert "1 new, 1 still open, 1 fixed" in texts(at)
        at.toggle(key="scan_fixed").set_value(True).run()
        fixed = at.dataframe[0].value
        assert list(fixed["title"]) == ["Gone"] and list(fixed["url"]) == ["https://r.example/Gone"]
    finally:
        runtime.close()
        bridge.runtime.clear()

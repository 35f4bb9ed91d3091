"""Issue 18 part C under Streamlit's AppTest: the page box, the filtered severity chart, the
cards against the pages, the per-tab debug log."""
import dataclasses
import json

import pytest

from realtime import bridge, debug
from tests.integration import test_pages
from tests.integration.test_pages import open_page, texts

rt = test_pages.rt  # the same fixture: a runtime whose client retries a closed port


@pytest.fixture
def findings(rt):
    """Five findings, two a page."""
    rt.settings = dataclasses.replace(rt.settings, table_rows=2)
    for i, severity in enumerate(("critical", "high", "high", "low", "low")):
        rt.store.apply("vulnerability_found", {"scan_id": "s1", "title": f"f{i}", "severity": severity})
    return rt


def test_page_box_shows_the_page_shown_and_the_chart_follows_the_filters(findings):
    at = open_page("pages/vulnerabilities.py")
    at.number_input(key="vulnerabilities_page").set_value(999).run()
    assert at.number_input(key="vulnerabilities_page").value == 3  # not 999 beside "page 3 of 3"
    assert "(page 3 of 3)" in texts(at)
    assert "By severity" in [s.value for s in at.subheader]
    at.multiselect[0].select("low").run()
    assert "By severity (filtered)" in [s.value for s in at.subheader]
    assert at.number_input(key="vulnerabilities_page").value == 1  # 2 matches: one page
    bars = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]
    assert dict(zip(bars["x"], bars["y"]))["low"] == 2 and dict(zip(bars["x"], bars["y"]))["high"] == 0


def test_cards_count_what_the_pages_list_after_a_gateway_restart(findings):
    findings.store.apply("metrics_update", {"total_scans": 8, "total_vulnerabilities": 1, "critical_count": 0})
    at = open_page("pages/dashboard.py")
    cards = {m.label: m for m in at.metric}
    assert cards["Total Scans"].value == "1" and cards["Vulnerabilities"].value == "5"
    assert cards["Critical"].value == "1"
    assert "The gateway reports 1 " in cards["Vulnerabilities"].proto.help


def test_debug_log_is_per_tab_and_the_server_switch_is_an_admins(rt, monkeypatch):
    at = open_page("pages/events.py")
    labels = [t.label for t in at.toggle]
    assert "Show the debug log in this tab" in labels
    assert not [label for label in labels if "debug" in label.lower() and "server" in label]  # not a viewer's
    assert "Debug logging is off for the whole server" in texts(at)
    at.toggle(key="show_debug_log").set_value(True).run()
    assert not debug.enabled() and not at.exception

    monkeypatch.setenv("BUGHUNT_SEND_FORM", "1")  # every visitor is an admin
    bridge.runtime.clear()
    bridge.runtime()
    at = open_page("pages/events.py")
    server = next(t for t in at.toggle if t.label == "Debug logging for the whole server (every viewer, stderr)")
    try:
        server.set_value(True).run()
        assert debug.enabled()
    finally:
        debug.enable(False)
        bridge.runtime().close()

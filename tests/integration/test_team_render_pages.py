"""Issue 18 part C under Streamlit's AppTest: the page box, the filtered severity chart, the
cards against the pages, the per-tab debug log."""
import json

import pytest

from realtime import bridge, debug
from tests.conftest import free_port
from tests.integration.test_pages import open_page, texts


@pytest.fixture
def rt(monkeypatch):
    monkeypatch.setenv("BUGHUNT_WS_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("BUGHUNT_TABLE_ROWS", "2")
    bridge.runtime.clear()
    runtime = bridge.runtime()
    for i, severity in enumerate(("critical", "high", "high", "low", "low")):
        runtime.store.apply("vulnerability_found", {"scan_id": "s1", "title": f"f{i}", "severity": severity})
    yield runtime
    runtime.close()
    bridge.runtime.clear()


def test_page_box_shows_the_page_shown_and_the_chart_follows_the_filters(rt):
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


def test_cards_count_what_the_pages_list_after_a_gateway_restart(rt):
    rt.store.apply("metrics_update", {"total_scans": 8, "total_vulnerabilities": 1, "critical_count": 0})
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

"""The dashboard in real Chromium (Debian's, driven by Playwright) against a real gateway."""
import re

import pytest
from playwright.sync_api import expect

from tests.conftest import (
    ARTIFACTS,
    GatewayProcess,
    StreamlitProcess,
    free_port,
    record_toasts,
    recorded_toast,
    wait_for,
)

TIMEOUT = 20_000  # ms


@pytest.fixture
def stack(gateway_factory):
    port = free_port()
    gateway = gateway_factory("--port", str(port), "--metrics-interval", "0.5")
    app = StreamlitProcess({"BUGHUNT_WS_URL": gateway.url, "BUGHUNT_REFRESH_SECONDS": "1"})
    yield gateway, app, port
    app.stop()


def shoot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def metric(page, label):
    card = page.locator('[data-testid="stMetric"]').filter(has_text=label)
    return card.locator('[data-testid="stMetricValue"]')


def test_live_dashboard_follows_the_gateway_through_a_restart(stack, page, gateway_factory):
    gateway, app, port = stack
    connected(page, app)
    sidebar = page.locator('[data-testid="stSidebar"]')
    expect(page.get_by_text(re.compile(r"^No scans yet — publish one"))).to_be_visible(timeout=TIMEOUT)

    gateway.publish("scan_started", {"scan_id": "b1", "scan_name": "Browser scan", "target": "https://shop.example"})
    gateway.publish("scan_progress", {"scan_id": "b1", "progress": 42, "phase": "active_recon",
                                      "current_step": "Crawling"})
    expect(page.get_by_text("Browser scan", exact=True)).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_text("42%")).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_text(re.compile(r"Current phase: active_recon"))).to_be_visible(timeout=TIMEOUT)

    gateway.publish("vulnerability_found", {"scan_id": "b1", "title": "SQL injection in login",
                                            "severity": "critical", "cvss_score": 9.8})
    expect(page.locator('[data-testid="stToast"]').filter(has_text="Critical finding: SQL injection in login")
           ).to_be_visible(timeout=TIMEOUT)
    expect(metric(page, "Total Scans")).to_have_text("1", timeout=TIMEOUT)
    expect(metric(page, "Active Scans")).to_have_text("1", timeout=TIMEOUT)
    expect(metric(page, "Vulnerabilities")).to_have_text("1", timeout=TIMEOUT)
    expect(metric(page, "Critical")).to_have_text("1", timeout=TIMEOUT)
    shoot(page, "dashboard")

    gateway.stop()
    expect(sidebar.get_by_text(re.compile(r"Disconnected — retrying"))).to_be_visible(timeout=TIMEOUT)
    shoot(page, "dashboard-disconnected")
    restarted = GatewayProcess("--port", str(port))
    try:
        expect(sidebar.get_by_text("Connected", exact=True)).to_be_visible(timeout=30_000)
        restarted.publish("scan_progress", {"scan_id": "b1", "progress": 77, "phase": "exploitation"})
        expect(page.get_by_text("77%")).to_be_visible(timeout=TIMEOUT)
        expect(page.get_by_text(re.compile(r"Current phase: exploitation"))).to_be_visible(timeout=TIMEOUT)
    finally:
        restarted.stop()


def connected(page, app, path=""):
    page.goto(f"{app.url}/{path}")
    expect(page.locator('[data-testid="stSidebar"]').get_by_text("Connected", exact=True)).to_be_visible(
        timeout=TIMEOUT)


def test_every_page_in_the_browser_with_screenshots(stack, page):
    gateway, app, _ = stack
    connected(page, app)
    gateway.publish("scan_started", {"scan_id": "p1", "scan_name": "Pages scan", "target": "https://p.example"})
    for i, severity in enumerate(("critical", "high", "medium", "low", "info")):
        gateway.publish("vulnerability_found", {"scan_id": "p1", "title": f"Finding {i}", "severity": severity,
                                                "url": f"https://p.example/{i}", "cvss_score": 9.0 - i})
        gateway.publish("scan_progress", {"scan_id": "p1", "progress": 10 * (i + 1), "phase": "vulnerability_testing"})
    gateway.publish("notification", {"message": "Hello team", "title": "Heads up", "type": "warning"})
    for path, expected in [("", "Active Scans"), ("scans", "Start a scan"), ("scan?id=p1", "Progress over time"),
                           ("vulnerabilities", "Export CSV"), ("notifications", "Hello team"),
                           ("events", "Rejected events")]:
        page.goto(f"{app.url}/{path}")
        expect(page.get_by_text(expected).first).to_be_visible(timeout=TIMEOUT)
        expect(page.locator('[data-testid="stException"]')).to_have_count(0)
        page.wait_for_timeout(1500)  # let charts draw
        shoot(page, "page-" + (path.split("?")[0] or "dashboard"))


def test_start_scan_is_not_offered_by_a_gateway_without_a_launcher(stack, page):
    _, app, _ = stack
    connected(page, app, "scans")
    expect(page.get_by_text("This gateway has no scan launcher")).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_label("Target URL")).to_have_count(0)  # not a form that can only fail


def test_demo_mode_shows_a_running_scan_within_20_seconds(page):
    app = StreamlitProcess({})
    try:
        page.goto(app.url)
        expect(page.get_by_text(re.compile("Demo mode"))).to_be_visible(timeout=20_000)
        expect(page.locator('[data-testid="stProgress"]').first).to_be_visible(timeout=20_000)
        shoot(page, "demo")
    finally:
        app.stop()


HOSTILE = ("**HOSTILEBOLD** [HOSTILELINK](javascript:alert(1)) ![HOSTILEIMG](http://127.0.0.1:9/p.png) "
           "<img src=x onerror=alert(2)> https://evil.example/HOSTILEURL :red[HOSTILERED]")


def assert_inert(page):
    """Nothing built from the hostile text: no formatting, link, image or script, and the text
    is there as the characters it is."""
    for tag, text in (("strong", "HOSTILEBOLD"), ("b", "HOSTILEPHASE"), ("a", "HOSTILELINK"),
                      ("span", "HOSTILERED")):  # elements whose whole text is the payload's markup
        assert page.locator(tag).filter(has_text=re.compile(f"^{text}$")).count() == 0, tag
    for selector in ("a[href^='javascript']", "img[src*='127.0.0.1:9']", "img[src='x']"):
        assert page.locator(selector).count() == 0, selector
    # no link leads to the hostile host (a link to the target's own page carries the text quoted)
    hosts = page.evaluate("[...document.links].map(a => new URL(a.href, location.href).hostname)")
    assert not [h for h in hosts if h.endswith("evil.example")], hosts


def test_hostile_text_renders_as_text_in_cards_toasts_and_pages(stack, page):
    gateway, app, _ = stack
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    connected(page, app)
    gateway.publish("scan_started", {"scan_id": "evil", "scan_name": HOSTILE, "target": HOSTILE})
    gateway.publish("scan_progress", {"scan_id": "evil", "progress": 5, "phase": "<b>HOSTILEPHASE</b>",
                                      "current_step": HOSTILE})
    # Shown before the finding comes: events of one tick make one summary toast, not a finding's own.
    expect(page.get_by_text("<b>HOSTILEPHASE</b>", exact=False).first).to_be_visible(timeout=TIMEOUT)
    record_toasts(page)
    gateway.publish("vulnerability_found", {"scan_id": "evil", "title": HOSTILE, "severity": "critical",
                                            "url": "javascript:alert(3)"})
    toast = recorded_toast(page, "Critical finding", timeout=TIMEOUT / 1000)
    assert "**HOSTILEBOLD** [HOSTILELINK](javascript:alert(1))" in toast["text"]
    assert "img" not in toast["tags"] and all(h.startswith("finding?id=") for h in toast["hrefs"]), toast
    wait_for(lambda: HOSTILE in page.inner_text("body"), timeout=TIMEOUT / 1000)
    assert_inert(page)
    shoot(page, "hostile-dashboard")
    gateway.publish("notification", {"title": HOSTILE, "message": HOSTILE, "type": "error"})
    for path in ("notifications", "scan?id=evil", "vulnerabilities", "scans", "events"):
        page.goto(f"{app.url}/{path}")
        expect(page.locator('[data-testid="stSidebar"]').get_by_text("Connected", exact=True)).to_be_visible(
            timeout=TIMEOUT)
        page.wait_for_timeout(1500)
        assert_inert(page)
    assert dialogs == []


def test_exports_are_built_when_clicked_from_the_newest_findings(stack, page):
    gateway, app, _ = stack
    connected(page, app, "vulnerabilities")
    gateway.publish("vulnerability_found", {"scan_id": "e1", "title": "=HYPERLINK(\"http://evil\")",
                                            "severity": "high"})
    expect(page.get_by_text("1 of 1 findings")).to_be_visible(timeout=TIMEOUT)
    gateway.publish("vulnerability_found", {"scan_id": "e1", "title": "Later finding", "severity": "low"})
    expect(page.get_by_text("2 of 2 findings")).to_be_visible(timeout=TIMEOUT)  # the page itself ran before it
    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    csv = open(download.value.path()).read()
    assert "Later finding" in csv  # built at the click
    assert "'=HYPERLINK" in csv  # formula-safe


def test_dashboard_restart_keeps_scans_findings_and_read_flags(gateway, page, tmp_path):
    env = {"BUGHUNT_WS_URL": gateway.url, "BUGHUNT_JOURNAL": str(tmp_path / "journal.sqlite")}
    app = StreamlitProcess(env)
    try:
        connected(page, app)
        gateway.publish("scan_started", {"scan_id": "k1", "scan_name": "Kept scan", "target": "https://k.example"})
        gateway.publish("vulnerability_found", {"scan_id": "k1", "title": "Kept finding", "severity": "high"})
        for i in range(2):
            gateway.publish("notification", {"id": f"kn{i}", "message": f"Kept note {i}"})
        expect(page.get_by_text("Kept scan", exact=True)).to_be_visible(timeout=TIMEOUT)
        page.goto(f"{app.url}/notifications")
        expect(page.get_by_text("2 unread · 2 in all")).to_be_visible(timeout=TIMEOUT)
        page.get_by_role("button", name="Mark all as read").click()
        expect(page.get_by_text("0 unread · 2 in all")).to_be_visible(timeout=TIMEOUT)
    finally:
        app.stop()
    gateway.stop()  # what comes back must come from the journal alone
    app = StreamlitProcess(env, port=app.port)  # the same address: the same browser, the same read flags
    try:
        page.goto(app.url)
        expect(page.get_by_text("Kept scan", exact=True)).to_be_visible(timeout=TIMEOUT)
        expect(metric(page, "Vulnerabilities")).to_have_text("1", timeout=TIMEOUT)
        page.goto(f"{app.url}/notifications")
        expect(page.get_by_text("0 unread · 2 in all")).to_be_visible(timeout=TIMEOUT)
    finally:
        app.stop()

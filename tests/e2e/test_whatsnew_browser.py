"""Shared triage in real Chromium (issue 19): a triage made in one browser shows in another within
one refresh, and the same fingerprint in a later scan arrives already triaged. Two browser
contexts against one `streamlit run app.py` and one gateway with a secret (the dashboard holds a
viewer token; viewers may triage by default). Needs the gateway side of issue 19."""
import importlib.util
import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from realtime.auth import Authenticator
from tests.conftest import GatewayProcess, StreamlitProcess, told_of

pytestmark = pytest.mark.skipif(importlib.util.find_spec("realtime.gateway.triage") is None,
                                reason="needs the gateway side of issue 19 (triage_finding, fingerprints)")
SECRET = "whatsnew-browser-" + "s" * 40
REFRESH = 1.0  # seconds: BUGHUNT_REFRESH_SECONDS of the dashboard
ONE_REFRESH = int((REFRESH + 6.0) * 1000)  # ms: a refresh, plus slack (snapshot age, socket hop, busy CI)
TIMEOUT = 20_000  # ms
TITLE = "Open redirect in /next"


@pytest.fixture(scope="module")
def stack():
    auth = Authenticator(SECRET)
    gateway = GatewayProcess(env={"BUGHUNT_SECRET": SECRET})
    app = None
    try:
        app = StreamlitProcess({"BUGHUNT_WS_URL": gateway.url, "BUGHUNT_REFRESH_SECONDS": str(REFRESH),
                                "BUGHUNT_WS_TOKEN": auth.mint("alice", "viewer")})
        yield gateway, app, auth.mint("scanner", "producer")
    finally:
        if app is not None:
            app.stop()
        gateway.stop()


def publish_scan(gateway, token, scan_id):
    gateway.publish("scan_started", {"scan_id": scan_id, "scan_name": f"Rescan {scan_id}",
                                     "target": "https://shop.example"}, token=token)
    gateway.publish("vulnerability_found", {"scan_id": scan_id, "title": TITLE, "severity": "high",
                                            "url": "https://shop.example/next?to=", "vulnerability_type": "redirect"},
                    token=token)


def open_scan(context, app, scan_id):
    page = context.new_page()
    page.goto(f"{app.url}/scan?id={scan_id}")
    expect(page.locator('[data-testid="stSidebar"]').get_by_text("Connected", exact=True)).to_be_visible(
        timeout=30_000)  # a first page of a fresh server, on a busy machine
    return page


def slow_down(page):
    """This tab refreshes every 10 s (the sidebar's slider), so an open dropdown is not redrawn
    under the pointer while the test picks from it."""
    page.get_by_role("slider").press("End")
    expect(page.get_by_test_id("stSliderThumbValue")).to_have_text("10.0", timeout=TIMEOUT)


def choose(page, label, option, tries=5):
    """Pick `option` of the select box `label`; again when a rerun (the previous choice's) redrew
    the box and closed its list before the pick."""
    for _ in range(tries):
        page.locator('[data-testid="stSelectbox"]').filter(has_text=label).click()
        try:
            page.get_by_role("option", name=option).first.click(timeout=3000)
            return
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    raise AssertionError(f"could not choose {option!r} in {label!r}")


def test_a_triage_in_one_browser_shows_in_another_within_one_refresh(stack, contexts):
    gateway, app, producer = stack
    publish_scan(gateway, producer, "w1")
    one, other = (contexts(viewport={"width": 1400, "height": 1000}) for _ in range(2))
    a, b = open_scan(one, app, "w1"), open_scan(other, app, "w1")
    for page in (a, b):
        expect(page.get_by_text("Finding details")).to_be_visible(timeout=TIMEOUT)
        expect(page.get_by_text("No findings match")).to_have_count(0)
    slow_down(a)
    choose(a, "Finding details", TITLE)
    expect(a.get_by_text(re.compile(r"^fingerprint: \S+"))).to_be_visible(timeout=TIMEOUT)
    choose(a, "Triage", "false_positive")
    a.get_by_label("Note").fill("staging host, not production")
    a.get_by_role("button", name="Save triage").click()
    expect(a.get_by_text("Triaged: false_positive")).to_be_visible(timeout=TIMEOUT)

    # The other browser: the finding leaves its default view, and a toast says who did it.
    # The toast first: it goes after a while, and the view's check may use up its time.
    with told_of(b):
        expect(b.locator('[data-testid="stToast"]').filter(has_text="Marked false_positive")).to_contain_text(
            "(by alice)", timeout=ONE_REFRESH)
        expect(b.get_by_text("No findings match")).to_be_visible(timeout=ONE_REFRESH)
    slow_down(b)
    b.get_by_role("button", name="Triaged").click()  # the New / Known / Triaged filter
    choose(b, "Finding details", TITLE)
    expect(b.get_by_text(re.compile(r"^triage: false_positive by alice at .* — staging host, not production$"))
           ).to_be_visible(timeout=TIMEOUT)

    # The same finding in a later scan of the target arrives triaged (and known).
    publish_scan(gateway, producer, "w2")
    later = open_scan(other, app, "w2")
    expect(later.get_by_text("No findings match")).to_be_visible(timeout=TIMEOUT)
    slow_down(later)
    later.get_by_role("button", name="Triaged").click()
    choose(later, "Finding details", TITLE)
    expect(later.get_by_text("new: known")).to_be_visible(timeout=TIMEOUT)
    expect(later.get_by_text(re.compile(r"^triage: false_positive by alice"))).to_be_visible(timeout=TIMEOUT)

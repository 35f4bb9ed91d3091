"""Issue 18, part A, in real Chromium (desktop 1400×1000 and phone 390×844) against a real gateway
and `streamlit run app.py`: share links that open, pickers that keep the choice under a live
stream, times in the viewer's zone, read flags per viewer. One gateway and one dashboard for the
module."""
import re
import threading

import pytest
from playwright.sync_api import expect

from realtime.auth import Authenticator
from tests.conftest import GatewayProcess, StreamlitProcess

SECRET = "team-share-" + "s" * 40
AUTH = Authenticator(SECRET)
TIMEOUT = 20_000
DESKTOP, PHONE = {"width": 1400, "height": 1000}, {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def stack():
    gateway = GatewayProcess("--metrics-interval", "60", env={"BUGHUNT_SECRET": SECRET})
    app = StreamlitProcess({"BUGHUNT_WS_URL": gateway.url, "BUGHUNT_SECRET": SECRET,
                            "BUGHUNT_WS_TOKEN": AUTH.mint("dashboard", "viewer"), "BUGHUNT_REFRESH_SECONDS": "0.5"})
    try:
        yield gateway, app
        log = "".join(app.log + gateway.log)
        assert "Traceback" not in log, log[log.find("Traceback") - 300:][:3000]
    finally:
        app.stop()
        gateway.stop()


def publish(gateway, event, data):
    gateway.publish(event, data, token=AUTH.mint("scanner", "producer"))


@pytest.fixture
def open_tab(contexts, stack):
    """A fresh browser (its own context: storage, time zone) on a dashboard page."""
    def open_(path, viewport=DESKTOP, **options):
        page = contexts(viewport=viewport, **options).new_page()
        page.goto(f"{stack[1].url}/{path}")
        return page

    return open_


def connected(page):
    """Connected (the dashboard's client starts with its first visitor: slower on a loaded machine)."""
    expect(page.locator('[data-testid="stSidebar"]').get_by_text("Connected", exact=True)).to_be_visible(
        timeout=3 * TIMEOUT)


def pick(page, label, option, multi=False):
    page.get_by_role("combobox", name=label).click()
    page.keyboard.type(option)  # long lists are virtual: only the options in view exist
    page.get_by_role("option", name=option).click()
    if multi:  # a multiselect stays open; Escape on a clearable selectbox would clear the choice
        page.keyboard.press("Escape")


def test_a_share_link_is_a_full_url_that_opens_the_scan_on_desktop_and_phone(stack, open_tab):
    gateway, app = stack
    publish(gateway, "scan_started", {"scan_id": "sh1", "scan_name": "Shared scan", "target": "https://t.example"})
    owner = open_tab("scan?id=sh1")
    connected(owner)
    owner.get_by_text("Share a read-only link").click()
    owner.get_by_role("button", name="Create link").click()
    link = owner.locator('[data-testid="stCode"]').filter(has_text="token=").inner_text().strip()
    assert re.fullmatch(re.escape(app.url) + r"/scan\?id=sh1&token=[\w.-]+", link), link
    for viewport in (DESKTOP, PHONE):
        guest = open_tab("", viewport)
        guest.goto(link)
        expect(guest.locator("h1").filter(has_text="Shared scan")).to_be_visible(timeout=TIMEOUT)
        expect(guest.get_by_text("Progress over time")).to_be_visible()
        expect(guest.get_by_text("Page not found")).to_have_count(0)
        expect(guest.get_by_role("dialog")).to_have_count(0)
        assert guest.url == link  # not rewritten to /?id=…
        expect(guest.locator('[data-testid="stSidebarNav"]')).to_have_count(0)  # read-only: one scan


class Stream:
    """New scans arriving every 0.2 s while the test picks: every picker's options change."""

    def __init__(self, gateway):
        self.gateway, self.stop, self.count = gateway, threading.Event(), 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.wait(0.2):
            self.count += 1
            publish(self.gateway, "scan_started", {"scan_id": f"new{self.count}", "scan_name": f"New {self.count}"})

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def test_pickers_keep_the_choice_while_scans_arrive(stack, open_tab):
    gateway, _ = stack
    page = open_tab("vulnerabilities")
    connected(page)
    publish(gateway, "scan_started", {"scan_id": "pk1", "scan_name": "Picked"})  # after the Scan list was drawn
    publish(gateway, "vulnerability_found", {"scan_id": "pk1", "title": "Picked finding", "severity": "high"})
    page.get_by_role("button", name=re.compile(r"new scans? since the Scan list was drawn: update it")).click(
        timeout=TIMEOUT)  # the list says it is behind, and catches up when asked
    with Stream(gateway) as stream:
        pick(page, "Scan", "Picked (pk1)")
        expect(page).to_have_url(re.compile(r"scan=pk1"), timeout=TIMEOUT)
        start = stream.count
        while stream.count < start + 10:  # two seconds of new scans
            page.wait_for_timeout(200)
        pick(page, "Severity", "high", multi=True)  # the next filter change
        expect(page.get_by_role("combobox", name="Scan")).to_have_value("Picked (pk1)")
        expect(page).to_have_url(re.compile(r"scan=pk1"))
        expect(page).to_have_url(re.compile(r"severities=high"))
        expect(page.get_by_text(re.compile(r"^1 of [\d,]+ findings"))).to_be_visible(timeout=TIMEOUT)

        chooser = open_tab("scan")
        expect(chooser.get_by_role("combobox", name="Scan")).to_be_visible(timeout=TIMEOUT)
        start = stream.count
        while stream.count < start + 25:  # five seconds of new scans before the choice
            chooser.wait_for_timeout(500)
        pick(chooser, "Scan", "Picked (pk1)")
        expect(chooser.locator("h1").filter(has_text="Picked")).to_be_visible(timeout=TIMEOUT)
        expect(chooser).to_have_url(re.compile(r"/scan\?id=pk1"))


def test_times_are_the_viewers_with_the_zone_named_and_exports_in_utc(stack, open_tab):
    gateway, _ = stack
    publish(gateway, "scan_started", {"scan_id": "tz1", "scan_name": "Zoned", "timestamp": "2026-11-27T11:10:10Z"})
    publish(gateway, "vulnerability_found", {"scan_id": "tz1", "title": "Zoned finding", "severity": "low",
                                             "timestamp": "2026-11-27T11:10:12Z"})
    page = open_tab("scan?id=tz1", PHONE, timezone_id="America/Los_Angeles")
    expect(page.get_by_text(re.compile(r"started 2026-11-27 03:10:10 PST \(\d+ (s|min|h|d)"))).to_be_visible(
        timeout=TIMEOUT)
    page.goto(page.url.split("/scan")[0] + "/vulnerabilities?q=Zoned")
    expect(page.get_by_text(re.compile(r"^1 of [\d,]+ findings"))).to_be_visible(timeout=TIMEOUT)
    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    text = open(download.value.path(), encoding="utf-8").read()
    assert "2026-11-27T11:10:12.000Z" in text, text
    assert not re.search(r"\d\d:\d\d:\d\d(\.\d+)?(,|$)", text, re.M), text  # no naive time anywhere
    assert download.value.suggested_filename.endswith("Z.csv")


def unread(page, count):
    """The Notifications page and the sidebar say `count` unread; the navigation names no count to contradict them."""
    expect(page.get_by_text(re.compile(rf"(^| · ){count} unread · \d+ in all$"))).to_be_visible(timeout=TIMEOUT)
    sidebar = page.locator('[data-testid="stSidebar"]')
    expect(sidebar.get_by_text(f"{count} unread notification{'' if count == 1 else 's'} ·", exact=False)).to_be_visible(
        timeout=TIMEOUT)
    nav = page.locator('[data-testid="stSidebarNav"]')
    expect(nav.get_by_text("Notifications", exact=True)).to_be_visible(
        timeout=TIMEOUT)


def test_read_flags_are_per_viewer_and_mark_all_marks_what_the_filter_shows(stack, open_tab):
    gateway, _ = stack
    page = open_tab("notifications")
    connected(page)
    before = int(page.get_by_text(re.compile(r"^\d+ unread · ")).inner_text().split()[0])
    for i in range(3):
        publish(gateway, "notification", {"id": f"err{i}", "type": "error", "message": f"Error note {i}"})
    for i in range(2):
        publish(gateway, "notification", {"id": f"inf{i}", "type": "info", "message": f"Info note {i}"})
    unread(page, before + 5)
    other = open_tab("notifications")  # another browser: another person
    unread(other, before + 5)

    page.goto(page.url.split("?")[0] + "?type=error")  # a filtered view, from its URL
    expect(page.get_by_text("Error note 0")).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_text("Info note 0")).to_have_count(0)
    page.get_by_role("button", name="Mark all as read").click()
    unread(page, before + 2)  # the 3 errors shown, not the infos
    page.reload()
    unread(page, before + 2)  # kept for this browser across page loads
    unread(other, before + 5)  # the other person's count is theirs

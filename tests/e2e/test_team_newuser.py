"""Issue 18 tried again as a new user would, in real Chromium (a browser in Los Angeles): empty
pages teach the command (desktop and phone), the navigation's unread count follows the sidebar
live, a 500-character title is readable from the findings table itself, and chart time axes are
the viewer's clock with the zone named. One gateway and one dashboard for the module."""
import json
import re
import urllib.error
import urllib.request
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.conftest import GatewayProcess, StreamlitProcess, console, told_of

TIMEOUT = 40_000  # ms: the machine running the suite may be busy
ZONE = "America/Los_Angeles"
LONG_TITLE = ("Stored XSS in the profile page " * 20)[:488] + "END-OF-TITLE"
HEADER = 35  # st.dataframe's header height (px)
TITLE_HELP = "Double-click a title"


@pytest.fixture(scope="module")
def stack():
    gateway = GatewayProcess()
    app = StreamlitProcess({"BUGHUNT_WS_URL": gateway.url, "BUGHUNT_REFRESH_SECONDS": "1"})
    yield gateway, app
    app.stop()
    gateway.stop()


def open_tab(contexts, app, path="", size=(1400, 1000)):
    context = contexts(viewport={"width": size[0], "height": size[1]}, timezone_id=ZONE)
    page = context.new_page()
    page.goto(f"{app.url}/{path}")
    expect(page.locator('[data-testid="stSidebar"]').get_by_text("Connected", exact=True)).to_be_attached(
        timeout=TIMEOUT)
    return context, page


def go(page, name):
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=name).click()


def nav_link(page, name):
    return page.locator('[data-testid="stSidebarNav"]').get_by_text(name, exact=True)


def test_empty_pages_teach_then_the_unread_count_follows_live(stack, contexts):
    """Before any event: each page says what to do. Then notifications arrive while the tab sits
    on another page: the sidebar's count follows without a click, and after Mark all as read; the
    navigation names no count that could say otherwise."""
    gateway, app = stack
    phone, page = open_tab(contexts, app, size=(390, 844))
    teaching = page.get_by_text("No scans yet — publish one with this command")
    expect(teaching).to_be_visible(timeout=TIMEOUT)
    command = page.locator('[data-testid="stCode"]').filter(has_text=f"curl -X POST {gateway.url}/api/events")
    expect(command).to_be_visible(timeout=TIMEOUT)  # drawn after the text: a busy machine may take a while
    assert command.bounding_box()["x"] + command.bounding_box()["width"] <= 390  # wrapped, on the screen
    phone.close()

    context, page = open_tab(contexts, app)
    expect(page.get_by_text("No scans yet — publish one with this command")).to_be_visible(timeout=TIMEOUT)
    go(page, "Notifications")
    expect(page.get_by_text("No notifications yet — ")).to_be_visible(timeout=TIMEOUT)
    expect(page.locator('[data-testid="stCode"]').filter(has_text='"event": "notification"')).to_be_visible(
        timeout=TIMEOUT)
    go(page, "Live events")
    expect(page.get_by_text("No scans yet — publish one with this command")).to_be_visible(timeout=TIMEOUT)

    gateway.publish("notification", {"type": "info", "title": "One", "message": "first"})
    gateway.publish("notification", {"type": "error", "title": "Two", "message": "second"})
    sidebar = page.locator('[data-testid="stSidebar"]')
    expect(sidebar.get_by_text("2 unread notifications ·", exact=False)).to_be_visible(timeout=TIMEOUT)  # no click
    expect(page.get_by_text("No scans yet — publish one with this command")).to_be_visible(timeout=TIMEOUT)
    go(page, "Notifications")
    page.get_by_role("button", name="Mark all as read").click()
    expect(sidebar.get_by_text("0 unread notifications", exact=False)).to_be_visible(timeout=TIMEOUT)
    gateway.publish("notification", {"type": "info", "title": "Three", "message": "third"})
    expect(sidebar.get_by_text("1 unread notification ·", exact=False)).to_be_visible(timeout=TIMEOUT)
    expect(nav_link(page, "Notifications")).to_be_visible()  # no count of its own


def test_a_click_in_a_pages_first_moment_is_not_undone(stack, contexts):
    """A fresh browser's first page asks the browser for its id; the answer must not undo the
    page the viewer chose meanwhile (it did when the answer came as a rerun: 2 of 15 fresh tabs
    clicking Notifications at once landed back on the Dashboard)."""
    _, app = stack
    for _ in range(4):  # each a fresh browser: each asks for its id
        context = contexts(viewport={"width": 1400, "height": 1000}, timezone_id=ZONE)
        page = context.new_page()
        said = console(page)
        page.goto(app.url)
        expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible(timeout=TIMEOUT)
        go(page, "Notifications")
        expect(page.get_by_role("heading", name="Notifications", level=1)).to_be_visible(timeout=TIMEOUT)
        sidebar = page.locator('[data-testid="stSidebar"]')
        with told_of(page, said):
            expect(sidebar.get_by_text(re.compile(r"\d+ unread notification"))).to_be_visible(timeout=TIMEOUT)
        expect(page.get_by_role("heading", name="Notifications", level=1)).to_be_visible()  # still there
        context.close()


def post_id(app, body: bytes, origin: str | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json", **({"Origin": origin} if origin else {})}
    request = urllib.request.Request(f"{app.url}/_bughunt/viewer", data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, {}
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def test_the_browser_id_route_refuses_with_reasons(stack):
    _, app = stack
    good = json.dumps({"ticket": "a" * 32, "id": "b" * 32}).encode()
    assert post_id(app, good) == (204, {})
    status, reason = post_id(app, b"{not json")
    assert status == 400 and "ticket" in reason["error"]
    status, reason = post_id(app, json.dumps({"ticket": "x", "id": "b" * 32}).encode())
    assert status == 400 and "32 hex digits" in reason["error"]
    assert post_id(app, b" " * 300)[0] == 413
    status, reason = post_id(app, good, origin="http://evil.example")
    assert status == 403 and "another site" in reason["error"]
    assert not [line for line in app.log if "Traceback" in line]


def title_header_x(page, grid) -> float:
    """Where the title column is: hover along the header until its help (the column's tooltip) shows."""
    tip = page.locator('[data-testid="stDataFrameTooltipContent"]')
    for x in range(90, int(grid.bounding_box()["width"]) - 10, 30):
        box = grid.bounding_box()  # read at each step: the page above the table may still be growing
        page.mouse.move(box["x"] + x, box["y"] + HEADER / 2)
        try:
            expect(tip).to_contain_text(TITLE_HELP, timeout=700)
            return box["x"] + x
        except AssertionError:
            continue
    pytest.fail("no title column with its help in the findings table")


def test_long_title_from_the_table_and_chart_axes_in_the_viewers_zone(stack, contexts):
    gateway, app = stack
    gateway.publish("scan_started", {"scan_id": "z1", "scan_name": "Zone scan", "target": "https://zone.example"})
    gateway.publish("scan_progress", {"scan_id": "z1", "progress": 30, "phase": "recon"})
    gateway.publish("vulnerability_found", {"scan_id": "z1", "id": "long", "title": LONG_TITLE, "severity": "high"})
    context, page = open_tab(contexts, app, "vulnerabilities")
    grid = page.locator('[data-testid="stDataFrame"]').first
    expect(grid).to_be_visible(timeout=TIMEOUT)
    x = title_header_x(page, grid)
    page.mouse.dblclick(x, grid.bounding_box()["y"] + HEADER * 1.5)  # the first row's title cell
    overlay = page.locator("textarea").filter(has_text="END-OF-TITLE")
    expect(overlay).to_be_visible(timeout=TIMEOUT)
    assert overlay.input_value() == LONG_TITLE  # every character, in the table itself
    page.keyboard.press("Escape")

    page.goto(f"{app.url}/scan?id=z1")
    charts = page.locator(".js-plotly-plot")
    expect(charts.first.locator(".xtitle")).to_have_text(f"time ({ZONE})", timeout=TIMEOUT)
    first = charts.first.evaluate("el => el.data[0].x[0]")
    now = datetime.now(ZoneInfo(ZONE))
    assert first[:10] == now.strftime("%Y-%m-%d") and abs(int(first[11:13]) - now.hour) in (0, 1, 23), first
    go(page, "Dashboard")
    over_time = page.locator(".js-plotly-plot").filter(has=page.locator(".xtitle"))
    # One time axis on the Dashboard (the list form waits out the Scan page's charts as they go).
    expect(over_time.locator(".xtitle")).to_have_text([f"time ({ZONE})"], timeout=TIMEOUT)

"""Issue 18, part B in real Chromium, at desktop (1400×1000) and phone (390×844) width: from a
findings table into a finding (every field, a 500-character title whole, the description), from
the finding to its scan and target, from the Scans table into a scan, the target view listing
the target's scans with durations and severities, a finding toast's link."""
import re
import uuid

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from tests.conftest import ARTIFACTS, GatewayProcess, StreamlitProcess, record_toasts, recorded_toast

TIMEOUT = 40_000  # ms: generous, the machine running the suite may be busy
SHOP = "https://shop.example"
LONG_TITLE = ("Reflected XSS in the search form " * 20)[:500]
DESCRIPTION = "The q parameter is echoed into the page unencoded. **not bold** [not a link](javascript:x)"
VIEWPORTS = {"desktop": {"width": 1400, "height": 1000}, "phone": {"width": 390, "height": 844}}
HEADER, ROW = 35, 35  # st.dataframe's header and row heights (px)
OPEN_X = 37  # the middle of a findings table's "open" link (a small column, 75 px, centred text)
SCAN_ID_X = 14  # on a short scan id (left-aligned, after 8 px of padding)


@pytest.fixture(scope="module")
def stack():
    """One gateway and one dashboard for the module, holding two scans of one target."""
    gateway = GatewayProcess()
    app = StreamlitProcess({"BUGHUNT_WS_URL": gateway.url, "BUGHUNT_REFRESH_SECONDS": "1",
                            "BUGHUNT_STUCK_AFTER_SECONDS": "1"})
    for event, data in [
        ("scan_started", {"scan_id": "s1", "scan_name": "Shop Monday", "target": SHOP}),
        ("vulnerability_found", {"scan_id": "s1", "id": "c1", "title": "SQL injection", "severity": "critical"}),
        ("scan_completed", {"scan_id": "s1", "duration": 95}),
        ("scan_started", {"scan_id": "s2", "scan_name": "Shop Tuesday", "target": SHOP}),
        ("vulnerability_found", {"scan_id": "s2", "id": "low-1", "title": "Cookie flags", "severity": "low"}),
        ("vulnerability_found", {"scan_id": "s2", "id": "long", "title": LONG_TITLE, "severity": "high",
                                 "description": DESCRIPTION, "cve": ["CVE-2024-1234"], "cwe": ["CWE-79"],
                                 "cvss_score": 6.1, "references": ["https://ref.example/xss"],
                                 "remediation": "Encode output.", "extracted": ["q=<svg>"],
                                 "evidence": "GET /search?q=<svg onload=1>", "details": {"matcher": "body"}}),
    ]:
        gateway.publish(event, data)
    yield gateway, app
    app.stop()
    gateway.stop()


@pytest.fixture(params=list(VIEWPORTS))
def tab(request, contexts):
    context = contexts(viewport=VIEWPORTS[request.param])
    return context, context.new_page()


def open_cell(context, page, row, x):
    """Click the link at `x` px in the first (pinned) column of the table's `row` (from 0):
    st.dataframe opens a link column's URL in a new tab, which is returned. The grid follows a
    link only once it has seen the pointer over it: a click may need to come again."""
    grid = page.locator('[data-testid="stDataFrame"]').first
    expect(grid).to_be_visible(timeout=TIMEOUT)
    grid.scroll_into_view_if_needed()
    where = {"x": x, "y": HEADER + ROW * row + ROW // 2}
    for _ in range(5):  # attempts
        grid.hover(position=where)
        try:
            with context.expect_page(timeout=5_000) as opened:
                grid.click(position=where)
        except PlaywrightTimeout:
            continue
        new = opened.value
        new.wait_for_load_state()
        return new
    raise AssertionError(f"no link opened at {where}")


def visit(page, app, path, ready):
    """Open `path` and wait for the dashboard to be connected and show `ready`."""
    page.goto(app.url + path)
    expect(page.locator('[data-testid="stSidebar"]').get_by_text("Connected", exact=True)).to_be_attached(
        timeout=60_000)  # (a phone shows the sidebar collapsed)
    expect(page.get_by_text(ready)).to_be_visible(timeout=TIMEOUT)


def heading(page, text):
    return page.get_by_role("heading").filter(has_text=text).first


def test_from_vulnerabilities_into_a_finding_then_its_scan_and_target(stack, tab):
    gateway, app = stack
    context, page = tab
    visit(page, app, "/vulnerabilities", "3 of 3 findings")
    finding = open_cell(context, page, 0, OPEN_X)  # newest first: the long title
    assert re.search(r"/finding\?id=long$", finding.url), finding.url
    expect(heading(finding, LONG_TITLE)).to_be_visible(timeout=TIMEOUT)  # whole, not cut
    assert LONG_TITLE in heading(finding, LONG_TITLE).inner_text()
    finding.screenshot(path=str(ARTIFACTS / f"finding-{page.viewport_size['width']}.png"), full_page=True)
    codes = finding.locator('[data-testid="stCode"] code')
    for block in (DESCRIPTION, "Encode output.", "GET /search?q=<svg onload=1>", "matcher: body"):
        expect(codes.filter(has_text=block)).to_have_count(1)  # as the characters they are
    for line in ("cve: CVE-2024-1234", "cwe: CWE-79", "cvss: 6.1", "references: https://ref.example/xss",
                 "extracted: q=<svg>"):
        expect(finding.get_by_text(line, exact=True)).to_be_visible()
    first_seen = re.compile(r"First seen \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+ · last seen")
    expect(finding.get_by_text(first_seen)).to_be_visible()
    assert finding.locator("a", has_text="not a link").count() == 0  # untrusted text stays inert

    finding.get_by_role("link", name=re.compile("^Scan: Shop Tuesday")).click()
    expect(finding.get_by_role("heading", name="Shop Tuesday")).to_be_visible(timeout=TIMEOUT)
    assert finding.url.endswith("/scan?id=s2")
    finding.get_by_role("link", name="Every scan of this target").click()
    expect(finding.get_by_role("heading", name=SHOP)).to_be_visible(timeout=TIMEOUT)
    assert finding.url.endswith("/target?name=https%3A%2F%2Fshop.example")
    target_lists_both_scans(finding)


def grid_rows(page, across=False):
    """The first table's rows as {column: text}, read from the accessible table the grid keeps
    inside its canvas (a link cell gives its URL). The grid holds only the columns in view:
    `across` scrolls it to its right end (a phone), merging what each view holds."""
    grid = page.locator('[data-testid="stDataFrame"]').first
    expect(grid.locator('tbody tr[role="row"]').first).to_be_attached(timeout=TIMEOUT)
    rows, scroller = read_rows(grid), grid.locator(".dvn-scroller")
    columns = int(grid.locator('table[role="grid"]').get_attribute("aria-colcount"))
    while across and len(rows[0]) < columns:
        before = grid.evaluate(f"grid => {HEADERS_JS}")
        scroller.evaluate("el => { el.scrollLeft += el.clientWidth * 0.8; }")
        page.wait_for_function(f"([grid, before]) => {HEADERS_JS} !== before", arg=[grid.element_handle(), before],
                               timeout=TIMEOUT)  # the grid has rendered the columns now in view
        rows = [{**a, **b} for a, b in zip(rows, read_rows(grid))]
    return rows


HEADERS_JS = "[...grid.querySelectorAll('th[role=columnheader]')].map(h => h.textContent).join('|')"


def read_rows(grid):
    columns = [h.strip() for h in grid.locator('th[role="columnheader"]').all_text_contents()]
    return [dict(zip(columns, row.locator('td[role="gridcell"]').all_text_contents()))
            for row in grid.locator('tbody tr[role="row"]').all()]


def target_lists_both_scans(page):
    """The target view's table: both scans, newest first, with status, duration and severities."""
    newest, oldest = grid_rows(page, across=True)
    assert (newest["scan id"], oldest["scan id"]) == ("scan?id=s2", "scan?id=s1"), (newest, oldest)
    assert newest["status"].startswith("running") and re.fullmatch(r"\d+ s|\d+ min \d+ s", newest["duration"])
    assert (oldest["status"], oldest["duration"]) == ("completed", "1 min 35 s"), oldest
    assert (oldest["critical"], newest["high"], newest["low"], oldest["high"]) == ("1", "1", "1", "0")


def test_from_scans_into_a_scan_with_status_and_id_in_view(stack, tab):
    gateway, app = stack
    context, page = tab
    visit(page, app, "/scans", "2 of 2 scans")
    expect(page.get_by_text("possibly stuck")).not_to_have_count(0, timeout=TIMEOUT)  # s2 fell silent
    stuck, done = grid_rows(page)
    assert list(stuck)[:2] == ["scan id", "status"]  # the id (a link) and the status come first
    assert stuck["status"] == "running (possibly stuck)" and done["scan id"] == "scan?id=s1"
    # the status column (190 px) holds its longest text whole in the grid's font, padding included
    wide = page.evaluate("""() => {
        const font = getComputedStyle(document.querySelector('[data-testid="stDataFrame"]')).fontFamily;
        const ctx = document.createElement("canvas").getContext("2d");
        ctx.font = `14px ${font}`;
        return ctx.measureText("running (possibly stuck)").width;
    }""")
    assert wide + 2 * 8 <= 190, wide
    scan = open_cell(context, page, 1, SCAN_ID_X)  # newest first: s1, the completed one
    assert scan.url.endswith("/scan?id=s1"), scan.url
    expect(scan.get_by_role("heading", name="Shop Monday")).to_be_visible(timeout=TIMEOUT)


def test_a_finding_toast_links_to_the_finding(stack, tab):
    gateway, app = stack
    context, page = tab
    visit(page, app, "/scans", "2 of 2 scans")
    record_toasts(page)
    gateway.publish("vulnerability_found", {"scan_id": "s2", "title": "Toasted RCE", "severity": "critical",
                                            "url": f"{SHOP}/{uuid.uuid4().hex}"})  # a new finding each time
    # (id(page) could come again once the desktop run's page was freed: the same fingerprint, a
    # known finding, and no "Critical finding" toast for the phone)
    toast = recorded_toast(page, "Critical finding: Toasted RCE", timeout=40)
    assert len(toast["hrefs"]) == 1 and re.fullmatch(r"finding\?id=f-[0-9a-f]{16}", toast["hrefs"][0]), toast
    opened = context.new_page()
    opened.goto(f"{app.url}/{toast['hrefs'][0]}")
    expect(heading(opened, "Toasted RCE")).to_be_visible(timeout=TIMEOUT)

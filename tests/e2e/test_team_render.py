"""Issue 18 part C in real Chromium (desktop 1400×1000, phone 390×844), one gateway and one
dashboard for the module: copied URLs are the URLs, no unsafe table download, right-to-left text
never swaps fields, and the phone's first screen."""
import pytest
from playwright.sync_api import expect

from tests.conftest import GatewayProcess, StreamlitProcess

TIMEOUT = 30_000  # ms: 2 cores shared by many test runs
URL = "https://shop.example/login?next=/admin&x=1"
NOTE_URL = "https://wiki.example/runbooks/rate-limits#429"
RLO_STEP = "\u202eevil.exe step"  # U+202E RIGHT-TO-LEFT OVERRIDE: would show "pets exe.live"
PHASE, STEP = "בדיקה", "סריקה"  # right-to-left words: next to each other they would swap places
TITLE, MESSAGE = "כותרת", "הודעה"
FORMULA = '=HYPERLINK("http://evil.example","x")'


@pytest.fixture(scope="module")
def stack():
    gateway = GatewayProcess("--metrics-interval", "0.5")
    app = StreamlitProcess({"BUGHUNT_WS_URL": gateway.url, "BUGHUNT_REFRESH_SECONDS": "1"})
    gateway.publish("scan_started", {"scan_id": "c1", "scan_name": "Copy scan", "target": URL})
    gateway.publish("scan_progress", {"scan_id": "c1", "progress": 40, "phase": PHASE, "current_step": STEP})
    gateway.publish("scan_started", {"scan_id": "r1", "scan_name": "RLO scan", "target": "rlo.example"})
    gateway.publish("scan_progress", {"scan_id": "r1", "progress": 20, "phase": "vulnerability_testing",
                                      "current_step": RLO_STEP})
    gateway.publish("vulnerability_found", {"scan_id": "c1", "title": FORMULA, "severity": "low", "url": URL})
    gateway.publish("notification", {"title": "Rate limited", "message": f"see :smile: and {NOTE_URL}"})
    gateway.publish("notification", {"title": TITLE, "message": MESSAGE})
    yield gateway, app
    app.stop()
    gateway.stop()


def open_page(contexts, app, path="", size=(1400, 1000)):
    context = contexts(viewport={"width": size[0], "height": size[1]})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=app.url)
    page = context.new_page()
    page.goto(f"{app.url}/{path}")
    expect(page.locator('[data-testid="stSidebar"]').get_by_text("Connected", exact=True)).to_be_attached(
        timeout=TIMEOUT)  # on a phone the sidebar is folded away
    return page


COPY = """async el => {
    const range = document.createRange();
    range.selectNodeContents(el);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    document.execCommand("copy");
    return await navigator.clipboard.readText();
}"""


def copied(locator) -> str:
    """Select the element's text, copy it as a person would (the browser's copy), read the clipboard."""
    locator.scroll_into_view_if_needed()
    return locator.evaluate(COPY)


# Where each word starts on screen (left edge of its first character), in the element's text.
LEFT_OF = """(el, words) => {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    const found = {};
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        for (const word of words) {
            const at = node.data.indexOf(word);
            if (at >= 0 && !(word in found)) {
                const range = document.createRange();
                range.setStart(node, at);
                range.setEnd(node, at + 1);
                found[word] = range.getBoundingClientRect().left;
            }
        }
    }
    return found;
}"""


def test_desktop_copy_right_to_left_and_table_toolbar(stack, contexts):
    """One tab through Dashboard, Scan detail and Vulnerabilities (in-app navigation: one session)."""
    _, app = stack
    page = open_page(contexts, app)
    # point 5: copying from a card and a notification gives the text, no invisible U+2060 in it
    card = page.locator('[data-testid="stCaptionContainer"]').filter(has_text=URL).locator("code")
    expect(card).to_have_text(URL, timeout=TIMEOUT)
    assert copied(card) == URL
    note = page.locator('[data-testid="stMarkdownContainer"] p').filter(has_text=NOTE_URL)
    expect(note).to_be_visible(timeout=TIMEOUT)
    text = copied(note)
    assert "\u2060" not in text and "see :smile: and " + NOTE_URL in text and "😄" not in text
    assert copied(note.locator("code", has_text=NOTE_URL)) == NOTE_URL

    # point 9: a U+202E is shown, not obeyed; right-to-left fields keep their order on screen
    rlo = page.locator('[data-testid="stCaptionContainer"]').filter(has_text="rlo.example")
    expect(rlo).to_contain_text("Current phase: vulnerability_testing · Step: <U+202E>evil.exe step")
    assert "\u202e" not in page.content()
    left = rlo.evaluate(LEFT_OF, ["vulnerability_testing", "evil.exe", "last event"])
    assert left["vulnerability_testing"] < left["evil.exe"] < left["last event"], left
    hebrew = page.locator('[data-testid="stCaptionContainer"]').filter(has_text=PHASE)
    left = hebrew.evaluate(LEFT_OF, ["Current phase", PHASE, STEP, "last event"])
    assert left["Current phase"] < left[PHASE] < left[STEP] < left["last event"], left
    note = page.locator('[data-testid="stMarkdownContainer"] p').filter(has_text=MESSAGE)
    left = note.evaluate(LEFT_OF, [TITLE, MESSAGE])
    assert left[TITLE] < left[MESSAGE], left  # the bold title is isolated: it stays before its message

    # point 5: the scan header
    page.get_by_role("link", name="Copy scan").click()
    header = page.locator('[data-testid="stCaptionContainer"]').filter(has_text="scan id").locator("code")
    expect(header).to_have_text(URL, timeout=TIMEOUT)
    assert copied(header) == URL

    # point 4: the tables' toolbar offers no download of its own (it wrote formulas unquoted)
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Vulnerabilities").click()
    table = page.locator('[data-testid="stDataFrame"]').first
    expect(table).to_be_visible(timeout=TIMEOUT)
    table.hover()
    toolbar = page.locator('[data-testid="stElementToolbar"]').first
    expect(toolbar.get_by_role("button", name="Search")).to_be_visible(timeout=TIMEOUT)  # the toolbar is there
    assert toolbar.get_by_role("button", name="Download as CSV").count() == 0
    expect(page.get_by_role("button", name="Export CSV")).to_have_count(1, timeout=TIMEOUT)  # quotes formulas


def test_phone_toasts_leave_the_title_and_the_first_screen_shows_more_than_cards(stack, contexts):
    gateway, app = stack
    page = open_page(contexts, app, size=(390, 844))
    expect(page.locator('[data-testid="stMetric"]')).to_have_count(4, timeout=TIMEOUT)
    gateway.publish("vulnerability_found", {"scan_id": "c1", "title": "Phone finding", "severity": "critical"})
    toast = page.locator('[data-testid="stToast"]').filter(has_text="Phone finding")  # bad news: a long toast
    expect(toast).to_be_visible(timeout=TIMEOUT)
    title = page.get_by_role("heading", name="Dashboard").bounding_box()
    box = toast.bounding_box()
    assert box["y"] > title["y"] + title["height"] or box["y"] + box["height"] < title["y"], (box, title)
    cards = [m.bounding_box() for m in page.locator('[data-testid="stMetric"]').all()]
    assert max(c["y"] + c["height"] for c in cards) < 844 / 2 + 100  # two by two, not four screens tall
    assert page.get_by_role("heading", name="Active Scans").bounding_box()["y"] < 844  # more than cards

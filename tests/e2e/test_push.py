"""Issue 21 in real Chromium: live areas rerun when the store changes (push), not on a timer; an
idle tab asks for nothing; eight tabs of one browser all update (one change socket per tab: no
HTTP connection limit); a share-link tab updates by push and is told of its scan only; with the
change socket blocked a tab falls back to polling and says so. One gateway and one dashboard for
the module, whose refresh (the polling timer) is 30 s: whatever shows up sooner came by push."""
import os
import re
import signal
import time

import pytest
from playwright.sync_api import expect

from realtime.auth import Authenticator
from realtime.push import PATH
from tests.conftest import HUB, GatewayProcess, StreamlitProcess, console, told_of

SECRET = "push-browser-tests-" + "p" * 40
AUTH = Authenticator(SECRET)
PRODUCER = AUTH.mint("scanner", "producer")
SOON = 20_000  # ms: below the 30 s timer (a loaded machine needs seconds for a page and a rerun)
TIMEOUT = 30_000
UP = "globalThis.__bughuntChanges && globalThis.__bughuntChanges.up"  # the tab's change socket said hello


def running(**settings):
    """A gateway and a dashboard with these settings, for a module's tests; no traceback in their logs."""
    gateway = GatewayProcess("--metrics-interval", "60", env={"BUGHUNT_SECRET": SECRET})
    app = StreamlitProcess({"BUGHUNT_WS_URL": gateway.url, "BUGHUNT_SECRET": SECRET,
                            "BUGHUNT_WS_TOKEN": AUTH.mint("dashboard", "viewer"),
                            "BUGHUNT_REFRESH_SECONDS": "30", **settings})
    yield gateway, app
    app.stop()
    gateway.stop()
    assert not [line for line in app.log + gateway.log if "Traceback" in line]


@pytest.fixture(scope="module")
def stack():
    yield from running(BUGHUNT_PUSH_HEARTBEAT="60")


def publish(gateway, event, data):
    gateway.publish(event, data, token=PRODUCER)


def sidebar(page):
    return page.locator('[data-testid="stSidebar"]')


def push_up(page, timeout=TIMEOUT):
    """Wait until the tab's change socket said hello."""
    with told_of(page):
        page.wait_for_function(UP, timeout=timeout)


def until(page, condition, timeout=SOON):
    """Wait up to `timeout` ms for what the test's handlers record: Playwright runs them only while
    the test waits on it (not in time.sleep)."""
    for _ in range(timeout // 250):
        if condition():
            return
        page.wait_for_timeout(250)


def change_sockets(page) -> list:
    """The change sockets the tab opens (Streamlit's own WebSocket is another)."""
    opened = []
    page.on("websocket", lambda ws: opened.append(ws) if PATH in ws.url else None)
    return opened


def count_reruns(page) -> list[int]:
    """Messages the tab sends on Streamlit's WebSocket: each rerun it asks for is one."""
    sent = [0]
    page.on("websocket", lambda ws: ws.on("framesent", lambda _: sent.__setitem__(0, sent[0] + 1)))
    return sent


# No area's rerun is under way or waits for one (a tab rests after each rerun: changes.js's REST).
AT_REST = """(h => !h.busy && Date.now() >= h.rest && ![...h.areas.values()].some((a) => a.pending)
             )(globalThis.__bughuntChanges)"""


def settled(page, sent, quiet=2.0, limit=30.0):
    """Wait until the tab has asked for nothing for `quiet` seconds and no rerun waits (the last
    changes' reruns are over)."""
    last, still, waited = sent[0], 0.0, 0.0
    while (still < quiet or not page.evaluate(AT_REST)) and waited < limit:
        page.wait_for_timeout(250)
        waited += 0.25
        still = still + 0.25 if sent[0] == last else 0.0
        last = sent[0]
    assert still >= quiet, f"the tab kept asking for reruns for {limit} s"


def test_an_event_shows_without_a_timer_tick_and_an_idle_tab_asks_for_nothing(stack, page):
    gateway, app = stack
    sent = count_reruns(page)
    page.goto(app.url)
    expect(sidebar(page).get_by_text("Connected", exact=True)).to_be_visible(timeout=TIMEOUT)
    expect(sidebar(page).get_by_text("Live updates: push (on change)")).to_be_visible(timeout=TIMEOUT)

    publish(gateway, "notification", {"title": "PUSHED-1", "message": "by push", "type": "info"})
    expect(page.get_by_text("PUSHED-1").first).to_be_visible(timeout=SOON)  # (a toast, and the latest ones)
    publish(gateway, "scan_started", {"scan_id": "p1", "scan_name": "Pushed scan", "target": "https://p.example"})
    publish(gateway, "scan_progress", {"scan_id": "p1", "progress": 37, "current_step": "STEP-37"})
    expect(page.get_by_text("STEP-37")).to_be_visible(timeout=SOON)

    expect(page.get_by_text("Pushed scan").first).to_be_visible()
    settled(page, sent)
    before = sent[0]
    page.wait_for_timeout(3_000)  # idle: nothing changes, so the tab must ask for nothing
    assert sent[0] == before, f"{sent[0] - before} messages from an idle tab"


def test_a_fresh_tab_says_whose_read_flags_it_shows_without_waiting_for_a_heartbeat(stack, contexts):
    """The browser's id comes with no rerun of its own (realtime/viewer.py): its arrival is a change
    the sidebar hears of (it has no heartbeat), long before the timer (30 s)."""
    gateway, app = stack
    first, fresh = contexts().new_page(), contexts().new_page()
    said = console(fresh)  # (once, CI's fresh tab had no change hub at all: did the watcher's module fail?)
    first.goto(app.url)  # the dashboard's client is connected and quiet before the fresh tab comes
    expect(sidebar(first).get_by_text("Connected", exact=True)).to_be_visible(timeout=TIMEOUT)
    first.wait_for_timeout(2_000)
    fresh.goto(app.url)
    expect(sidebar(fresh).get_by_text("Connected", exact=True)).to_be_visible(timeout=TIMEOUT)
    push_up(fresh)  # (a loaded machine mounted the tab's watchers 20 s after "Connected": timed from here)
    with told_of(fresh, said):
        expect(sidebar(fresh).get_by_text(re.compile(r"^\d+ unread notifications? ·"))).to_be_visible(
            timeout=SOON)


def test_a_notification_shows_at_once_inert_though_no_rerun_can_run(stack, page):
    """The Dashboard's newest notifications come with the change socket's notice and show before
    the rerun that draws them as the page does: here the tab's messages to Streamlit are held
    back, so no rerun can run, and the notification shows all the same, as the characters it is.
    Once reruns run again, the area draws it itself and the preview goes."""
    gateway, app = stack
    held, hold = [], [False]

    def streamlit_socket(ws):
        server = ws.connect_to_server()
        ws.on_message(lambda message: held.append(message) if hold[0] else server.send(message))

    page.route_web_socket(re.compile(r"/_stcore/stream"), streamlit_socket)
    page.goto(app.url)
    expect(sidebar(page).get_by_text("Live updates: push (on change)")).to_be_visible(timeout=TIMEOUT)
    push_up(page)
    publish(gateway, "notification", {"title": "OLDER-1", "message": "drawn before", "type": "info"})
    older = page.locator('[class*="st-key-previews_"] [data-testid="stMarkdown"]', has_text="OLDER-1")
    expect(older).to_be_visible(timeout=SOON)
    page.wait_for_timeout(2_000)  # the page's runs are over
    hold[0] = True
    title = "JUST-IN **bold** <img src=x onerror=alert(1)> [link](https://evil.example)"
    publish(gateway, "notification", {"title": title, "message": "gpj\u202eexe", "type": "warning"})
    preview = page.locator("[data-previews] p")
    expect(preview).to_have_count(1, timeout=SOON)
    assert re.fullmatch(re.escape(f"\u26a0\ufe0f {title} \u2014 gpj<U+202E>exe \u00b7 ") + r"\d s ago \u00b7 just in",
                        preview.inner_text()), preview.inner_text()
    assert preview.locator("img, a").count() == 0 and preview.locator("bdi").count() == 2
    heading = page.get_by_role("heading", name="Latest notifications")
    above = [locator.bounding_box()["y"] for locator in (heading, preview, older)]
    assert above == sorted(above), above  # first in the list, newest first as the page draws it
    until(page, lambda: held)  # once its rest is over (seconds on a loaded machine)
    assert held, "the tab asked for no rerun"  # it did, and Streamlit never heard of it
    latest = page.locator('[data-testid="stMarkdown"]', has_text="JUST-IN")
    assert latest.count() == 0  # no rerun ran: the page's own list does not show it
    expect(preview).to_have_count(1)  # and the preview stays meanwhile

    hold[0] = False
    publish(gateway, "notification", {"title": "AFTER-1", "message": "reruns run again", "type": "info"})
    expect(latest.first).to_be_visible(timeout=SOON)  # drawn by the page now
    expect(preview).to_have_count(0, timeout=SOON)  # and the previews went
    assert page.locator('[data-testid="stMarkdown"] img').count() == 0


@pytest.fixture(scope="module")
def spaced():
    """A dashboard whose live areas rerun for notices five minutes apart (BUGHUNT_PUSH_MIN_INTERVAL):
    after its first, none in a test's time."""
    yield from running(BUGHUNT_PUSH_HEARTBEAT="600", BUGHUNT_PUSH_MIN_INTERVAL="300")


def test_a_notification_shows_at_once_while_the_rerun_it_causes_waits_its_turn(spaced, page):
    """Spacing reruns does not delay what a notification says: a second notification right after a
    first, whose area may rerun only minutes after the last, shows at once (the change socket's
    preview), while the page's own list draws it only with that later rerun."""
    gateway, app = spaced
    publish(gateway, "notification", {"title": "BEFORE-ID", "message": "in the store first", "type": "info"})
    page.goto(app.url)
    push_up(page)
    # The browser's id has come, and both areas that show read flags reran for it, spaced or not
    # (the page's list calls nothing unread until then): no rerun is left to draw what follows.
    expect(sidebar(page).get_by_text(re.compile(r"^\d+ unread notifications? ·"))).to_be_visible(timeout=SOON)
    expect(page.locator('[data-testid="stMarkdown"]', has_text="BEFORE-ID").filter(has_text="unread")
           ).to_be_visible(timeout=SOON)
    publish(gateway, "notification", {"title": "SPACED-1", "message": "first", "type": "info"})
    expect(page.get_by_text("SPACED-1").first).to_be_visible(timeout=SOON)  # previewed, or drawn
    publish(gateway, "notification", {"title": "SPACED-2", "message": "second", "type": "info"})
    expect(page.locator("[data-previews] p", has_text="SPACED-2")).to_be_visible(timeout=SOON)
    assert page.locator('[data-testid="stMarkdown"]', has_text="SPACED-2").count() == 0  # its rerun waits


def test_with_the_change_route_blocked_a_tab_polls_and_says_so(stack, page):
    gateway, app = stack
    blocked = []
    page.route_web_socket(re.compile(re.escape(PATH)), lambda ws: (blocked.append(ws.url), ws.close(code=1008)))
    page.goto(app.url)
    expect(sidebar(page).get_by_text(re.compile(r"Live updates: polling fallback, every 30 s — push unavailable"))
           ).to_be_visible(timeout=TIMEOUT)
    assert blocked and page.evaluate("globalThis.__bughuntChanges.up") is False  # the socket never got through

    slider = sidebar(page).get_by_role("slider")
    slider.focus()
    page.keyboard.press("Home")  # the tab's refresh: 0.5 s, so polling shows within the test
    expect(sidebar(page).get_by_text(re.compile(r"polling fallback, every 0.5 s"))).to_be_visible(timeout=TIMEOUT)
    expect(sidebar(page).get_by_text("Connected", exact=True)).to_be_visible(timeout=TIMEOUT)
    publish(gateway, "notification", {"title": "POLLED-1", "message": "by the timer", "type": "info"})
    expect(page.get_by_text("POLLED-1").first).to_be_visible(timeout=SOON)


def test_a_change_socket_that_never_says_hello_is_given_up_within_seconds(stack, page):
    """A stand-in that opens the socket and says nothing (a proxy's) counts as refused within
    seconds (changes.js's HELLO), though closing an open socket waits for the stand-in's reply: the
    tab polls, says why, tries again, and is back on push once the real socket answers."""
    gateway, app = stack
    tries, answer = [], [False]

    def change_socket(ws):
        tries.append(time.monotonic())
        if answer[0]:
            ws.connect_to_server()  # (no handlers: the two ends talk to each other)

    page.route_web_socket(re.compile(re.escape(PATH)), change_socket)
    page.goto(app.url)
    refused = re.compile(r"polling fallback, every 30 s — push unavailable "
                         r"\(the change socket said no hello within \d+ s")  # (5 s, 10 s for the next try)
    with told_of(page):
        expect(sidebar(page).get_by_text(refused)).to_be_visible(timeout=TIMEOUT)
    until(page, lambda: len(tries) > 1)
    assert len(tries) > 1 and tries[1] - tries[0] < 10, tries  # given up after 5 s, tried again 1 s later
    answer[0] = True
    with told_of(page):
        expect(sidebar(page).get_by_text("Live updates: push (on change)")).to_be_visible(timeout=TIMEOUT)
    publish(gateway, "notification", {"title": "ANSWERED-1", "message": "by push", "type": "info"})
    expect(page.get_by_text("ANSWERED-1").first).to_be_visible(timeout=SOON)


def test_eight_tabs_of_one_browser_all_update_by_push(stack, page):
    """A browser allows six HTTP connections per host: one long poll per tab (or per area) would
    leave the seventh tab waiting. One WebSocket per tab does not count against them."""
    gateway, app = stack
    tabs = [page] + [page.context.new_page() for _ in range(7)]
    sockets = [change_sockets(tab) for tab in tabs]
    for tab in tabs:  # the Notifications page: the lightest live page, eight of them on a loaded machine
        tab.goto(f"{app.url}/notifications", wait_until="commit")
    for tab in tabs:  # each tab's change socket said hello
        push_up(tab, 3 * TIMEOUT)
    publish(gateway, "notification", {"title": "EIGHT-TABS", "message": "to every tab", "type": "info"})
    for tab in tabs:
        expect(tab.get_by_text("EIGHT-TABS").first).to_be_visible(timeout=SOON)
    # all live areas of a tab (the sidebar's, the page's) share one socket
    assert [len([ws for ws in opened if not ws.is_closed()]) for opened in sockets] == [1] * 8


def test_a_share_link_tab_updates_by_push_and_hears_of_its_scan_only(stack, page):
    gateway, app = stack
    for scan in ("shared-1", "other-1"):
        publish(gateway, "scan_started", {"scan_id": scan, "scan_name": f"Scan {scan}", "target": "https://s.example"})
    token = AUTH.mint("share-shared-1", "viewer", ["shared-1"], ttl=3600)
    sockets = change_sockets(page)
    page.goto(f"{app.url}/scan?id=shared-1&token={token}")
    expect(page.get_by_text("Scan shared-1")).to_be_visible(timeout=TIMEOUT)
    # no sidebar in a share tab: its socket's hello says push works
    push_up(page)
    told = []
    sockets[0].on("framereceived", lambda frame: told.append(frame))

    other = page.context.new_page()  # a signed-in tab on the other scan: shows when its event is in
    other.goto(f"{app.url}/scan?id=other-1")
    expect(other.get_by_text("Scan other-1")).to_be_visible(timeout=TIMEOUT)
    publish(gateway, "scan_progress", {"scan_id": "other-1", "progress": 50, "current_step": "OTHER-STEP"})
    # a sync point, not a latency: by push or, on a machine too loaded for that, the timer (30 s)
    with told_of(other):
        expect(other.get_by_text("OTHER-STEP").first).to_be_visible(timeout=2 * TIMEOUT)
    assert not [frame for frame in told if "version" in frame], "a share tab was told of another scan"

    publish(gateway, "scan_progress", {"scan_id": "shared-1", "progress": 60, "current_step": "SHARED-STEP"})
    expect(page.get_by_text("SHARED-STEP", exact=True)).to_be_visible(timeout=SOON)
    assert [frame for frame in told if "version" in frame]


# The next trigger of the page's live area goes nowhere, as a rerun lost on its way would.
LOSE_ONE = """() => {
    const area = [...globalThis.__bughuntChanges.areas.values()].find(
        (a) => a.mounted && a.root && a.root.closest('[data-testid="stMain"]'));
    const real = area.trigger;
    area.trigger = () => { area.trigger = real; };
    globalThis.lostArea = area;
}"""


def test_an_area_whose_rerun_was_lost_asks_again_and_catches_up(stack, page):
    """changes.js's LOST: the socket tells each change once per watch, so a trigger that brings no
    rerun left the area behind until its heartbeat (60 s here) or the timer (30 s)."""
    gateway, app = stack
    publish(gateway, "scan_started", {"scan_id": "lost-1", "scan_name": "Lost rerun"})
    page.goto(f"{app.url}/scan?id=lost-1")
    expect(page.get_by_role("heading", name="Lost rerun")).to_be_visible(timeout=TIMEOUT)
    push_up(page)
    page.wait_for_function(IDLE, timeout=TIMEOUT)
    page.evaluate(LOSE_ONE)
    publish(gateway, "scan_progress", {"scan_id": "lost-1", "progress": 50, "current_step": "AFTER-LOSS"})
    with told_of(page):
        expect(page.get_by_text("AFTER-LOSS", exact=True)).to_be_visible(timeout=SOON)
        assert page.evaluate("globalThis.lostArea.lost") == 1


# No area runs or waits to (a change the tab heard itself), none has for over a second (changes.js's
# FIRST_QUIET), the tab does not rest after its last rerun (REST), no input for 300 ms (its
# INPUT_QUIET) and no page link followed: a trigger now goes out at once, in the task that asks for it.
IDLE = """(h => !(h.busy && Date.now() < h.until) && Date.now() - h.drawn > 1200 && Date.now() >= h.rest &&
             Date.now() - h.input > 300 && !h.leaving && ![...h.areas.values()].some((a) => a.pending)
             )(globalThis.__bughuntChanges)"""
# As the change socket tells an area of a change: the page's (with the button) or the sidebar's. It
# says whether the trigger went out at once (the area is then the tab's busy one).
TELL = """(note) => {
    const hub = globalThis.__bughuntChanges;
    const [key, area] = [...hub.areas.entries()].find(([, a]) => a.mounted && Boolean(a.data.note) === note);
    hub.ws.onmessage({ data: JSON.stringify({ key, version: 1e9 }) });
    return hub.busy === area;
}"""

CLICK = """[...document.querySelectorAll("button")].find((b) => b.textContent.includes(arg)).click();"""


def tell_at_once(page, note, then, arg=None):
    """TELL the sidebar's area (`note`) or the page's of a change once the tab is IDLE, and run the
    script `then` (given `arg`) in the same task, once the trigger went out at once: a change the
    tab heard between IDLE and TELL (an event still on its way as the page opened, a heartbeat)
    makes it wait, the moment under test does not come, and the tab is told again once idle."""
    for _ in range(5):
        page.wait_for_function(IDLE, timeout=TIMEOUT)
        if page.evaluate(f"""([note, arg]) => {{
            if (!({TELL})(note)) return false;
            {then}
            return true;
        }}""", [note, arg]):
            return
    raise AssertionError(f"a trigger never went out at once in 5 tries\nthe tab's hub: {page.evaluate(HUB)}")


def behind_scan_list(gateway, page, url, chosen, later):
    """/scan with `chosen` in its list, idle, and `later` come since: "1 new scan ... update it"."""
    publish(gateway, "scan_started", {"scan_id": chosen, "scan_name": "Raced pick"})
    page.goto(url)
    push_up(page)
    page.wait_for_function(IDLE, timeout=TIMEOUT)
    publish(gateway, "scan_started", {"scan_id": later, "scan_name": "Later scan"})  # the area reruns by push
    update = page.get_by_role("button", name=re.compile(r"^1 new scan since the Scan list was drawn"))
    expect(update).to_be_visible(timeout=SOON)
    return update


@pytest.mark.parametrize("first", ["pick", "trigger"])
def test_a_pick_and_a_trigger_in_one_moment_still_run_the_page(stack, page, first):
    """Streamlit sends a tab's widget changes in batches, and a batch holding any fragment's trigger
    reruns only that fragment: a pick with a live area's trigger in the same task never ran the
    page (1 pick in 15 lost on /scan while a scan arrived every 0.1 s), whichever came first. And a
    page drawn twice as it opens left the first draw's watchers behind for 5 s: a change they heard
    reran nothing (the new scan the test publishes first was not told in 2 of 4 runs)."""
    gateway, app = stack
    chosen = f"race-{first}"
    behind_scan_list(gateway, page, f"{app.url}/scan", chosen, f"later-{first}")
    page.get_by_role("combobox", name="Scan").click()
    page.keyboard.type(f"Raced pick ({chosen})")
    expect(page.get_by_role("option", name=f"Raced pick ({chosen})")).to_be_visible(timeout=TIMEOUT)
    pick = """[...document.querySelectorAll('[role="option"]')].find((o) => o.textContent.includes(arg)).click();"""
    if first == "trigger":
        tell_at_once(page, False, pick, chosen)
    else:
        page.wait_for_function(IDLE, timeout=TIMEOUT)
        # a trigger just after a pick waits for quiet input
        assert not page.evaluate(f"(arg) => {{ {pick} return ({TELL})(false); }}", chosen)
    expect(page.locator("h1").filter(has_text="Raced pick")).to_be_visible(timeout=SOON)
    expect(page).to_have_url(re.compile(rf"/scan\?id={chosen}"))


def test_a_click_just_after_another_areas_trigger_still_counts(stack, page):
    """The button under a picker ("1 new scan since the Scan list was drawn: update it") lives in a
    live area: clicked in the moment after the sidebar area's trigger, it joined that trigger's
    batch, only the sidebar ran, and the click was lost (the list stayed behind)."""
    gateway, app = stack
    update = behind_scan_list(gateway, page, f"{app.url}/scan", "click-1", "click-2")
    tell_at_once(page, True, CLICK, "update it")
    expect(update).to_have_count(0, timeout=SOON)
    page.get_by_role("combobox", name="Scan").click()
    page.keyboard.type("Later scan (click-2)")
    expect(page.get_by_role("option", name="Later scan (click-2)")).to_be_visible(timeout=SOON)


def test_a_button_clicked_just_after_another_areas_trigger_does_its_work(stack, page):
    """A button outside the live areas with no callback ("Create link") is true for one run of the
    page: clicked in the moment after the sidebar area's trigger, it joined that trigger's batch,
    only the sidebar ran and reset it, and the page's rerun found it false (no link came; CI)."""
    gateway, app = stack
    publish(gateway, "scan_started", {"scan_id": "button-1", "scan_name": "Button scan"})
    page.goto(f"{app.url}/scan?id=button-1")
    expect(page.locator("h1").filter(has_text="Button scan")).to_be_visible(timeout=TIMEOUT)
    push_up(page)
    page.get_by_text("Share a read-only link").click()
    expect(page.get_by_role("button", name="Create link")).to_be_visible(timeout=TIMEOUT)
    tell_at_once(page, True, CLICK, "Create link")
    expect(page.locator('[data-testid="stCode"]').filter(has_text="token=")).to_be_visible(timeout=SOON)


def test_a_page_link_leads_to_its_page_though_a_change_comes_as_it_is_followed(stack, page):
    """A trigger sent after a click on a page link, before the new page's run began, carried the old
    page, and Streamlit folds two waiting requests into one with the last one's page: the old page
    ran again. The dashboard is held (SIGSTOP) while the link is followed and a change is told, so
    both requests wait."""
    gateway, app = stack
    publish(gateway, "scan_started", {"scan_id": "away-1", "scan_name": "Linked scan", "target": "https://away.example"})
    page.goto(f"{app.url}/scan?id=away-1")
    push_up(page)
    link = page.get_by_role("link", name="Every scan of this target")
    expect(link).to_be_visible(timeout=TIMEOUT)
    page.wait_for_function(IDLE, timeout=TIMEOUT)
    os.kill(app.proc.pid, signal.SIGSTOP)
    try:
        link.click()
        page.evaluate(f"() => ({TELL})(true)")
        page.wait_for_timeout(1000)  # past the quiet input a trigger waits for (changes.js's INPUT_QUIET)
    finally:
        os.kill(app.proc.pid, signal.SIGCONT)
    expect(page.locator("h1").filter(has_text="https://away.example")).to_be_visible(timeout=SOON)
    expect(page).to_have_url(re.compile(r"/target\?name="))

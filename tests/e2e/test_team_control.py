"""Issue 18 point 15 in Chromium: while the gateway is down the sidebar counts down to the next
try, *Reconnect now* says what it achieved, and a gateway back on the same port is noticed within
the slow retry's cap."""
import re

from playwright.sync_api import expect

from tests.conftest import GatewayProcess, StreamlitProcess, free_port

TIMEOUT = 20_000  # ms


def test_reconnect_now_answers_and_the_countdown_runs(gateway_factory, page):
    port = free_port()
    gateway = gateway_factory("--port", str(port))
    app = StreamlitProcess({"BUGHUNT_WS_URL": gateway.url, "BUGHUNT_REFRESH_SECONDS": "1",
                            "BUGHUNT_RECONNECT_ATTEMPTS": "1", "BUGHUNT_SLOW_RETRY": "6"})
    try:
        page.goto(app.url)
        sidebar = page.locator('[data-testid="stSidebar"]')
        expect(sidebar.get_by_text("Connected", exact=True)).to_be_visible(timeout=TIMEOUT)
        gateway.proc.kill()
        countdown = sidebar.get_by_text(re.compile(r"Disconnected — retrying \(attempt \d+\) in \d s"))
        expect(countdown).to_be_visible(timeout=TIMEOUT)
        seen = {countdown.inner_text()}  # the count moves on by itself (with push too: no event comes meanwhile)
        for _ in range(20):
            page.wait_for_timeout(250)
            seen.update(countdown.all_inner_texts())
        assert len(seen) > 1, f"the countdown stood still at {seen}"
        sidebar.get_by_role("button", name="Reconnect now").click()
        expect(sidebar.get_by_text(re.compile(r"Still disconnected"))).to_be_visible(timeout=TIMEOUT)
        restarted = GatewayProcess("--port", str(port))
        try:  # noticed by the next slow retry (6 s at most) without anyone pressing anything
            expect(sidebar.get_by_text("Connected", exact=True)).to_be_visible(timeout=6_000 + 5_000)
        finally:
            restarted.stop()
    finally:
        app.stop()

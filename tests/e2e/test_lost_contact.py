"""Issue 15, scenario 8 in real Chromium: a gateway restarted without its state while scans run;
after the dashboard resyncs, those scans show "lost contact" on the Dashboard and Scans pages
within one refresh, and the cards agree with the panels."""
import re

from playwright.sync_api import expect

from tests.conftest import GatewayProcess, StreamlitProcess, free_port
from tests.e2e.test_browser import TIMEOUT, connected, metric, shoot

REFRESH = 1.0  # seconds (BUGHUNT_REFRESH_SECONDS)
ONE_REFRESH = int(REFRESH * 1000) + 1500  # ms: one refresh, and the browser drawing it


def test_scans_of_a_gateway_restarted_without_state_show_lost_contact(page):
    port = free_port()
    gateway = GatewayProcess("--port", str(port))
    app = StreamlitProcess({"BUGHUNT_WS_URL": gateway.url, "BUGHUNT_REFRESH_SECONDS": str(REFRESH)})
    restarted = None
    try:
        connected(page, app)
        for scan_id, name, progress in (("o1", "Orphan one", 0), ("o2", "Orphan two", 54)):
            gateway.publish("scan_started", {"scan_id": scan_id, "scan_name": name, "target": "https://o.example"})
            gateway.publish("scan_progress", {"scan_id": scan_id, "progress": progress, "phase": "active_recon"})
        expect(page.get_by_text("Orphan two", exact=True)).to_be_visible(timeout=TIMEOUT)
        expect(metric(page, "Active Scans")).to_have_text("2", timeout=TIMEOUT)

        gateway.stop()
        sidebar = page.locator('[data-testid="stSidebar"]')
        expect(sidebar.get_by_text(re.compile(r"Disconnected — retrying"))).to_be_visible(timeout=TIMEOUT)
        restarted = GatewayProcess("--port", str(port))  # a new stream: it knows nothing of o1, o2
        expect(sidebar.get_by_text(re.compile(r"Resynced from snapshot"))).to_be_visible(timeout=30_000)

        lost = page.get_by_text(re.compile(r"lost contact since .* not in the gateway's state"))
        expect(page.get_by_text("Lost contact", exact=True)).to_be_visible(timeout=ONE_REFRESH)
        expect(lost).to_have_count(2, timeout=ONE_REFRESH)
        expect(page.get_by_text("No active scans")).to_be_visible(timeout=ONE_REFRESH)
        expect(metric(page, "Active Scans")).to_have_text("0", timeout=ONE_REFRESH)  # cards agree with panels
        shoot(page, "dashboard-lost-contact")

        page.goto(f"{app.url}/scans")
        expect(page.get_by_text("2 of 2 scans")).to_be_visible(timeout=TIMEOUT)
        expect(page.get_by_text(re.compile(r"2 scans lost contact: Orphan (one|two) \(lost contact since"))
               ).to_be_visible(timeout=ONE_REFRESH)
        shoot(page, "scans-lost-contact")
    finally:
        app.stop()
        gateway.stop()
        if restarted is not None:
            restarted.stop()

"""A real nmap run (-sV --stats-every 1s against 4 loopback listeners) piped through the nmap
adapter into a real gateway, watched live on the Scan detail page in real Chromium."""
import re
import shutil
import subprocess
import sys
import time

import pytest
from playwright.sync_api import expect

from tests.conftest import ARTIFACTS, ROOT, StreamlitProcess, console, free_port, told_of
from tests.integration.scanners import Listeners

pytestmark = pytest.mark.skipif(shutil.which("nmap") is None, reason="nmap is not installed (tests/run.sh installs it)")
TIMEOUT = 20_000  # ms


@pytest.fixture
def stack(gateway_factory):
    gateway = gateway_factory("--port", str(free_port()))
    app = StreamlitProcess({"BUGHUNT_WS_URL": gateway.url, "BUGHUNT_REFRESH_SECONDS": "0.5"})
    listeners = Listeners()
    yield gateway, app, listeners
    listeners.stop()
    app.stop()


def scan_through_adapter(gateway, ports):
    """nmap … -oX - | python -m realtime.adapters.nmap: two real processes and a pipe."""
    nmap = subprocess.Popen(["nmap", "-sV", "--stats-every", "1s", "-p", ",".join(map(str, ports)), "-oX", "-",
                             "127.0.0.1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    adapter = subprocess.Popen([sys.executable, "-m", "realtime.adapters.nmap", "--url", gateway.url,
                                "--scan-id", "live", "--scan-name", "Loopback services"],
                               stdin=nmap.stdout, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    nmap.stdout.close()  # the adapter holds the pipe's reading end
    return nmap, adapter


def metric(page, label):
    return page.locator('[data-testid="stMetric"]').filter(has_text=label).locator('[data-testid="stMetricValue"]')


def open_details(page):
    """Open the findings' details list (a click while the fragment re-renders may be lost)."""
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text="Finding details").locator("input")
    for _ in range(20):
        box.click()
        page.wait_for_timeout(500)
        if page.get_by_role("listbox").count():
            return
    raise AssertionError("the details list did not open")


def watch(page, seconds):
    """(progress %, phase, status) as the page shows them, every ~0.25 s, until completed."""
    seen = []
    progress_bar = page.locator('[data-testid="stProgress"]')
    status, percent = metric(page, "Status"), metric(page, "Progress")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            state = (float(percent.inner_text(timeout=2000).rstrip("%")),
                     re.sub(r"^Current phase: ", "", progress_bar.inner_text(timeout=2000)).strip(),
                     status.inner_text(timeout=2000))
        except Exception:  # noqa: BLE001 - the fragment is re-rendering: look again
            continue
        if not seen or seen[-1] != state:
            seen.append(state)
        if state[2] == "completed":
            return seen
        time.sleep(0.25)
    raise AssertionError(f"not completed in {seconds} s: {seen}")


def test_real_nmap_scan_live_on_the_scan_page(stack, page):
    gateway, app, listeners = stack
    ports = [listeners.http(delay) for delay in (0, 1, 2, 3)]  # they finish nmap's Service scan in turn
    said = console(page)
    page.goto(f"{app.url}/scan?id=live")
    expect(page.locator('[data-testid="stSidebar"]').get_by_text("Connected", exact=True)).to_be_visible(
        timeout=TIMEOUT)
    nmap, adapter = scan_through_adapter(gateway, ports)
    try:
        with told_of(page, said):
            expect(page.get_by_role("heading", name="Loopback services")).to_be_visible(timeout=TIMEOUT)
        seen = watch(page, 120)
    finally:
        nmap.wait(60)
        adapter.wait(60)
    assert adapter.returncode == 0, adapter.stderr.read()
    progress = [p for p, _, _ in seen]
    assert progress == sorted(progress), seen  # never back
    # shown while running, in nmap's order; not each phase's in-between values: a tab that draws
    # slowly (busy CI) may rest through them (tests/integration/test_real_scanners.py checks the store)
    phases = list(dict.fromkeys(phase for _, phase, status in seen if status == "running" and phase != "—"))
    assert "Service scan" in phases and "NSE" in phases[phases.index("Service scan"):], seen
    # the three values are read one after another: the last reads may straddle a re-render
    expect(metric(page, "Progress")).to_have_text("100%", timeout=TIMEOUT)
    expect(metric(page, "Findings")).to_have_text("4", timeout=TIMEOUT)
    open_details(page)
    options = page.get_by_role("option")
    expect(options).to_have_count(4, timeout=TIMEOUT)
    assert sorted(options.all_inner_texts()) == sorted(
        f"info · Open port {p}/tcp (http Apache httpd 2.4.41) · localhost:{p}" for p in ports)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "nmap-live-scan.png"), full_page=True)

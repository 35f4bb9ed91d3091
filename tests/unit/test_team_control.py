"""Issue 18 part D without processes: the demo launcher honours a scan's profile and stops a
cancelled scan; the dashboard's form checks and the sidebar's retry line."""
import asyncio

from realtime import controls
from realtime.gateway.demo import DemoEngine
from realtime.models import ConnectionState
from realtime.options import GatewayOptions
from realtime.protocol import PHASES, StartScan


class Gateway:
    """What the demo engine uses of a gateway: its options and `publish`."""

    def __init__(self, seed=1):
        self.options = GatewayOptions(demo=True, demo_scans=0, seed=seed, speed=10_000)
        self.events = []

    async def publish(self, event, data):
        self.events.append((event, data))


def run_scan(profile, cancel_after=None, seed=1):
    async def scenario():
        gateway = Gateway(seed)
        engine = DemoEngine(gateway)
        scan_id = await engine.start_scan(StartScan(target="shop.example.com", options={"profile": profile}))
        if cancel_after is not None:
            while sum(e == "scan_progress" for e, _ in gateway.events) < cancel_after:
                await asyncio.sleep(0)
            assert await engine.cancel(scan_id) is True
            assert await engine.cancel(scan_id) is False  # not running any more
            await asyncio.sleep(0.05)
        while not any(e in ("scan_completed", "scan_failed") for e, _ in gateway.events) and cancel_after is None:
            await asyncio.sleep(0.001)
        await engine.stop()
        return gateway.events

    return asyncio.run(scenario())


def test_the_demo_honours_the_quick_profile():
    events = run_scan("quick")
    phases = {d["phase"] for e, d in events if e == "scan_progress"}
    assert phases == set(PHASES[:3])  # quick: no exploitation, no reporting
    assert events[0][1]["scan_name"] == "Shop quick scan" and events[-2][0] == "scan_completed"
    assert set(PHASES) == {d["phase"] for e, d in run_scan("full") if e == "scan_progress"}


def test_a_demo_scan_counts_a_finding_it_reports_again_once():
    for seed in range(1, 9):  # some of these scans report the same finding twice
        events = run_scan("full", seed=seed)
        findings = {(d["title"], d["url"]) for e, d in events if e == "vulnerability_found"}
        counted = [d.get("total_vulnerabilities", d.get("vulnerabilities_found"))
                   for e, d in events if e in ("scan_progress", "scan_completed")]
        assert counted[-1] == len(findings) or events[-2][0] == "scan_failed", seed


def test_a_cancelled_demo_scan_publishes_nothing_more():
    events = run_scan("full", cancel_after=2)
    assert [e for e, _ in events if e == "scan_progress"] == ["scan_progress"] * 2
    assert not any(e in ("scan_completed", "scan_failed") for e, _ in events)  # the gateway announces it


def test_the_start_form_speaks_like_a_person():
    assert controls.start_request("  ", "x", None) == "Enter a target URL or host (e.g. https://shop.example.com)."
    assert controls.start_request(" a.example ", " ", "quick") == {"target": "a.example",
                                                                   "options": {"profile": "quick"}}
    assert controls.start_refusal(ConnectionState(connected=True, capabilities={"launcher": False}))
    able = {"launcher": True, "start_scans": True}
    assert controls.start_refusal(ConnectionState(connected=True, capabilities=able)) is None


def test_the_sidebar_counts_down_or_says_it_is_trying():
    waiting = ConnectionState(attempts=6, next_try=100.4)
    assert controls.retry_text(waiting, 97.0) == "Disconnected — retrying (attempt 7) in 3 s"
    assert controls.retry_text(ConnectionState(attempts=6, trying=True), 97.0) == \
        "Disconnected — trying to reconnect (attempt 7)…"

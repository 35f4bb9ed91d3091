"""Issue 18 part D on the pages (AppTest), with the dashboard connected to real gateways: Start
scan only where the gateway can start one, a person's message for an empty target, Abandon and
Cancel only when the gateway would accept them (never on a share link)."""
import time

import pytest
from streamlit.testing.v1 import AppTest

from realtime import bridge, controls, views
from tests.conftest import ROOT, wait_for

SECRET = "team-pages-secret-" + "x" * 40


def token(role, sub, scans=None, start_scans=False):
    from realtime.auth import Authenticator

    return Authenticator(SECRET).mint(sub, role, scans, 3600, start_scans=start_scans)


@pytest.fixture
def dashboard(monkeypatch):
    """Start a runtime connected to `url` with `auth_token` (the dashboard's gateway identity)."""
    monkeypatch.setenv("BUGHUNT_SECRET", SECRET)
    started = []

    def start(url, auth_token):
        monkeypatch.setenv("BUGHUNT_WS_URL", url)
        monkeypatch.setenv("BUGHUNT_WS_TOKEN", auth_token)
        bridge.runtime.clear()
        bridge.scan_actions.clear()
        started.append(bridge.runtime())
        wait_for(lambda: started[-1].client.status.capabilities, timeout=15)
        return started[-1]

    yield start
    for rt in started:
        rt.close()
    bridge.runtime.clear()


def page(path, **query):
    """A page run as its own script (routed already): AppTest then registers form submits."""
    at = AppTest.from_file(str(ROOT / path), default_timeout=30)
    at.session_state[bridge.REROUTED] = True
    at.query_params.update(query)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def labels(at):
    return [b.label for b in at.button]


def test_start_scan_and_abandon_without_a_launcher(gateway_factory, dashboard, monkeypatch):
    monkeypatch.setenv("BUGHUNT_SECRET", SECRET)
    gateway = gateway_factory("--abandon-after", "3")
    rt = dashboard(gateway.url, token("admin", "dash"))
    at = page("pages/scans.py")
    assert not at.get("form") and not at.text_input  # no form to fill in only to learn it cannot start
    assert any("no scan launcher" in c.value for c in at.caption)

    producer = token("producer", "scanner")
    gateway.publish("scan_started", {"scan_id": "s1", "scan_name": "Nightly"}, token=producer)
    gateway.publish("scan_started", {"scan_id": "s2", "scan_name": "Weekly"}, token=producer)
    published = time.monotonic()
    wait_for(lambda: "s2" in rt.store.snapshot().scans)
    at = page("pages/scan.py", id="s1")
    assert "Abandon scan" not in labels(at) and "Cancel scan" not in labels(at)  # alive, and not launched
    time.sleep(max(0.0, published + 3.2 - time.monotonic()))  # silent longer than --abandon-after
    bridge.scan_actions.clear()
    weekly = page("pages/scan.py", id="s2")
    assert "Abandon scan" in labels(weekly)
    gateway.publish("scan_progress", {"scan_id": "s2", "progress": 5}, token=producer)  # alive again, and
    wait_for(lambda: rt.store.snapshot().scans["s2"].progress == 5)  # the page's answer (3 s) not renewed yet
    next(b for b in weekly.button if b.label == "Abandon scan").click().run()
    assert weekly.error[0].value.startswith(views.literal("Abandon scan: refused — scan s2 is alive"))
    at = page("pages/scan.py", id="s1")
    assert labels(at).count("Abandon scan") == 1 and "Cancel scan" not in labels(at)
    shared = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)  # the same scan through a share link
    shared.query_params.update({"id": "s1", "token": token("viewer", "share-s1", scans=["s1"])})
    shared.run()
    assert not shared.exception and shared.title[0].value == "Nightly" and "Abandon scan" not in labels(shared)
    at.text_input(key="control_reason").input("scanner host died").run()
    next(b for b in at.button if b.label == "Abandon scan").click().run()
    assert [s.value for s in at.success] == ["Scan abandoned"]
    wait_for(lambda: rt.store.snapshot().scans["s1"].status == "abandoned")
    at = page("pages/scan.py", id="s1")
    said = views.literal("Abandoned by token dash: scanner host died")
    assert any(w.value.startswith(said) for w in at.warning)
    assert "Abandon scan" not in labels(at)  # ended: nothing left to do


def test_start_form_profiles_empty_target_and_cancel(gateway_factory, dashboard):
    gateway = gateway_factory("--demo", "--demo-scans", "0", "--speed", "0.5", "--seed", "1")
    rt = dashboard(gateway.url, token("viewer", "dash", start_scans=True))
    at = page("pages/scans.py")
    profiles = [s for s in at.selectbox if s.label == "Profile"]
    assert [s.options for s in profiles] == [["quick", "full"]]  # the launcher's profiles
    at.button[0].click().run()  # the form's submit with an empty target: nothing is sent
    assert [e.value for e in at.error] == [controls.NO_TARGET]
    at.text_input[0].input("shop.example.com")
    profiles[0].select("quick")
    at.button[0].click().run()
    assert at.success[0].value.startswith("Scan started: ")
    scan_id = wait_for(lambda: next(iter(rt.store.snapshot().scans), None))
    assert "quick" in rt.store.snapshot().scans[scan_id].name

    at = page("pages/scan.py", id=scan_id)
    assert "Cancel scan" in labels(at) and "Abandon scan" not in labels(at)  # launched here; alive
    next(b for b in at.button if b.label == "Cancel scan").click().run()
    assert [s.value for s in at.success] == ["Scan cancelled"]
    wait_for(lambda: rt.store.snapshot().scans[scan_id].status == "cancelled")
    assert [s.value for s in page("pages/events.py").success] == ["Every check passes"]  # a healthy connection


"""Every page under Streamlit's AppTest, fed through the real store (no gateway needed: the
client points at a closed port and keeps retrying, as it would with a gateway down)."""
import time

import pytest
from streamlit.testing.v1 import AppTest

from realtime import bridge, changes, debug, push, views
from tests.conftest import ROOT, free_port, wait_for

PAGES = {
    "pages/dashboard.py": ["Dashboard", "Total Scans", "Active Scans", "Vulnerabilities", "Critical"],
    "pages/scans.py": ["Scans", "Start a scan"],
    "pages/scan.py": ["Scan detail"],
    "pages/vulnerabilities.py": ["Vulnerabilities"],
    "pages/notifications.py": ["Notifications"],
    "pages/events.py": ["Live events", "Connection", "Rejected events"],
}
HOSTILE = "**bold** [a](javascript:alert(1)) ![x](http://127.0.0.1:9/p.png) <img src=x onerror=alert(1)>"


@pytest.fixture
def rt(monkeypatch):
    monkeypatch.setenv("BUGHUNT_WS_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("BUGHUNT_STUCK_AFTER_SECONDS", "60")
    bridge.runtime.clear()
    runtime = bridge.runtime()
    yield runtime
    runtime.close()
    bridge.runtime.clear()


def open_page(page, **query):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.query_params.update(query)
    at.run()
    if page != "pages/dashboard.py":
        at.switch_page(page)
        at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def texts(at):
    """Every piece of text on the page, as the script sent it."""
    parts = []
    for kind in ("title", "subheader", "markdown", "caption", "info", "success", "error", "warning"):
        parts += [e.value for e in getattr(at, kind)]
    parts += [m.label for m in at.metric] + [str(m.value) for m in at.metric]
    parts += [b.label for b in at.button] + [e.proto.text for e in at.get("progress")]
    return "\n".join(parts)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders(rt, page):
    at = open_page(page)
    shown = texts(at)
    for label in PAGES[page]:
        assert label in shown, f"{label!r} missing on {page}"
    assert "Disconnected" in "\n".join(e.value for e in at.sidebar.error) or \
        "Connecting" in "\n".join(e.value for e in at.sidebar.warning)


def feed(store, events):
    for event, data in events:
        store.apply(event, data)


def test_dashboard_shows_metrics_active_scans_and_empty_state(rt):
    at = open_page("pages/dashboard.py")
    assert "No scans yet — publish one with this command" in texts(at)  # an empty page teaches
    now = time.time()
    feed(rt.store, [
        ("scan_started", {"scan_id": "a1", "scan_name": "Shop scan", "target": "https://shop.example"}),
        ("scan_progress", {"scan_id": "a1", "progress": 42, "phase": "active_recon", "current_step": "Crawling"}),
        ("vulnerability_found", {"scan_id": "a1", "title": "SQLi", "severity": "critical"}),
        ("vulnerability_found", {"scan_id": "a1", "title": "XSS", "severity": "low"}),
        ("scan_started", {"scan_id": "old", "scan_name": "Quiet scan"}),
    ])
    rt.store.apply("scan_progress", {"scan_id": "old", "progress": 10}, at=now - 300)
    at.run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Total Scans": "2", "Active Scans": "2", "Vulnerabilities": "2", "Critical": "1"}
    shown = texts(at)
    assert "No active scans" not in shown and "42%" in shown
    assert "Current phase: active&#95;recon" in shown  # escaped: shown as the characters it is
    assert "possibly stuck — last event 5 min ago" in shown


def test_untrusted_text_is_escaped_everywhere(rt):
    feed(rt.store, [
        ("scan_started", {"scan_id": "h1", "scan_name": HOSTILE, "target": HOSTILE}),
        ("vulnerability_found", {"scan_id": "h1", "title": HOSTILE, "severity": "critical", "url": HOSTILE}),
        ("notification", {"message": HOSTILE, "title": HOSTILE}),
    ])
    for page in ("pages/dashboard.py", "pages/notifications.py"):
        shown = texts(open_page(page))
        assert HOSTILE not in shown  # never handed to markdown as is
        assert views.literal(HOSTILE) in shown
    at = open_page("pages/vulnerabilities.py")
    table = at.dataframe[0].value
    assert table["title"].tolist() == [HOSTILE]  # dataframe cells are shown literally
    assert open_page("pages/scan.py", id="h1").title[0].value == views.literal(HOSTILE)


def test_notifications_read_and_unread(rt):
    feed(rt.store, [("notification", {"id": "n1", "message": "first", "type": "error"}),
                    ("notification", {"id": "n2", "message": "second", "type": "success"})])
    at = open_page("pages/notifications.py")
    assert "2 unread · 2 in all" in texts(at)
    told = push.FEED.total((changes.NOTIFICATIONS,))
    at.button(key="read-n1").click().run()
    assert "1 unread · 2 in all" in texts(at)
    # the viewer's other tabs hear of it: no store change tells them, nor a heartbeat (their sidebar has none)
    assert push.FEED.total((changes.NOTIFICATIONS,)) > told
    viewer = "session:" + at.session_state["session_viewer"]  # read flags are this viewer's (issue 18), not the store's
    assert rt.reads.read_ids(viewer) == {"n1"} and rt.store.snapshot().unread == 2
    next(b for b in at.button if b.label == "Mark all as read").click().run()
    assert rt.reads.unread(rt.store.snapshot(), viewer) == 0 and "0 unread" in texts(at)


def test_events_page_shows_events_and_rejected_with_reasons(rt):
    feed(rt.store, [("scan_progress", {"scan_id": 1, "progress": 5, "seq": 1}),
                    ("scan_progress", {"scan_id": 1, "progress": 500})])
    at = open_page("pages/events.py")
    checks, events, rejected = (frame.value for frame in at.dataframe[:3])
    assert "scan_progress" in events["event"].tolist()
    assert rejected["reason"].tolist() == ["progress: Input should be less than or equal to 100"]
    # the troubleshooting checks see the gateway down (nothing listens there) and the rejection
    rows = {row["check"]: row for row in checks.to_dict("records")}
    assert rows["Gateway reachable"]["fix"].startswith("Start the gateway")
    assert "latest scan_progress: progress: Input should be" in rows["Events valid"]["result"]


def test_events_page_debug_toggle_shows_the_log(rt):
    at = open_page("pages/events.py")
    debug.enable(True)  # the server's switch is an admin's (tests/integration/test_team_render_pages.py)
    toggle = next(t for t in at.toggle if t.label == "Show the debug log in this tab")
    toggle.set_value(True).run()
    try:
        rt.client.reconnect_now()  # a retry, now that debug mode is on
        wait_for(lambda: any("connecting url=" in line.message for line in debug.lines()))
        at.run()
        log = at.dataframe[-1].value
        assert any("debug mode on" in message for message in log["message"])
        assert any("connecting url=" in message for message in log["message"])
        assert debug.enabled()
    finally:
        debug.enable(False)


def test_scan_detail_shows_progress_phase_and_failure(rt):
    feed(rt.store, [("scan_started", {"scan_id": "f1", "scan_name": "Doomed"}),
                    ("scan_progress", {"scan_id": "f1", "progress": 30, "phase": "exploitation"}),
                    ("scan_failed", {"scan_id": "f1", "error": "WAF blocked us"})])
    at = open_page("pages/scan.py", id="f1")
    shown = texts(at)
    assert "Current phase: exploitation" in shown and "Scan failed: WAF blocked us" in shown
    assert rt.leases.rooms == ["scan_f1"]
    assert "waiting for them" in texts(open_page("pages/scan.py", id="nope"))
    assert open_page("pages/scan.py", id="../x").error[0].value.startswith("That is not a scan id")


def test_scans_page_lists_and_filters(rt):
    feed(rt.store, [("scan_started", {"scan_id": "s1", "scan_name": "One"}), ("scan_completed", {"scan_id": "s1"}),
                    ("scan_started", {"scan_id": "s2", "scan_name": "Two"})])
    at = open_page("pages/scans.py")
    assert sorted(at.dataframe[0].value["name"]) == ["One", "Two"]
    at.multiselect[0].select("completed").run()
    assert at.dataframe[0].value["name"].tolist() == ["One"]
    # the "Start scan" form is driven in a real browser (test_browser.py): AppTest does not
    # register form submits on pages behind st.navigation


def test_settings_come_from_secrets_with_the_environment_winning(monkeypatch):
    monkeypatch.setenv("BUGHUNT_REFRESH_SECONDS", "2")
    bridge.runtime.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.secrets["BUGHUNT_WS_URL"] = f"http://127.0.0.1:{free_port()}"
    at.secrets["BUGHUNT_USER_ID"] = "7"
    at.secrets["BUGHUNT_REFRESH_SECONDS"] = "5"
    at.run()
    assert not at.exception
    runtime = bridge.runtime()
    try:
        assert runtime.demo is None and runtime.settings.user_id == "7"
        assert runtime.settings.refresh_seconds == 2.0  # the environment overrides secrets
        assert runtime.client.rooms == ("user_7",)  # private notifications
    finally:
        runtime.close()
        bridge.runtime.clear()


def test_connection_panel_says_how_a_reconnect_caught_up(rt):
    from realtime.store import ConnectionState

    rt.client.close()  # hold the state still: no retries overwriting it
    rt.store.set_connection(ConnectionState(connected=True, url="u", note="Reconnected — replayed 37 missed events"))
    at = open_page("pages/dashboard.py")
    assert [e.value for e in at.sidebar.success] == ["Connected"]
    assert views.literal("Reconnected — replayed 37 missed events") in [c.value for c in at.sidebar.caption]
    rt.store.set_connection(ConnectionState(connected=False, attempts=2, reason="Connection refused"))
    at.run()
    assert [e.value for e in at.sidebar.error] == ["Disconnected — retrying (attempt 3)"]


def test_a_share_link_opens_one_scan_read_only(rt, monkeypatch):
    from realtime.auth import Authenticator

    secret = "share-secret-" + "z" * 40
    monkeypatch.setenv("BUGHUNT_SECRET", secret)
    bridge.runtime.clear()  # the runtime reads the secret when it is built
    rt = bridge.runtime()
    feed(rt.store, [("scan_started", {"scan_id": "s1", "scan_name": "Shared scan"}),
                    ("scan_started", {"scan_id": "s2", "scan_name": "Private scan"})])
    token = Authenticator(secret).mint("guest", "viewer", ["s1"], ttl=600)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.query_params.update({"id": "s1", "token": token})
    at.run()
    assert not at.exception and at.title[0].value == "Shared scan"
    assert len(at.sidebar) <= 1 and not [b for b in at.button if b.label == "Create link"]  # nothing else
    for query, message in ((dict(id="s2", token=token), "This link is not for this scan."),
                           (dict(id="s1", token=token + "x"), "This link does not work: invalid token")):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
        at.query_params.update(query)
        at.run()
        assert at.error[0].value.startswith(message) and not at.title


def test_oidc_login_guards_the_dashboard_when_configured(rt):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.secrets["auth"] = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "x" * 32,
                          "client_id": "id", "client_secret": "s",
                          "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}
    at.run()
    assert [b.label for b in at.button] == ["Log in"] and not at.metric

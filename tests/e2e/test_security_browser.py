"""Issue 16's attacks that need a browser (points 2, 5, 6 and 8), in real Chromium against a real
gateway and dashboard, each shown refused."""
import http.server
import re
import threading
import time

import pytest
from playwright.sync_api import expect

from realtime.auth import Authenticator
from tests.conftest import StreamlitProcess, free_port, wait_for

SECRET = "browser-round-two-" + "y" * 40
AUTH = Authenticator(SECRET)
TIMEOUT = 20_000

OPEN_SOCKET = """url => new Promise(done => {
    const seen = [];
    const ws = new WebSocket(url);
    ws.onmessage = m => { seen.push(String(m.data)); if (String(m.data).startsWith("0")) ws.send("40"); };
    ws.onclose = () => done(seen);
    ws.onerror = () => seen.push("error");
    setTimeout(() => done(seen), 3000);
})"""


@pytest.fixture
def attacker():
    """Another site on this machine: a web server on its own loopback port, serving one page."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def attacker_page(page, site):
    page.goto(site + "/README.md")


def socket_messages(page, gateway):
    return page.evaluate(OPEN_SOCKET, gateway.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket")


def test_2_a_page_of_another_site_cannot_use_an_open_gateway(gateway_factory, page, monkeypatch, attacker):
    monkeypatch.delenv("BUGHUNT_SECRET", raising=False)
    gateway = gateway_factory()
    attacker_page(page, attacker)
    seen = socket_messages(page, gateway)
    assert not any(m.startswith("0") or m.startswith("40") for m in seen), seen  # no handshake at all
    read = page.evaluate("url => fetch(url).then(r => r.text(), e => 'blocked')", gateway.url + "/api/state")
    assert read == "blocked"
    assert gateway.get("/api/state")["scans"] == []  # (without an Origin, as a script on this machine)
    assert not [line for line in gateway.log if "Traceback" in line]


def test_2_the_listed_origin_is_allowed(gateway_factory, page, monkeypatch, attacker):
    """The control for the test above: the same page connects once its origin is listed."""
    monkeypatch.delenv("BUGHUNT_SECRET", raising=False)
    gateway = gateway_factory("--cors-origins", attacker)
    attacker_page(page, attacker)
    seen = socket_messages(page, gateway)
    assert any(m.startswith("40") for m in seen), (seen, gateway.log)


@pytest.fixture
def secured(gateway_factory, monkeypatch, page):
    """A gateway with a secret and a dashboard watching it as user `a`, connected (its client
    starts with the first visit: events before it arrive as state, not in the event log)."""
    monkeypatch.setenv("BUGHUNT_SECRET", SECRET)
    gateway = gateway_factory("--metrics-interval", "60")
    app = StreamlitProcess({"BUGHUNT_WS_URL": gateway.url, "BUGHUNT_SECRET": SECRET, "BUGHUNT_USER_ID": "a",
                            "BUGHUNT_WS_TOKEN": AUTH.mint("a", "viewer"), "BUGHUNT_REFRESH_SECONDS": "0.5"})
    page.goto(app.url)
    expect(page.locator('[data-testid="stSidebar"]').get_by_text("Connected", exact=True)).to_be_visible(
        timeout=TIMEOUT)
    yield gateway, app
    app.stop()
    assert not [line for line in app.log + gateway.log if "Traceback" in line]


def producer():
    return AUTH.mint("scanner", "producer")


def test_5_a_share_link_page_shows_no_private_notification(secured, page):
    gateway, app = secured
    gateway.publish("scan_started", {"scan_id": "s1", "scan_name": "Linked"}, token=producer())
    gateway.publish("notification", {"scan_id": "s1", "user_id": "a", "message": "a-only: creds admin/hunter2"},
                    token=producer())
    gateway.publish("scan_progress", {"scan_id": "s1", "progress": 5, "current_step": "PUBLICSTEP"},
                    token=producer())
    page.goto(f"{app.url}/scan?id=s1&token={AUTH.mint('guest', 'viewer', ['s1'], ttl=600)}")
    expect(page.get_by_text("Linked", exact=True)).to_be_visible(timeout=TIMEOUT)
    grid = page.locator('[data-testid="stDataFrame"]').last
    expect(grid).to_contain_text("PUBLICSTEP", timeout=TIMEOUT)  # the Events table is there, readable
    assert "hunter2" not in page.content()
    page.goto(f"{app.url}/scan?id=s1")  # the dashboard's owner does see it on their own page
    expect(page.locator('[data-testid="stDataFrame"]').last).to_contain_text("hunter2", timeout=TIMEOUT)


def test_6_an_expired_share_link_stops_streaming_at_once(secured, page):
    gateway, app = secured
    gateway.publish("scan_started", {"scan_id": "s6", "scan_name": "Expiring"}, token=producer())
    # the page must be up and streaming before the link expires: a first page on a busy machine took over 10 s
    expires, link = time.time() + 25, AUTH.mint("guest", "viewer", ["s6"], ttl=25)
    page.goto(f"{app.url}/scan?id=s6&token={link}")
    expect(page.get_by_text("Expiring", exact=True)).to_be_visible(timeout=TIMEOUT)
    gateway.publish("scan_progress", {"scan_id": "s6", "progress": 10, "current_step": "BEFORE-EXPIRY"},
                    token=producer())
    expect(page.get_by_text("BEFORE-EXPIRY", exact=True)).to_be_visible(timeout=TIMEOUT)
    time.sleep(max(0.0, expires + 1 - time.time()))  # PyJWT's exp is whole seconds
    gateway.publish("scan_progress", {"scan_id": "s6", "progress": 20, "current_step": "AFTER-EXPIRY"},
                    token=producer())
    expect(page.get_by_text(re.compile("This link does not work: token expired"))).to_be_visible(timeout=5_000)
    time.sleep(2)
    assert "AFTER-EXPIRY" not in page.inner_text("body") and "Expiring" not in page.inner_text("body")


def test_8_text_injections_show_as_text(secured, page):
    gateway, app = secured
    url = "https://evil.example/a?b=1"
    gateway.publish("scan_started", {"scan_id": "__x__", "scan_name": "Plain name",
                                     "target": f":smile: safe\u202eemordnilap {url}"}, token=producer())
    gateway.publish("scan_progress", {"scan_id": "__x__", "progress": 3, "phase": ":smile:",
                                      "current_step": ":tada: step"}, token=producer())
    page.goto(f"{app.url}/scan?id=__x__")
    expect(page.get_by_text("Plain name", exact=True)).to_be_visible(timeout=TIMEOUT)
    def shown():
        text = page.inner_text("body")
        return text if "scan id __x__" in text and ":tada: step" in text else None

    body = wait_for(shown, timeout=TIMEOUT / 1000)
    assert page.locator("strong", has_text=re.compile("^x$")).count() == 0
    assert "<U+202E>emordnilap" in body and "\u202e" not in page.content()
    assert ":smile: safe" in body and ":tada: step" in body and "😄" not in body and "🎉" not in body
    code = page.locator("code", has_text=url)
    expect(code.first).to_have_text(url)  # the URL as it is: no invisible characters to copy
    # no link leads there (the link to the target's own page carries the text quoted in its query)
    hosts = page.evaluate("[...document.links].map(a => new URL(a.href).hostname)")
    assert not [h for h in hosts if h.endswith("evil.example")], hosts
    wait_for(lambda: "Current phase: :smile:" in page.inner_text("body"), timeout=10)


OPENS = """url => new Promise(done => {
    const ws = new WebSocket(url);
    ws.onopen = () => { done("open"); ws.close(); };
    ws.onerror = () => done("refused");
    setTimeout(() => done("timeout"), 5000);
})"""
SENDS_TEXT = """url => new Promise(done => {
    const ws = new WebSocket(url);
    ws.onopen = () => ws.send("not a protobuf");  // Streamlit reads binary frames only
    ws.onclose = (event) => done(event.code);
    setTimeout(() => done("still open"), 5000);
})"""


def test_10_the_dashboard_cannot_be_framed_and_its_socket_is_for_its_own_pages(page, attacker):
    app = StreamlitProcess({})
    try:
        page.goto(app.url)
        expect(page.get_by_text(re.compile("Demo mode"))).to_be_visible(timeout=TIMEOUT)  # works behind the guard
        stream = app.url.replace("http", "ws") + "/_stcore/stream"
        assert page.evaluate(OPENS, stream) == "open"  # from its own page
        assert page.evaluate(SENDS_TEXT, stream) == 1003  # unsupported data: one line in the log, no traceback
        attacker_page(page, attacker)
        assert page.evaluate(OPENS, stream) == "refused"  # from another site's page
        page.evaluate("url => { const f = document.createElement('iframe'); f.src = url; "
                      "document.body.appendChild(f); }", app.url)
        time.sleep(5)
        framed = []
        for frame in page.frames[1:]:
            try:
                framed.append(frame.inner_text("body"))
            except Exception:  # noqa: BLE001 - a blocked frame has no document to read
                framed.append("")
        assert page.frames[1:] and not any("Bug Hunt Monitor" in text or "Demo mode" in text for text in framed)
    finally:
        app.stop()
    assert not [line for line in app.log if "Traceback" in line]
    assert [line for line in app.log if "a tab sent a text frame on Streamlit's socket: closed (1003)" in line]

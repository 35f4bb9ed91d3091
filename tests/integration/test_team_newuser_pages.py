"""Issue 18 as a new user finds it, under Streamlit's AppTest: every page with nothing to show
teaches the one command that gives it something (in the demo too, with its token); a page box
past the end, and what is shown before the browser said what it has read."""
import shlex
import urllib.error
import urllib.request

import pytest

from realtime import viewer
from tests.integration import test_pages
from tests.integration.test_pages import open_page, texts

rt = test_pages.rt  # the same fixture: a runtime whose client retries a closed port


def codes(at) -> str:
    return "\n".join(c.value for c in at.code)


@pytest.mark.parametrize("page, teaches, command", [
    ("pages/dashboard.py", "No scans yet — publish one with this command", '"event": "scan_started"'),
    ("pages/events.py", "No scans yet — publish one with this command", '"event": "scan_started"'),
    ("pages/notifications.py", "No notifications yet — ", '"event": "notification"'),
    ("pages/scans.py", "No scans yet — publish one with this command", '"event": "scan_started"'),
    ("pages/vulnerabilities.py", "No findings yet — publish one with this command", '"event": "vulnerability_found"'),
])
def test_an_empty_page_teaches_the_command(rt, page, teaches, command):
    at = open_page(page)
    assert teaches in texts(at)
    shown = codes(at)
    assert command in shown and rt.settings.ws_url.rstrip("/") in shown  # the command, for this gateway


def test_a_page_with_data_no_longer_teaches(rt):
    rt.store.apply("scan_started", {"scan_id": "s1", "scan_name": "Shop"})
    rt.store.apply("notification", {"type": "info", "title": "Hi", "message": "there"})
    for page in ("pages/dashboard.py", "pages/events.py", "pages/notifications.py"):
        at = open_page(page)
        assert "publish one with this command" not in texts(at) and not at.code, page


@pytest.fixture
def demo(monkeypatch):
    monkeypatch.delenv("BUGHUNT_WS_URL", raising=False)
    monkeypatch.setenv("BUGHUNT_DEMO_SCANS", "0")  # a demo with nothing yet: its pages teach
    test_pages.bridge.runtime.clear()
    yield test_pages.bridge.runtime()
    test_pages.bridge.runtime.clear()


def run_curl(command: str) -> int:
    """The shown curl command, sent as curl would (its URL, -X, -H and -d): the HTTP status."""
    words = shlex.split(command)
    url = next(w for w in words if w.startswith("http"))
    pairs = list(zip(words, words[1:], strict=False))
    options = {flag: value for flag, value in pairs if flag in ("-X", "-d")}
    headers = dict(value.split(": ", 1) for flag, value in pairs if flag == "-H")
    request = urllib.request.Request(url, data=options["-d"].encode(), headers=headers, method=options["-X"])
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as refused:
        return refused.code


def test_the_demos_teaching_command_works_as_shown(demo):
    """The demo's gateway has a secret nobody outside the app knows: its command carries a token
    (it got 401 before)."""
    at = open_page("pages/vulnerabilities.py")
    command = codes(at)
    assert "Authorization: Bearer " in command and "made for this tab" in texts(at)
    assert run_curl(command) == 202


def test_a_page_number_past_the_end_becomes_the_last_page_without_a_warning(rt, caplog):
    rt.store.apply("scan_started", {"scan_id": "s1", "scan_name": "Shop"})
    rt.store.apply("vulnerability_found", {"scan_id": "s1", "title": "One", "severity": "low"})
    at = open_page("pages/vulnerabilities.py")
    box = at.number_input(key="vulnerabilities_page")
    assert box.label == "Page (of 1)"
    box.set_value(999).run()
    assert at.number_input(key="vulnerabilities_page").value == 1 and not at.exception
    assert "created with a default value but also had its value set" not in caplog.text  # (a stack in the log)


def test_before_the_browser_said_what_it_read_nothing_is_called_unread(rt, monkeypatch):
    rt.store.apply("notification", {"type": "info", "title": "Hi", "message": "there"})
    monkeypatch.setattr(viewer, "settled", lambda: False)  # the browser's id has not come yet
    dashboard = texts(open_page("pages/dashboard.py"))
    assert "there" in dashboard and "· unread" not in dashboard and "asking this browser" in dashboard
    notes = texts(open_page("pages/notifications.py"))
    assert "Unread: asking this browser which it has read · 1 in all" in notes and "unread ·" not in notes

"""Issue 18 as a new user finds it, under Streamlit's AppTest: every page with nothing to show
teaches the one command that gives it something."""
import pytest

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

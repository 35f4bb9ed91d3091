"""app.py routes every page, even on the very first request of a fresh server (issue 13).

A `pages/` folder next to app.py puts a fresh Streamlit server in its legacy folder routing until
some run calls st.navigation; bridge.take_routing moves the first request over to app.py."""
import pytest
from playwright.sync_api import expect

from tests.conftest import StreamlitProcess, free_port


@pytest.mark.parametrize("path, title", [("/scans", "Scans"), ("/vulnerabilities", "Vulnerabilities")])
def test_a_deep_link_as_first_request_gets_app_py_sidebar_and_navigation(page, path, title):
    app = StreamlitProcess({"BUGHUNT_WS_URL": f"http://127.0.0.1:{free_port()}"})  # fresh server each time
    try:
        page.goto(app.url + path)
        expect(page.locator("h1").first).to_have_text(title, timeout=30_000)
        sidebar = page.locator('[data-testid="stSidebar"]')
        expect(sidebar.get_by_text("Bug Hunt Monitor")).to_be_visible(timeout=20_000)  # app.py ran
        # app.py's navigation (titles and icons), not the folder's file names
        expect(page.locator('[data-testid="stSidebarNav"]').get_by_text("Live events")).to_be_visible()
        assert page.url == app.url + path
    finally:
        app.stop()

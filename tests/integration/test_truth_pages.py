"""The sidebar never says a bare "Connected" while the gateway's Redis stream is down (AppTest)."""
from realtime import stream_health, views
from realtime.store import ConnectionState
from tests.integration.test_pages import open_page, rt  # noqa: F401 - rt is a fixture


def test_the_sidebar_says_the_gateway_cannot_receive_events_while_its_stream_is_down(rt):  # noqa: F811
    rt.client.close()  # hold the state still: no retries overwriting it
    down = stream_health.read({"ok": False, "since": "2026-11-27T19:40:12Z", "error": "redis is unreachable"})
    rt.store.set_connection(ConnectionState(connected=True, url="u", stream=down))
    at = open_page("pages/dashboard.py")
    assert not at.sidebar.success
    assert [e.value for e in at.sidebar.warning] == [views.literal(stream_health.down_text(down))]
    assert "its Redis stream is down since `19:40:12` UTC" in at.sidebar.warning[0].value  # shown inert
    events = open_page("pages/events.py")  # the Live events page's connection details agree
    assert {m.label: m.value for m in events.metric}["State"] == "Connected, stream down"
    rt.store.set_connection(ConnectionState(connected=True, url="u", stream=stream_health.read(
        {"ok": True, "since": "2026-11-27T19:41:00Z"})))
    at.run()
    assert [e.value for e in at.sidebar.success] == ["Connected"] and not at.sidebar.warning

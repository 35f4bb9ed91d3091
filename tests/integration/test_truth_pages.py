"""The sidebar never says a bare "Connected" while the gateway's Redis stream is down (AppTest)."""
import time

from realtime import stream_health, views
from realtime.store import ConnectionState
from tests.integration.test_pages import open_page, rt  # noqa: F401 - rt is a fixture


def test_the_sidebar_says_the_gateway_cannot_receive_events_while_its_stream_is_down(rt):  # noqa: F811
    rt.client.close()  # hold the state still: no retries overwriting it
    down = stream_health.read({"ok": False, "since": "2026-11-27T19:40:12Z", "error": "redis is unreachable"})
    rt.store.set_connection(ConnectionState(connected=True, url="u", stream=down))
    at = open_page("pages/dashboard.py")
    assert not at.sidebar.success
    assert [e.value for e in at.sidebar.warning] == [stream_health.down_text(down, shown=views.literal)]
    down_since = "its Redis stream is down since 2026-11-27 19:40:12 UTC (redis is unreachable)"
    assert down_since in at.sidebar.warning[0].value
    events = open_page("pages/events.py")  # the Live events page's connection details agree
    assert {m.label: m.value for m in events.metric}["State"] == "Connected, stream down"
    rt.store.set_connection(ConnectionState(connected=True, url="u", stream=stream_health.read(
        {"ok": True, "since": "2026-11-27T19:41:00Z"})))
    at.run()
    assert [e.value for e in at.sidebar.success] == ["Connected"] and not at.sidebar.warning


def test_the_sidebar_says_when_its_connection_caught_up_as_the_note_stays(rt):  # noqa: F811
    rt.client.close()
    since = time.time() - 300
    rt.store.set_connection(ConnectionState(connected=True, url="u", since=since,
                                            note="Resynced from snapshot — not brought back: **x**"))
    caption = next(c.value for c in open_page("pages/dashboard.py").sidebar.caption if "Resynced" in c.value)
    # a clock time, not "5 min ago": the panel reruns on change only, and a relative time would go stale
    assert caption.startswith("Resynced from snapshot") and caption.endswith(views.clock(since))
    assert "**x**" not in caption

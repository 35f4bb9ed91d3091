"""Bug Hunt Monitor: the dashboard script (app.py serves it). Settings, the shared runtime,
navigation, the sidebar (connection, refresh, demo banner) and toasts on every page."""
import time

import streamlit as st

from realtime import bridge, controls, stream_health, viewer, views
from realtime.viewer import zone
from realtime.views import style

st.set_page_config(page_title="Bug Hunt Monitor", page_icon="🛡️", layout="wide")
st.html(style.STYLE)
rt = bridge.runtime()

# A share link (/scan?id=…&token=…) shows that one scan, read-only: no navigation, no sidebar.
shared, refusal = bridge.shared_scan()
if refusal:
    st.error(refusal)
    st.stop()
if shared:
    st.session_state[bridge.READ_ONLY] = True
    bridge.run_page(st.navigation(bridge.shared_pages(), position="hidden"))
    st.stop()
if bridge.login_required():
    st.title("Bug Hunt Monitor")
    st.button("Log in", on_click=st.login, type="primary")
    st.stop()
refresh = bridge.cursor(bridge.REFRESH, rt.settings.refresh_seconds)
nav = st.navigation(bridge.app_pages())
viewer.ask_browser()  # its answer needs no rerun: the pages and the sidebar ask viewer.me() as they draw


# While disconnected the panel counts down to the next attempt: it reruns every refresh then.
drawn_counting = controls.counts_down(rt.snapshot().connection)


# No heartbeat: nothing in the panel moves by itself (its times are clock times), so with push it
# reruns only on a change it shows (idle tabs cost a third fewer reruns), or every refresh while
# it counts down.
@bridge.live("toasts", "connection", "notifications", "active", note=True, countdown=drawn_counting,
             heartbeat=False)
def sidebar_live() -> None:
    """The connection panel, and toasts for what arrived since this tab's last look (once per
    event per tab). One fragment: each costs a rerun per viewer per tick."""
    snap = rt.snapshot()
    status = snap.connection
    if controls.counts_down(status) != drawn_counting:  # the connection went or came back: the timer too
        st.rerun(scope="app")
    if status.connected:
        if down := stream_health.down_text(status.stream, zone(), views.literal):  # up, but nothing can arrive
            st.warning(down, icon=":material/cloud_off:")
        else:
            st.success("Connected", icon=":material/wifi:")
        if status.note:  # how this connection caught up: said with when, as it stays until the next one
            since = f" · {views.clock(status.since, zone())}" if status.since else ""
            st.caption(views.literal(status.note) + since)
    elif status.reason == "connecting":
        st.warning("Connecting…", icon=":material/sync:")
    else:
        st.error(controls.retry_text(status, time.time()), icon=":material/wifi_off:")
        st.caption(views.literal(status.reason or ""))
        if st.button("Reconnect now"):
            with st.spinner("Trying to reconnect…"):
                status = rt.client.reconnect_now(wait=3)
            st.session_state[bridge.RECONNECT_OUTCOME] = (time.time(), controls.reconnect_outcome(status))
    outcome = st.session_state.get(bridge.RECONNECT_OUTCOME)
    # Long enough to read across refreshes; once connected the panel says so (and does not rerun then).
    if outcome and not status.connected and time.time() - outcome[0] < 10:
        st.caption(views.literal(outcome[1]))
    active = views.plural(len(views.active_scans(snap)), "active scan")
    if viewer.settled():
        st.caption(f"{views.plural(rt.reads.unread(snap, viewer.me()), 'unread notification')} · {active}")
    else:  # this tab's own id would count as unread what this browser has read
        st.caption(f"Unread notifications: asking this browser which it has read · {active}")
    if note := bridge.live_note(rt, refresh):
        st.caption(note)
    for problem in rt.journal_problems():
        st.error(views.literal(problem), icon=":material/database:")

    start = bridge.cursor(bridge.TOAST_CURSOR, snap.logged)  # a new tab starts now, not with history
    for toast in views.plan_toasts(views.new_records(snap, start)):
        st.toast(toast.text, icon=toast.icon, duration=toast.duration)
    st.session_state[bridge.TOAST_CURSOR] = snap.logged
    rt.leases.expire()


with st.sidebar:
    st.markdown("### :material/shield: Bug Hunt Monitor")
    if rt.demo is not None:
        st.info("Demo mode — simulated scans. Set `BUGHUNT_WS_URL` to watch a real gateway.")
    if rt.error:
        st.warning(rt.error)
    sidebar_live()
    st.select_slider("Refresh every (s)", options=sorted({0.5, 1.0, 2.0, 5.0, 10.0, rt.settings.refresh_seconds}),
                     key=bridge.REFRESH)

bridge.run_page(nav)

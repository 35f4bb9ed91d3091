"""Bug Hunt Monitor: the dashboard script (app.py serves it). Settings, the shared runtime,
navigation, the sidebar (connection, refresh, demo banner) and toasts on every page."""
import time

import streamlit as st

from realtime import bridge, controls, stream_health, views
from realtime.viewer import identify, zone
from realtime.viewer import me as last_viewer
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
me = last_viewer()  # whose read flags, as last identified (this tab's own id until the browser's comes)
nav = st.navigation(bridge.app_pages())
# The browser's id comes with a rerun the browser asks for: only after the navigation, as a rerun
# asked for before the browser has the page list names the main script and lands on the Dashboard.
if identify() != me:  # the pages below and the sidebar ask last_viewer() as they draw: no rerun needed
    rt.reads.hand_over(me, last_viewer(), rt.snapshot())  # (a rerun here could undo a page the viewer just chose)


@st.fragment(run_every=refresh)
def sidebar_live() -> None:
    """The connection panel, and toasts for what arrived since this tab's last look (once per
    event per tab). One fragment: each costs a rerun per viewer per tick."""
    snap = rt.snapshot()
    status = snap.connection
    if status.connected:
        if down := stream_health.down_text(status.stream, zone()):  # up, but nothing can arrive
            st.warning(views.literal(down), icon=":material/cloud_off:")
        else:
            st.success("Connected", icon=":material/wifi:")
        if status.note:
            st.caption(views.literal(status.note))
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
    if outcome and time.time() - outcome[0] < 10:  # long enough to read across refreshes
        st.caption(views.literal(outcome[1]))
    unread = rt.reads.unread(snap, last_viewer())
    active = len(views.active_scans(snap))
    st.caption(f"{views.plural(unread, 'unread notification')} · {views.plural(active, 'active scan')}")
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

"""Bug Hunt Monitor — `streamlit run app.py`. Entry point: settings, the shared runtime,
navigation, the sidebar (connection, refresh, demo banner) and toasts on every page."""
import streamlit as st

from realtime import bridge, views

bridge.take_routing()
st.set_page_config(page_title="Bug Hunt Monitor", page_icon="🛡️", layout="wide")
rt = bridge.runtime()

# A share link (/scan?id=…&token=…) shows that one scan, read-only: no navigation, no sidebar.
shared, refusal = bridge.shared_scan()
if refusal:
    st.error(refusal)
    st.stop()
if shared:
    st.session_state["read_only"] = True
    st.navigation([st.Page("pages/scan.py", title="Scan", url_path="scan", default=True)], position="hidden").run()
    st.stop()
if bridge.login_required():
    st.title("Bug Hunt Monitor")
    st.button("Log in", on_click=st.login, type="primary")
    st.stop()
refresh = bridge.cursor("refresh", rt.settings.refresh_seconds)
unread = rt.snapshot().unread
# Links made from the page object skip a file-system lookup per link per tick (pages link to scans).
scan_page = st.session_state["scan_page"] = st.Page(
    "pages/scan.py", title="Scan detail", icon=":material/troubleshoot:", url_path="scan")

nav = st.navigation([
    st.Page("pages/dashboard.py", title="Dashboard", icon=":material/dashboard:", default=True),
    st.Page("pages/scans.py", title="Scans", icon=":material/radar:", url_path="scans"),
    scan_page,
    st.Page("pages/vulnerabilities.py", title="Vulnerabilities", icon=":material/bug_report:",
            url_path="vulnerabilities"),
    st.Page("pages/notifications.py", title=f"Notifications ({unread})" if unread else "Notifications",
            icon=":material/notifications:", url_path="notifications"),
    st.Page("pages/events.py", title="Live events", icon=":material/sensors:", url_path="events"),
])


@st.fragment(run_every=refresh)
def sidebar_live() -> None:
    """The connection panel, and toasts for what arrived since this tab's last look (once per
    event per tab). One fragment: each costs a rerun per viewer per tick."""
    snap = rt.snapshot()
    status = snap.connection
    if status.connected:
        st.success("Connected", icon=":material/wifi:")
        if status.note:
            st.caption(views.literal(status.note))
    elif status.reason == "connecting":
        st.warning("Connecting…", icon=":material/sync:")
    else:
        st.error(f"Disconnected — retrying (attempt {status.attempts + 1})", icon=":material/wifi_off:")
        st.caption(views.literal(status.reason or ""))
        if st.button("Reconnect now"):
            rt.client.reconnect_now()
    st.caption(f"{snap.unread} unread notifications · {len(views.active_scans(snap))} active scans")

    start = bridge.cursor("toast_cursor", snap.logged)  # a new tab starts now, not with history
    for toast in views.plan_toasts(views.new_records(snap, start)):
        st.toast(toast.text, icon=toast.icon, duration=toast.duration)
    st.session_state["toast_cursor"] = snap.logged
    rt.leases.expire()


with st.sidebar:
    st.markdown("### :material/shield: Bug Hunt Monitor")
    if rt.demo is not None:
        st.info("Demo mode — simulated scans. Set `BUGHUNT_WS_URL` to watch a real gateway.")
    if rt.error:
        st.warning(rt.error)
    sidebar_live()
    st.select_slider("Refresh every (s)", options=sorted({0.5, 1.0, 2.0, 5.0, 10.0, rt.settings.refresh_seconds}),
                     key="refresh")

nav.run()

"""Dashboard: stat cards, severity and findings-over-time charts, active scans, notifications."""
import time

import streamlit as st

from realtime import bridge, views

bridge.take_routing()
rt = bridge.runtime()
st.title("Dashboard")

CARDS = [("Total Scans", "total_scans"), ("Active Scans", "active_scans"),
         ("Vulnerabilities", "total_vulnerabilities"), ("Critical", "critical_count")]


@st.fragment(run_every=st.session_state.get("refresh", 1.0))
def live() -> None:
    snap = rt.store.snapshot()
    now = time.time()
    for col, (label, key) in zip(st.columns(4), CARDS):
        col.metric(label, snap.metrics.get(key, 0), delta=views.metric_delta(snap, key),
                   chart_data=views.metric_series(snap, key) or None, border=True,
                   help="Change over the last 5 minutes")
    left, right = st.columns(2)
    with left:
        st.subheader("Findings by severity")
        st.plotly_chart(views.severity_figure(views.severity_counts(snap)), key="severity")
    with right:
        st.subheader("Findings over time")
        st.plotly_chart(views.findings_over_time_figure(snap), key="over_time")

    st.subheader("Active Scans")
    scans = views.active_scans(snap)
    if not scans:
        st.info("No active scans")
    for scan in scans[:20]:
        with st.container(border=True):
            head, when = st.columns([4, 1])
            head.markdown(f"**{views.literal(scan.name or scan.scan_id)}**  \n{views.literal(scan.target or '')}")
            when.caption(f"Started {views.clock(scan.started_at)[11:]}")
            st.progress(min(scan.progress, 100) / 100, text=f"{scan.progress:.0f}%")
            step = views.literal(scan.current_step or "")
            st.caption(f"Current phase: {views.literal(scan.phase or '—')} · {step}"
                       f" · last event {views.ago(now - scan.updated_at)}")
            if views.is_stuck(scan, now, rt.settings.stuck_after_seconds):
                st.badge(f"possibly stuck — last event {views.ago(now - scan.updated_at)}", color="orange")
            st.page_link("pages/scan.py", label="Details", icon=":material/troubleshoot:",
                         query_params={"id": scan.scan_id})
    if len(scans) > 20:
        st.caption(f"and {len(scans) - 20} more on the Scans page")

    st.subheader("Latest notifications")
    if not snap.notifications:
        st.caption("No notifications yet")
    for n in snap.notifications[:5]:
        title = f"**{views.literal(n.title)}** — " if n.title else ""
        st.markdown(f"{views.type_icon(n.type)} {title}{views.literal(n.message)} "
                    f"· {views.ago(now - n.at)}{'' if n.read else ' · unread'}")


live()

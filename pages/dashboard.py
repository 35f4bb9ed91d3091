"""Dashboard: stat cards, active scans, notifications (live every refresh), then the severity and
findings-over-time charts (redrawn every BUGHUNT_CHART_SECONDS)."""
import time

import streamlit as st

from realtime import bridge, views
from realtime.viewer import me, settled, zone

bridge.take_routing()
rt = bridge.runtime()
st.title("Dashboard")

ACTIVE_CARDS = 10  # the newest running scans as cards; the Scans page lists them all
CARDS = [("Total Scans", "total_scans"), ("Active Scans", "active_scans"),
         ("Vulnerabilities", "total_vulnerabilities"), ("Critical", "critical_count")]
FINDINGS = ("total_vulnerabilities", "critical_count")  # more of these is bad news: shown red
LATEST = 5  # notifications listed (new ones are previewed at once, before the area's rerun)


@bridge.live("scans", "findings", "metrics")
def live() -> None:
    snap, here = rt.snapshot(), zone()
    now = time.time()
    for col, (label, key) in zip(st.container(key="stat_cards").columns(4), CARDS):  # views/style.py: phones
        card = views.stat_card(snap, label, key)
        col.metric(card.label, card.value, delta=card.delta, chart_data=views.metric_series(snap, key) or None,
                   border=True, help=card.help, delta_color="inverse" if key in FINDINGS else "off")
    st.subheader("Active Scans")
    scans = views.active_scans(snap)
    if not snap.scans:
        bridge.teach(views.no_scans(snap.connection.url))
    elif not scans:
        st.info("No active scans")
    for scan in scans[:ACTIVE_CARDS]:
        with st.container(border=True):  # few elements per card: each costs every viewer every tick
            st.page_link(bridge.scan_page(), query_params={"id": scan.scan_id},
                         label=f"**{views.literal(scan.name or scan.scan_id)}** · started "
                               f"{views.time_of_day(scan.started_at, here)} ({views.ago(now - scan.started_at)})",
                         icon=":material/troubleshoot:")
            st.progress(min(scan.progress, 100) / 100, text=f"{scan.progress:.0f}%")
            # Each field after a label of its own: right-to-left text in two neighbouring fields would
            # otherwise read as one run, and the fields would swap places on screen.
            parts = [views.literal(scan.target or ""), f"Current phase: {views.literal(scan.phase or '—')}",
                     f"Step: {views.literal(scan.current_step)}" if scan.current_step else "",
                     f"last event {views.ago(now - scan.updated_at)}"]
            st.caption(" · ".join(p for p in parts if p))
            if stuck := views.stuck_note(scan, now, rt.settings.stuck_after_seconds):
                st.badge(stuck, color="orange")
    if len(scans) > ACTIVE_CARDS:
        st.caption(f"and {len(scans) - ACTIVE_CARDS} more on the Scans page")
    lost_contact(snap, here)


def lost_contact(snap, here) -> None:
    """Scans that were under way when the gateway's stream lost them: named, not left running."""
    lost = views.lost_scans(snap)
    if not lost:
        return
    st.subheader("Lost contact")
    for scan in lost[:ACTIVE_CARDS]:
        st.warning(f"**{views.literal(scan.name or scan.scan_id)}** · {scan.progress:.0f}% · "
                   f"{views.lost_note(scan, here, views.literal)}", icon=":material/link_off:")
    if len(lost) > ACTIVE_CARDS:
        st.caption(f"and {len(lost) - ACTIVE_CARDS} more on the Scans page")


@bridge.live("notifications", previews=LATEST)
def latest_notifications() -> None:
    """An area of its own: a notification reruns these few lines, not the cards above (and its
    watcher shows it at once, before that rerun)."""
    snap, here = rt.snapshot(), zone()
    now = time.time()
    if not snap.notifications:
        st.caption("No notifications yet")
    viewer, known = me(), settled()  # (not yet known: nothing called unread)
    for n in snap.notifications[:LATEST]:
        read = rt.reads.is_read(n, viewer) or not known
        title = f"**{views.literal(n.title)}** — " if n.title else ""
        st.markdown(f"{views.type_icon(n.type)} {title}{views.literal(n.message)} "
                    f"· {views.when(n.at, now, here)}{'' if read else ' · unread'}")


live()
st.subheader("Latest notifications")  # above the area: new ones are previewed first in it
latest_notifications()


@bridge.live("findings", every=bridge.chart_seconds(rt), heartbeat=False)
def charts() -> None:
    snap = rt.snapshot()
    left, right = st.columns(2)
    with left:
        st.subheader("Findings by severity")
        st.plotly_chart(views.severity_figure(snap), key="severity")
    with right:
        st.subheader("Findings over time")
        st.plotly_chart(views.findings_over_time_figure(snap, zone()), key="over_time")


charts()

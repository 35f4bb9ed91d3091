"""Vulnerabilities: live table with filters, severity chart, CSV/JSON export."""
import time

import streamlit as st

from realtime import bridge, protocol, views

bridge.take_routing()
rt = bridge.runtime()
st.title("Vulnerabilities")
snap = rt.store.snapshot()
f1, f2, f3 = st.columns([2, 2, 3])
severities = f1.multiselect("Severity", list(protocol.SEVERITIES), placeholder="All severities")
scans = views.scans_by_start(snap)
scan_id = f2.selectbox("Scan", [""] + [s.scan_id for s in scans],
                       format_func=lambda sid: "All scans" if not sid else f"{snap.scans[sid].name or sid} ({sid})"
                       if sid in snap.scans else sid)
text = f3.text_input("Search", placeholder="title, URL, target, type")


@st.fragment(run_every=st.session_state.get("refresh", 1.0))
def live() -> None:
    snap = rt.store.snapshot()
    frame = views.filter_findings(views.findings_frame(snap), severities, scan_id, text.strip())
    left, right = st.columns([3, 1])
    with right:
        st.plotly_chart(views.severity_figure(views.severity_counts(snap)), key="severity")
    with left:
        st.caption(f"{len(frame)} of {len(snap.vulnerabilities)} findings")
        if frame.empty:
            st.info("No findings match" if len(snap.vulnerabilities) else "No findings yet")
        else:
            st.dataframe(frame.drop(columns=["id", "scan_id"]), hide_index=True, column_config={
                "url": st.column_config.TextColumn("url"),  # shown as text: never a clickable link
                "cvss": st.column_config.NumberColumn("cvss", format="%.1f"),
            })


live()

frame = views.filter_findings(views.findings_frame(snap), severities, scan_id, text.strip())
stamp = time.strftime("%Y%m%d-%H%M%S")
c1, c2, _ = st.columns([1, 1, 4])
c1.download_button("Export CSV", views.to_csv(frame), f"findings-{stamp}.csv", "text/csv",
                   help="The filtered findings as of this page load; cells that start like a "
                        "spreadsheet formula are quoted.")
c2.download_button("Export JSON", views.to_json(frame), f"findings-{stamp}.json", "application/json")

"""Finding (/finding?id=…): every field of one finding, its scan and target, first/last seen."""
import streamlit as st

from realtime import bridge, views
from realtime.finding_panel import show_finding

bridge.take_routing()
rt = bridge.runtime()
finding_id = st.query_params.get("id", "")


@bridge.live("findings", "scans")
def live() -> None:
    snap = rt.snapshot()
    finding = views.find_finding(snap, finding_id) if finding_id else None
    if finding is None:
        st.title("Finding")
        bridge.teach(views.finding_missing(finding_id, len(snap.vulnerabilities), rt.store.options.max_findings))
        return
    show_finding(snap, finding)


live()

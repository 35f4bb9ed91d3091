"""Scans: every scan (each links to its page) with status and target filters, and a form to
start one."""
import time

import streamlit as st

from realtime import bridge, controls, protocol, views
from realtime.viewer import newer_choices, target_filter, time_column, zone

bridge.take_routing()
rt = bridge.runtime()
st.title("Scans")
left, right = st.columns(2)
statuses = left.multiselect("Status", list(protocol.SCAN_STATUSES), placeholder="All statuses", key="status",
                           bind="query-params")  # in the URL: shareable, bookmarkable
targets = views.targets(rt.snapshot())
target = target_filter(right, targets)
if target:
    st.page_link(bridge.target_page(), query_params={"name": target}, icon=":material/language:",
                 label="Every scan of this target over time, with findings by severity")
# The scan id (a link into the scan) first, and the status wide enough for "running (possibly stuck)".
COLUMNS = ("open", "status", "name", "target", "progress", "phase", "started", "duration", "findings", "last event")


@bridge.live("scans")
def live() -> None:
    snap = rt.snapshot()
    if not snap.scans:
        bridge.teach(views.no_scans(snap.connection.url))
        return
    newer_choices(targets, views.targets(snap), "target", "Target")
    here = zone()
    frame = views.scans_frame(snap, time.time(), rt.settings.stuck_after_seconds, tuple(statuses), target or "", here)
    st.caption(f"{len(frame):,} of {views.plural(len(snap.scans), 'scan')}")
    if lost := views.lost_scans(snap):
        st.warning(f"{views.plural(len(lost), 'scan')} lost contact: " + "; ".join(
            f"{views.literal(scan.name or scan.scan_id)} ({views.lost_note(scan, here, views.literal)})"
            for scan in lost[:5])
            + (f"; and {len(lost) - 5} more" if len(lost) > 5 else ""), icon=":material/link_off:")
    st.dataframe(frame, hide_index=True, column_order=COLUMNS, column_config={
        "open": st.column_config.LinkColumn("scan id", display_text=views.SCAN_ID_SHOWN, pinned=True,
                                            alignment="left", help="Open the scan's page"),
        "status": st.column_config.TextColumn("status", width=190),
        "duration": st.column_config.TextColumn("duration", width="medium"),  # "… until contact was lost"
        "progress": st.column_config.ProgressColumn("progress", min_value=0, max_value=100, format="%.0f%%",
                                                    width="small"),
        "started": time_column("started"),
    })


live()


def start_form(profiles: list[str]) -> None:
    with st.form("start_scan", clear_on_submit=False):
        target = st.text_input("Target URL", placeholder="https://shop.example.com")
        name = st.text_input("Scan name (optional)")
        profile = st.selectbox("Profile", profiles, help="What the launcher runs: quick skips the slower phases.") \
            if profiles else None
        if not st.form_submit_button("Start scan"):
            return
        request = controls.start_request(target, name, profile)
        if isinstance(request, str):  # nothing to send: say what is missing, like a person would
            st.error(request)
            return
        answer = rt.client.call("start_scan", request)
        if isinstance(answer, dict) and answer.get("ok"):
            st.success(f"Scan started: {views.literal(answer.get('scan_id'))}")
            st.page_link(bridge.scan_page(), label="Open it", icon=":material/troubleshoot:",
                         query_params={"id": str(answer["scan_id"])})
        else:
            error = answer.get("error") if isinstance(answer, dict) else answer
            st.error(f"Not started: {views.literal(error)}")


st.subheader("Start a scan")
waiting = controls.start_refusal(rt.snapshot().connection) == controls.NOT_CONNECTED


@st.fragment(run_every=bridge.refresh_seconds() if waiting else None)  # until the gateway says
def start_section() -> None:
    connection = rt.snapshot().connection
    refusal = controls.start_refusal(connection)  # known before anyone fills the form
    if waiting and refusal != controls.NOT_CONNECTED:
        st.rerun()  # decided: drawn once more, without the timer
    if refusal:
        st.caption(refusal)
    else:
        start_form(list((connection.capabilities or {}).get("profiles") or ()))


start_section()

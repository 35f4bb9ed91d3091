"""Targets (/target): every target scanned; /target?name=…: every scan of one target over time
(status, duration, findings by severity)."""
import time

import streamlit as st

from realtime import bridge, protocol, views
from realtime.viewer import time_column, zone

bridge.take_routing()
rt = bridge.runtime()
target = st.query_params.get("name", "")
SCAN_LINK = st.column_config.LinkColumn("scan id", display_text=views.SCAN_ID_SHOWN, pinned=True, alignment="left")


@bridge.live("scans", "findings")
def every_target() -> None:
    snap = rt.snapshot()
    frame = views.targets_frame(snap)
    if frame.empty:
        bridge.teach(views.no_scans(snap.connection.url))
        return
    st.caption(f"{views.plural(len(frame), 'target')} · open one to see every scan of it over time")
    st.dataframe(frame, hide_index=True, column_config={
        "open": st.column_config.LinkColumn("open", display_text="open", width="small", pinned=True),
        "last scan": time_column("last scan"),
    })


@bridge.live("scans", "findings")
def one_target() -> None:
    snap = rt.snapshot()
    frame = views.target_frame(snap, target, time.time(), rt.settings.stuck_after_seconds, zone())
    if frame.empty:
        bridge.teach(views.target_missing(target, rt.store.options.max_scans))
        return
    st.caption(f"{views.plural(len(frame), 'scan')}, newest first · "
               "findings by severity count the findings the dashboard holds")
    st.dataframe(frame, hide_index=True, column_config={
        "scan": SCAN_LINK, "status": st.column_config.TextColumn("status", width="medium"),
        "duration": st.column_config.TextColumn("duration", width="medium"),
        "started": time_column("started"),
        **{s: st.column_config.NumberColumn(s, width="small") for s in protocol.SEVERITIES},
    })


if target:
    st.title(views.literal(target))
    st.page_link(bridge.target_page(), label="All targets", icon=":material/arrow_back:")
    one_target()
else:
    st.title("Targets")
    every_target()

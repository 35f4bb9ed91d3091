"""Notifications: the feed, unread state, mark one or all as read, filter by type."""
import time

import streamlit as st

from realtime import bridge, protocol, views

bridge.take_routing()
rt = bridge.runtime()
st.title("Notifications")
types = st.multiselect("Type", list(protocol.NOTIFICATION_TYPES), placeholder="All types")


@st.fragment(run_every=st.session_state.get("refresh", 1.0))
def live() -> None:
    snap = rt.store.snapshot()
    now = time.time()
    shown = [n for n in snap.notifications if not types or n.type in types]
    top, button = st.columns([4, 1])
    top.caption(f"{snap.unread} unread · {len(snap.notifications)} in all")
    button.button("Mark all as read", disabled=not snap.unread, on_click=rt.store.mark_read)
    if not shown:
        st.info("No notifications yet")
    for n in shown[:100]:
        with st.container(border=True):
            text, action = st.columns([5, 1])
            state = "" if n.read else "🔵 unread · "
            title = f"**{views.literal(n.title)}** — " if n.title else ""
            text.markdown(f"{views.type_icon(n.type)} {title}{views.literal(n.message, 2000)}")
            text.caption(f"{state}{n.type} · {views.clock(n.at)} ({views.ago(now - n.at)})")
            if not n.read:
                action.button("Mark read", key=f"read-{n.id}", on_click=rt.store.mark_read,
                              args=([n.id],))
    if len(shown) > 100:
        st.caption(f"Showing the newest 100 of {len(shown)}")


live()

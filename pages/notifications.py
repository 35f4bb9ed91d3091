"""Notifications: the feed, unread state, mark one or all as read, filter by type."""
import time

import streamlit as st

from realtime import bridge, protocol, views

bridge.take_routing()
rt = bridge.runtime()
st.title("Notifications")
left, right = st.columns([4, 1])
types = left.multiselect("Type", list(protocol.NOTIFICATION_TYPES), placeholder="All types")
size = rt.settings.feed_items
page = right.number_input("Page", min_value=1, value=1, step=1, help=f"{size} per page, newest first")


@bridge.live("notifications")
def live() -> None:
    snap = rt.snapshot()
    now = time.time()
    shown = views.matching_notifications(snap, tuple(types))
    paging = views.Paging.of(len(shown), size, page)
    top, button = st.columns([4, 1])
    top.caption(f"{snap.unread} unread · {len(snap.notifications)} in all")
    button.button("Mark all as read", disabled=not snap.unread, on_click=rt.store.mark_read)
    if not shown:
        st.info("No notifications yet")
    for n in paging.of_items(shown):
        with st.container(border=True):
            text, action = st.columns([5, 1])
            state = "" if n.read else "🔵 unread · "
            title = f"**{views.literal(n.title)}** — " if n.title else ""
            text.markdown(f"{views.type_icon(n.type)} {title}{views.literal(n.message, 2000)}")
            text.caption(f"{state}{n.type} · {views.clock(n.at)} ({views.ago(now - n.at)})")
            if not n.read:
                action.button("Mark read", key=f"read-{n.id}", on_click=rt.store.mark_read,
                              args=([n.id],))
    if paging.label:
        st.caption(f"Showing {paging.label}")


live()

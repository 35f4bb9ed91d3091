"""Notifications: the feed, unread state, mark one or all as read, filter by type."""
import time

import streamlit as st

from realtime import bridge, protocol, views
from realtime.viewer import me, settled, zone

bridge.take_routing()
rt = bridge.runtime()
st.title("Notifications")
left, right = st.columns([4, 1])
types = left.multiselect("Type", list(protocol.NOTIFICATION_TYPES), placeholder="All types", key="type",
                         bind="query-params")  # the filter lives in the URL: shareable, bookmarkable
size = rt.settings.feed_items
page = right.number_input("Page", min_value=1, value=1, step=1, help=f"{size} per page, newest first")


def mark(ids, snap) -> None:
    # Whoever this tab is at the click (its browser's id may have come since the button was drawn).
    rt.reads.mark(me(), ids, snap)  # committed to the journal when this returns
    st.session_state[bridge.MARKED] = True


@bridge.live("notifications")
def live() -> None:
    if st.session_state.pop(bridge.MARKED, False):
        st.rerun(scope="app")  # a click reruns this fragment only: the sidebar's count follows at once too
    snap, viewer, here = rt.snapshot(), me(), zone()
    now = time.time()
    shown = views.matching_notifications(snap, tuple(types))
    paging = views.Paging.of(len(shown), size, page)
    top, button = st.columns([4, 1])
    known = settled()  # until the browser's id came, what it has read is not known here
    unread = f"{rt.reads.unread(snap, viewer)} unread" if known else "Unread: asking this browser which it has read"
    matching = f"{len(shown)} of type {', '.join(types)} · " if types else ""
    top.caption(f"{matching}{unread} · {len(snap.notifications)} in all")
    unread_shown = [n.id for n in shown if not rt.reads.is_read(n, viewer)]
    button.button("Mark all as read", disabled=not unread_shown, on_click=mark, args=(unread_shown, snap),
                  help="Every notification the type filter shows, for you only")
    if not snap.notifications:
        bridge.teach(views.no_notifications(snap.connection.url))
    elif not shown:
        st.info("No notifications match the type filter")
    for n in paging.of_items(shown):
        with st.container(border=True):
            text, action = st.columns([5, 1])
            read = rt.reads.is_read(n, viewer)
            state = "" if read or not known else "🔵 unread · "
            title = f"**{views.literal(n.title)}** — " if n.title else ""
            text.markdown(f"{views.type_icon(n.type)} {title}{views.literal(n.message, 2000)}")
            text.caption(f"{state}{n.type} · {views.when(n.at, now, here)}")
            if not read:
                action.button("Mark read", key=f"read-{n.id}", on_click=mark, args=([n.id], snap))
    if paging.label:
        st.caption(f"Showing {paging.label}")


live()

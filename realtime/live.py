"""Live areas (`bridge.live`): a page's live fragment reruns when the store changes in what it
shows — a small `st.components.v2` component in the fragment watches it over the tab's one change
socket (realtime/push.py, realtime/changes.js) and triggers the rerun — and otherwise on a slow
heartbeat. A tab whose watcher cannot reach the socket reruns every refresh instead (timer
polling), and says why in the connection panel; so does every tab with `BUGHUNT_PUSH=false`.

Where no browser runs the component (Streamlit's AppTest) it is inert: such runs are driven by
hand anyway."""
from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import streamlit as st

from realtime import changes
from realtime.push import FEED, PATH
from realtime.views.style import PREVIEW_AREA

TICKET_SECONDS = 600.0
KINDS = frozenset((changes.SCANS, changes.FINDINGS, changes.NOTIFICATIONS, changes.METRICS, changes.EVENTS,
                   changes.CONNECTION, changes.TOASTS, changes.ACTIVE))
# In the page's own DOM (no shadow root): a notification it previews has the page's font and colours.
_watcher = st.components.v2.component("bughunt_changes", js=Path(__file__).with_name("changes.js").read_text(),
                                      isolate_styles=False)


def fragment(*kinds: str, every: float | None = None, enabled: bool = True, heartbeat: bool = True,
             note: bool = False, countdown: bool = False, previews: int = 0) -> Callable[[Callable], Callable]:
    """`@st.fragment` for a live area showing `kinds` of change (see realtime/changes.py; a scan:
    `changes.scan_kind(id)`). Polling, it reruns every `every` seconds (default: the tab's
    refresh); with push, on change (at most once per `every`) and every heartbeat unless
    `heartbeat=False` (an area without relative times: nothing in it moves by itself). Disabled
    (`enabled=False`), it reruns only when the page does. `note=True`: its watcher shows how the
    tab's live areas update (the connection panel's). `countdown=True`: it shows a count of
    seconds now, so it reruns every refresh with push too. `previews=N` (an area listing the N
    newest notifications, unfiltered): its watcher shows new ones at once, before the rerun."""
    from realtime import bridge  # bridge re-exports this module's decorator

    rt = bridge.runtime()
    settings = rt.settings
    refresh = every or st.session_state.get(bridge.REFRESH, settings.refresh_seconds)
    watching = enabled and settings.push
    # With push the watcher reruns the area on change, or every refresh while the socket fails (a
    # share-link tab re-checks its link's token with each run: on change and every heartbeat).
    beat = max(settings.push_heartbeat, refresh) if heartbeat else None
    run_every = (beat if watching and not countdown else refresh) if enabled else None
    heard = allowed(kinds, bridge.read_only(), st.query_params.get("id", ""))

    def wrap(func: Callable) -> Callable:
        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            key = f"changes_{func.__qualname__}"
            # Before the area reads the store: every change counted by then is in what it shows
            # (each advance of the counts takes the snapshot viewers share: realtime/changes.py).
            FEED.sync()
            shows = FEED.total(heard), FEED.panel() if changes.CONNECTION in heard else None
            # An area with previews is a block of its own, whose CSS (views/style.py) shows the
            # watcher first: new notifications above the older ones it lists, as it will draw them.
            with st.container(key=f"{PREVIEW_AREA}{key}") if previews and watching else contextlib.nullcontext():
                result = func(*args, **kwargs)
                if watching:  # last: its render in the browser says the run is over
                    # Taken after the area read the store: a preview never repeats what it shows (one
                    # logged in between is not previewed; the rerun its change brings shows it).
                    after = (rt.snapshot().logged, previews) if previews else None
                    watch(key, heard, shows, (every or 0.0, refresh), settings.push_heartbeat, note, after)
            return result

        return st.fragment(run_every=run_every)(run)

    return wrap


def allowed(kinds: Iterable[str], read_only: bool, shared_scan: str) -> tuple[str, ...]:
    """What a live area may hear of: its kinds and changes no event explains; a share-link tab
    only of its own scan."""
    kinds = tuple(kinds)
    unknown = [k for k in kinds if k not in KINDS and not k.startswith(changes.SCAN_PREFIX)]
    if unknown:
        raise ValueError(f"unknown kinds of change: {unknown}")
    if read_only:
        return tuple(k for k in kinds if k == changes.scan_kind(shared_scan))
    return (*kinds, changes.OTHER)


def watch(key: str, kinds: tuple[str, ...], shows: tuple[int, str | None], pace: tuple[float, float],
          heartbeat: float, note: bool, after: tuple[int, int] | None = None) -> None:
    """Mount the area's change watcher with a fresh ticket for `kinds`; `shows`: the total its
    render shows, and what the connection panel said as it read the store (if it shows it);
    `pace`: (shortest time between its reruns, its refresh when polling); `note`: it shows how the
    tab's live areas update; `after`: (log position, count): it previews up to that many
    notifications logged from that position on (realtime/push.py). Its ticket then lasts two
    heartbeats (renewed by each): a tab whose login ended is not shown new notifications for long."""
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    every, refresh = pace
    data = {"url": (f"/{base}" if base else "") + PATH, "since": shows[0], "panel": shows[1],
            # outlives a heartbeat's wait; an area quiet for longer reruns once for a fresh one
            "ticket": FEED.tickets.mint(kinds, ttl=2 * heartbeat if after else max(TICKET_SECONDS, 4 * heartbeat)),
            "every": round(every * 1000), "refresh": round(refresh * 1000), "note": note,
            "drawn": time.time_ns(),  # each run renders it anew: the browser learns the run is over
            "after": after and after[0], "previews": after and after[1]}
    _watcher(key=key, data=data, on_changed_change=_nothing, on_page_change=_page,
             height="content" if note or after is not None else 1)


def _nothing() -> None:
    """The rerun a watcher's trigger causes is the point; there is nothing else to do."""


def _page() -> None:
    """A widget change that joined the watcher's trigger in Streamlit's batch ran only this area
    (the batch reruns its first fragment): the page runs for it."""
    st.rerun()


def mode_note(push_setting: bool, refresh: float) -> str:
    """How this tab's live areas update, for the connection panel, when push is off. With push
    the sidebar area's watcher shows it (push, or polling and why): the browser knows, and
    telling the server would cost a rerun each time it changes."""
    return "" if push_setting else f"Live updates: every {refresh:g} s (push is off: BUGHUNT_PUSH=false)"

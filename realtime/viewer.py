"""Who is looking and from where: the viewer's identity (their signed-in user, else an id their
browser keeps in localStorage — no cookie), their time zone, and the dashboard's address as
they reach it. Streamlit-side, like realtime.bridge."""
from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Collection, Iterable
from datetime import tzinfo
from typing import Any
from urllib.parse import urlencode, urlsplit

import streamlit as st

from realtime import bridge
from realtime.browser_ids import BROWSER_IDS, PATH
from realtime.views import text as views_text
from realtime.views import times

BROWSER_ID = "browser_viewer"  # the browser's id once it came ("": it keeps none)
SESSION_ID = "session_viewer"  # this tab's own id until (or unless) the browser's comes
TICKET = "viewer_ticket"  # (ticket, when given): the browser sends its id with it
WAIT = 10.0  # seconds the browser has to answer before this tab settles for its own id

# Keeps one random id per browser in localStorage and posts it with this tab's ticket (once per
# ticket: each rerun draws the script again) to the dashboard's route. A script in st.html, not a
# components.v2 component: those mount only once the page's first run is over (seconds later), and
# their values come as reruns. No crypto.randomUUID: it exists on https and localhost only.
_JS = """
(function (data) {
  if (globalThis.__bughuntTicket === data.ticket) return;
  globalThis.__bughuntTicket = data.ticket;
  let id = "";
  try {
    id = window.localStorage.getItem("bughunt-viewer");
    if (!/^[0-9a-f]{32}$/.test(id || "")) {
      const bytes = crypto.getRandomValues(new Uint8Array(16));
      id = Array.from(bytes, b => b.toString(16).padStart(2, "0")).join("");
      window.localStorage.setItem("bughunt-viewer", id);
    }
  } catch (e) {
    id = "";  // no localStorage (a locked-down browser): this tab keeps its own id
  }
  fetch(data.url, { method: "POST", headers: { "Content-Type": "application/json" },
                    body: JSON.stringify({ ticket: data.ticket, id }) }).catch(() => {});
})(DATA);
"""


def me() -> str:
    """Whose read flags this tab shows: `user:<email>` when signed in (st.login), else
    `browser:<id>` from localStorage once the browser sent it (see `ask_browser`), else
    `session:<id>` (this tab)."""
    user = _signed_in()
    if user:
        return f"user:{user}"
    came = _browser_id()
    return f"browser:{came}" if came else _session_viewer()


def _browser_id() -> str | None:
    """The browser's id once it came ("": it keeps none). The run that first sees it hands it what
    this tab marked read meanwhile: a click before the id came is not lost."""
    if BROWSER_ID not in st.session_state and TICKET in st.session_state:
        came = BROWSER_IDS.take(st.session_state[TICKET][0])
        if came is not None:
            st.session_state[BROWSER_ID] = came
            if came:
                rt = bridge.runtime()
                rt.reads.hand_over(_session_viewer(), f"browser:{came}", rt.snapshot())
    return st.session_state.get(BROWSER_ID)


def settled() -> bool:
    """Whether `me()` is final: signed in, the browser answered, or it had its time to."""
    asked = st.session_state.get(TICKET)
    return (asked is None or _browser_id() is not None or time.time() - asked[1] > WAIT
            or _signed_in() is not None)


def ask_browser() -> None:
    """Ask the browser for its id (app.py, once per run, until it came): a ticket for this tab,
    and a script that posts the id with it to browser_ids.PATH."""
    if _signed_in() or _browser_id() is not None or not st.context.headers:
        return  # (no headers: no browser behind this run, e.g. Streamlit's AppTest)
    ticket = st.session_state.setdefault(TICKET, (secrets.token_hex(16), time.time()))[0]
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    data = json.dumps({"ticket": ticket, "url": (f"/{base}" if base else "") + PATH}).replace("<", "\\u003c")
    with st.sidebar:
        st.html(f"<script>{_JS.replace('DATA', data)}</script>", unsafe_allow_javascript=True)


def _session_viewer() -> str:
    return "session:" + st.session_state.setdefault(SESSION_ID, secrets.token_hex(16))


def _signed_in() -> str | None:
    try:
        if not getattr(st.user, "is_logged_in", False):
            return None
        return str(st.user.get("email") or st.user.get("sub") or "") or None
    except Exception:  # noqa: BLE001 - no [auth] configured: nobody signs in
        return None


def zone() -> tzinfo:
    """The viewer's time zone, from their browser (UTC until it says)."""
    return times.zone_of(st.context.timezone, st.context.timezone_offset)


def time_column(label: str) -> Any:
    """A table column of aware times, shown in the viewer's zone, the zone named in its header."""
    here = zone()
    return st.column_config.DatetimeColumn(f"{label} ({times.zone_name(here)})", format="YYYY-MM-DD HH:mm:ss",
                                           timezone=times.zone_name(here))


def page_url(public_url: str, path: str, query: dict[str, str]) -> str:
    """A full link to one of the dashboard's pages: under BUGHUNT_PUBLIC_URL when set (behind a
    proxy the browser's address may not be the public one), else under the address this browser
    uses (st.context.url), else the Host header."""
    base = public_url.rstrip("/")
    if not base:
        seen = urlsplit(st.context.url or "")
        if seen.scheme in ("http", "https") and seen.netloc:
            prefix = seen.path.rsplit("/", 1)[0] if seen.path.endswith("/" + path) else seen.path.rstrip("/")
            base = f"{seen.scheme}://{seen.netloc}{prefix}"
        elif host := st.context.headers.get("Host"):
            base = f"http://{host}"
    return f"{base}/{path}?{urlencode(query)}"


def from_url(key: str, valid: Callable[[str], bool]) -> str | None:
    """A picker's first value in this tab from the URL's `key` (a shared or bookmarked view); for
    pickers whose URL value is an id rather than the label (bind="query-params" keeps labels)."""
    if key not in st.session_state:
        wanted = st.query_params.get(key)
        if wanted and valid(wanted):
            st.session_state[key] = wanted
    return st.session_state.get(key)


def to_url(key: str, value: str | None) -> None:
    """Keep the picker's value in the URL (none when nothing is picked)."""
    if value:
        if st.query_params.get(key) != value:
            st.query_params[key] = value
    elif key in st.query_params:
        del st.query_params[key]


def target_filter(where: Any, targets: tuple[str, ...]) -> str:
    """A Target picker (in `where`, a column) kept in the URL; the chosen target stays an option
    while it has no scans held (a shared link opened before its scans arrive)."""
    aimed = from_url("target", bool)
    options = ["", *targets, *[aimed] * (bool(aimed) and aimed not in targets)]
    target = where.selectbox("Target", options, key="target",
                             format_func=lambda t: views_text.visible(t) if t else "All targets")
    to_url("target", target)
    return target or ""


def newer_choices(drawn: Collection[str], current: Iterable[str], noun: str, picker: str) -> None:
    """In a live area below a picker drawn with `drawn`: say how many `current` choices came since,
    with a button that redraws the picker (redrawing it unasked could move the viewer's pick)."""
    new = sum(choice not in drawn for choice in current)
    if new:  # a callback: it runs even when the click joined another area's rerun in Streamlit's batch
        st.button(f"{views_text.plural(new, 'new ' + noun)} since the {picker} list was drawn: update it",
                  key=f"newer_{noun}", icon=":material/refresh:", type="tertiary", on_click=st.rerun)

"""Who is looking and from where: the viewer's identity (their signed-in user, else an id their
browser keeps in localStorage — no cookie), their time zone, and the dashboard's address as
they reach it. Streamlit-side, like realtime.bridge."""
from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import tzinfo
from typing import Any
from urllib.parse import urlencode, urlsplit

import streamlit as st

from realtime.views import text as views_text
from realtime.views import times

VIEWER = "viewer"  # session key: whose read flags this tab shows
LOCAL_ID = "local_viewer"  # the key of the component that reads the browser's id
BROWSER_ID = "browser_viewer"  # the browser's id as last received (sent back: it is not sent again)
SESSION_ID = "session_viewer"  # this tab's own id until (or unless) the browser's arrives
_ID = re.compile(r"[0-9a-f]{32}")  # what the component makes; anything else a browser sends is ignored

# Keeps one random id per browser in localStorage and hands it to Python once per page load. No
# crypto.randomUUID: it exists on https and localhost only, and dashboards run on plain http too.
_JS = """
export default function(component) {
  const { setStateValue, data } = component;
  let id = null;
  try {
    id = window.localStorage.getItem("bughunt-viewer");
    if (!/^[0-9a-f]{32}$/.test(id || "")) {
      const bytes = crypto.getRandomValues(new Uint8Array(16));
      id = Array.from(bytes, b => b.toString(16).padStart(2, "0")).join("");
      window.localStorage.setItem("bughunt-viewer", id);
    }
  } catch (e) {
    return;  // no localStorage (a locked-down browser): this tab keeps its session id
  }
  if (data !== id) setStateValue("id", id);
}
"""


def me() -> str:
    """This tab's viewer, as app.py last identified it (see `identify`)."""
    return st.session_state.get(VIEWER) or _session_viewer()


def identify() -> str:
    """Whose read flags this tab shows (app.py asks once per run, after its navigation):
    `user:<email>` when signed in (st.login), else `browser:<id>` from localStorage, else
    `session:<id>` (this tab, until the browser's id comes: a moment after the first run)."""
    user = _signed_in()
    if user:
        st.session_state[VIEWER] = f"user:{user}"
        return st.session_state[VIEWER]
    component = st.components.v2.component("bughunt_viewer", js=_JS)
    with st.sidebar:
        sent = component(key=LOCAL_ID, data=st.session_state.get(BROWSER_ID), on_id_change=lambda: None,
                         height=0).get("id")
    local = sent if isinstance(sent, str) and _ID.fullmatch(sent) else None
    st.session_state[BROWSER_ID] = local
    st.session_state[VIEWER] = f"browser:{local}" if local else _session_viewer()
    return st.session_state[VIEWER]


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

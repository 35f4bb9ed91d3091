"""What's new on pages: the New / Known / Triaged filter, a scan's comparison with the previous
scan of its target (and the findings fixed since), and a finding's triage control. Scan detail
and Vulnerabilities use them; any page showing a scan or findings can (the target view)."""
from __future__ import annotations

from typing import Any

import streamlit as st

from realtime import bridge, protocol, views, whatsnew
from realtime.auth import Authenticator
from realtime.models import Scan, Vulnerability


def show_filter(key: str, where: Any = st) -> tuple[str, ...]:
    """The kinds of findings to show (views.SHOW order); triaged-away ones hidden by default."""
    chosen = where.pills("Show", views.SHOW, selection_mode="multi", default=views.DEFAULT_SHOW, key=key,
                         format_func=views.SHOW_LABELS.get,
                         help="New: first seen in this scan · Known: seen before in another scan · "
                              "Triaged: marked false positive, accepted risk or fixed")
    return tuple(k for k in views.SHOW if k in (chosen or views.DEFAULT_SHOW))


def gateway_access(rt: bridge.Runtime) -> tuple[str | None, str | None]:
    """The gateway this dashboard reads (the one it is connected to) and a token for its HTTP
    API: the dashboard's own (`BUGHUNT_WS_TOKEN`); in demo mode one minted for a minute."""
    if rt.demo is not None:
        return rt.demo.url, Authenticator(rt.secret).mint(rt.settings.user_id or "dashboard", "viewer", ttl=60)
    url = rt.snapshot().connection.url or rt.settings.ws_url.split(",")[0].strip()
    return url or None, rt.settings.ws_token or None


@st.cache_data(ttl=10, show_spinner=False, max_entries=100)
def scan_diff(url: str, _token: str | None, scan_id: str) -> tuple[dict | None, str | None]:
    """GET /api/scans/{id}/diff, asked at most every 10 s per scan however many tabs look."""
    return whatsnew.fetch_diff(url, _token, scan_id)


def scan_comparison(scan: Scan, now: float, key: str) -> None:
    """"vs previous scan of this target, 3 d ago: 4 new, 21 still open, 6 fixed", and on demand
    the fixed findings (from the gateway: this dashboard may never have seen the previous scan)."""
    line = views.diff_line(scan.diff, now)
    if line is None:
        return
    st.markdown(f":material/compare_arrows: {line}")
    if not (scan.diff.fixed and st.toggle("Show the fixed findings", key=key)):
        return
    url, token = gateway_access(bridge.runtime())
    doc, error = scan_diff(url, token, scan.scan_id) if url else (None, "no gateway URL")
    if error:
        st.warning("Could not load the fixed findings: " + views.literal(error))
    else:
        st.dataframe(views.diff_rows(doc, "fixed"), hide_index=True,
                     column_config={"url": st.column_config.TextColumn("url")})  # text: never a link


def triage_control(v: Vulnerability, key: str) -> None:
    """Triage a finding (every finding of its fingerprint): state and note, sent to the gateway;
    its answer (a refusal's reason included) stays shown for that finding. Not on share links."""
    if bridge.read_only() or not v.fingerprint:
        return
    states, widget = protocol.TRIAGE_STATES, f"{key}-{v.fingerprint}"  # a finding's own widgets
    current = v.triage.state if v.triage is not None and v.triage.state in states else "open"
    with st.form(key):
        st.selectbox("Triage", states, index=states.index(current), key=f"{widget}-state",
                     help="Applies to every finding with this fingerprint, in every scan, and to later ones; "
                          "every viewer of the gateway sees it")
        st.text_area("Note", max_chars=whatsnew.NOTE_LIMIT, placeholder="Why (optional)", key=f"{widget}-note")
        # A callback: it runs before the page, whatever reruns the page's fragment.
        st.form_submit_button("Save triage", on_click=save_triage, args=(v.fingerprint, widget, key))
    fingerprint, ok, text = st.session_state.get(f"{key}-answer", (None, False, ""))
    if fingerprint == v.fingerprint:
        if ok:
            st.success(f"Triaged: {text}")
        else:
            st.error(f"Not triaged: {text}")


def save_triage(fingerprint: str, widget: str, key: str) -> None:
    state, note = st.session_state[f"{widget}-state"], st.session_state[f"{widget}-note"] or ""
    answer = whatsnew.triage(bridge.runtime().client, fingerprint, state, note)
    st.session_state[f"{key}-answer"] = (fingerprint, bool(answer.get("ok")),
                                         views.literal(state if answer.get("ok") else answer.get("error")))
    if answer.get("ok"):  # said as a toast too: a finding triaged away leaves the default view at once
        st.toast(f"Triaged: {views.literal(state)} — every finding with this fingerprint", icon=":material/rule:")

"""Scan detail (/scan?id=…): progress over time, phase timeline, ETA, findings, events.
Viewing a scan holds its room joined; the lease lapses when no tab views it any more."""
import time

import streamlit as st

from realtime import bridge, controls, protocol, views
from realtime.finding_panel import FINDING_COLUMNS, finding_panel
from realtime.viewer import newer_choices, page_url, time_column, zone
from realtime.whatsnew_panel import scan_comparison, show_filter

bridge.take_routing()
rt = bridge.runtime()
scan_id = st.query_params.get("id", "")

if not scan_id:
    st.title("Scan detail")
    choices = views.scan_choices(views.scans_by_start(rt.snapshot()), st.session_state.get("pick_scan"))
    if choices:
        chosen = st.selectbox("Scan", choices, index=None, placeholder="Choose a scan", key="pick_scan",  # a key:
                              format_func=lambda sid: views.scan_label(rt.snapshot(), sid))  # new scans keep it
        if chosen:
            st.query_params["id"] = chosen
            st.rerun()

    @bridge.live("scans")
    def newer() -> None:
        snap = rt.snapshot()
        if choices:
            newer_choices(choices, snap.scans, "scan", "Scan")
        elif snap.scans:
            st.rerun(scope="app")  # the first scan: no pick yet to disturb
        else:
            bridge.teach(views.no_scans(snap.connection.url))

    newer()
    st.stop()

if not protocol.ID_RE.match(scan_id):
    st.error("That is not a scan id (letters, digits, '-' and '_', up to 64).")
    st.stop()


@bridge.live(f"scan:{scan_id}")
def live() -> None:
    if bridge.read_only() and bridge.shared_scan()[1]:
        st.rerun()  # the link expired or was refused: app.py says so, and nothing updates any more
    rt.leases.renew(f"scan_{scan_id}")
    snap, here = rt.snapshot(), zone()
    now = time.time()
    scan = snap.scans.get(scan_id)
    if scan is None:
        st.title("Scan detail")
        st.info(f"No events for scan {views.literal(scan_id)} yet — waiting for them.")
        return
    st.title(views.literal(scan.name or scan.scan_id))
    st.caption(f"{views.literal(scan.target or '')} · scan id {views.literal(scan.scan_id)} · "
               f"started {views.when(scan.started_at, now, here)}")
    if scan.target and not bridge.read_only():
        st.page_link(bridge.target_page(), query_params={"name": scan.target}, icon=":material/language:",
                     label="Every scan of this target")
    a, b, c, d = st.columns(4)
    a.metric("Status", scan.status)
    b.metric("Progress", f"{scan.progress:.0f}%")
    c.metric("Findings", scan.vulnerability_count)
    d.metric("Duration", views.duration_text(scan, now))
    st.progress(min(scan.progress, 100) / 100, text=f"Current phase: {views.literal(scan.phase or '—')}")
    if scan.current_step and not scan.finished:
        st.caption(views.literal(scan.current_step))
    if stuck := views.stuck_note(scan, now, rt.settings.stuck_after_seconds):
        st.badge(stuck, color="orange")
    remaining = views.eta(scan, now)
    if remaining:
        st.markdown(f"**ETA:** {views.span(remaining[0])} – {views.span(remaining[1])}")
    if scan.status == "failed":
        st.error("Scan failed: " + views.literal(scan.error or "no reason given"))
    if scan.status == protocol.LOST_CONTACT:
        st.warning(views.lost_note(scan, here, views.literal), icon=":material/link_off:")
    if ended := controls.ended_note(scan, here):
        st.warning(views.literal(ended), icon=":material/block:")
    if not bridge.read_only():  # a share link shows the scan, never acts on it
        scan_controls(scan, now)
    scan_comparison(scan, now, "scan_fixed")

    left, right = st.columns(2)
    with left:
        st.subheader("Progress over time")
        st.plotly_chart(views.progress_figure(scan, zone()), key="progress")
    with right:
        st.subheader("Phases")
        st.plotly_chart(views.gantt_figure(scan, now, zone()), key="phases")

    st.subheader("Findings")
    size = rt.settings.table_rows
    filters = ((), scan_id, "", "", show_filter("scan_show"))
    count = len(views.matching_findings(snap, *filters))
    if not count:
        st.caption("No findings match" if scan.vulnerability_count else
                   "No findings" if scan.finished else "No findings yet")
    else:
        if count > size:
            st.caption(f"The newest {size:,} of {count:,} findings; all of them on the Vulnerabilities page")
        columns = ("severity", "new", "title", "url", "cvss", "type", "cve", "extracted", "found at", "triage", "id")
        if not bridge.read_only():  # a share link opens this scan alone
            columns = ("open", *columns)
        st.dataframe(views.findings_page(snap, filters, 1, size, columns), hide_index=True,
                     column_config={**FINDING_COLUMNS, "found at": time_column("found at")})
        finding_panel(views.matching_findings(snap, *filters)[:size], "scan_finding")

    st.subheader("Events")
    rows = views.event_rows(snap, (), scan_id, 200, bridge.read_only())
    if rows:
        st.dataframe(rows, hide_index=True, column_config={"time": time_column("time")})
    else:
        st.caption(views.events_gone_note(snap, scan))


CONTROL_ANSWER = "control_answer"  # (scan id, when, ok, text) of this tab's last Abandon/Cancel


def scan_controls(scan, now: float) -> None:
    """Abandon and Cancel, offered only when the gateway says it would accept them now."""
    answer = None if scan.finished else bridge.scan_actions(scan.scan_id)  # an ended scan has nothing to ask
    shown, notes = controls.offers(scan, answer, now, rt.settings.stuck_after_seconds)
    for note in notes:
        st.caption(views.literal(note))
    if shown:
        reason = st.text_input("Reason (optional)", key="control_reason", max_chars=500)
        for column, offer in zip(st.columns(len(shown)), shown):
            if column.button(offer.label, help=offer.help, key=f"control_{offer.action}"):
                answer = rt.client.call(f"{offer.action}_scan", controls.request(
                    offer.action, scan.scan_id, reason, bridge.acting_user()))
                bridge.scan_actions.clear()
                ok = isinstance(answer, dict) and answer.get("ok") is True
                error = answer.get("error") if isinstance(answer, dict) else answer
                st.session_state[CONTROL_ANSWER] = (scan.scan_id, now, ok, f"Scan {answer.get('status')}" if ok
                                                    else f"{offer.label}: refused — {error}")
    last = st.session_state.get(CONTROL_ANSWER)
    if last and last[0] == scan.scan_id and now - last[1] < 30:  # long enough to read across refreshes
        (st.success if last[2] else st.error)(views.literal(last[3]))


live()

auth = bridge.authenticator()
if auth is not None and not bridge.read_only():
    with st.expander("Share a read-only link to this scan"):
        hours = st.number_input("Valid for (hours)", min_value=1, max_value=max(1, (auth.max_ttl or 86400) // 3600),
                                value=24)
        if st.button("Create link"):
            token = auth.mint(f"share-{scan_id}"[:64], "viewer", [scan_id], ttl=int(hours) * 3600)
            st.code(page_url(rt.settings.public_url, "scan", {"id": scan_id, "token": token}), language=None)
            st.caption("Anyone with this link sees this scan only, until it expires.")

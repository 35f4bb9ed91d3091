"""Live events: the '*' monitor, rejected events, connection details, troubleshooting checks,
the debug log, a send form, export."""
import json
import time

import streamlit as st

from realtime import bridge, debug, protocol, stream_health, troubleshoot, views
from realtime.viewer import time_column, zone

bridge.take_routing()
rt = bridge.runtime()
st.title("Live events")
names = st.multiselect("Event", [*protocol.SERVER_EVENTS, protocol.CONNECTION_STATUS], placeholder="All events",
                       key="event", bind="query-params")  # in the URL: shareable, bookmarkable
paused = st.toggle("Pause", help="Freeze the list to read it; events keep arriving in the background.")
if paused:
    bridge.cursor(bridge.EVENTS_FROZEN, rt.snapshot())
else:
    st.session_state.pop(bridge.EVENTS_FROZEN, None)


@bridge.live("events", "connection", enabled=not paused)
def live() -> None:
    snap = st.session_state[bridge.EVENTS_FROZEN] if paused else rt.snapshot()
    now = time.time()
    status = snap.connection
    st.subheader("Connection")
    a, b, c, d = st.columns(4)
    down = stream_health.down_text(status.stream, zone()) if status.connected else None
    a.metric("State", ("Connected, stream down" if down else "Connected") if status.connected else "Disconnected")
    b.metric("Attempts", status.attempts)
    rates = views.event_rates(snap)
    c.metric("Events/s", rates[-1] if rates else 0, chart_data=rates or None)
    d.metric("Last seq", snap.last_seq if snap.last_seq is not None else "—",
             help=f"Stream {snap.epoch or '—'}; {snap.seq_skipped} events skipped as already applied")
    if down:
        st.warning(views.literal(down), icon=":material/cloud_off:")
    if status.note:
        st.info(views.literal(status.note))
    for problem in rt.journal_problems():
        st.error(views.literal(problem), icon=":material/database:")
    rooms = views.literal(", ".join(status.rooms)) or "none (all scans)"
    st.caption(f"URL: {views.literal(status.url or '—')} · rooms: {rooms} · "
               f"queued sends: {status.queued} (dropped {status.dropped})"
               + (f" · last error: {views.literal(status.reason)}" if status.reason and not status.connected else ""))

    st.subheader("Troubleshooting")
    checks = troubleshoot.run(snap, bridge.probe(status.url), rt.client.options.subscribe, now)
    if problems := troubleshoot.summary(checks):
        st.error(views.literal(problems), icon=":material/error:")
    else:
        st.success("Every check passes", icon=":material/check_circle:")
    st.dataframe([{"": CHECK_ICONS[c.state], "area": c.heading, "check": c.name, "result": views.shown(c.detail),
                   "fix": c.fix} for c in checks], hide_index=True)

    st.subheader("Events")
    if not snap.scans:
        bridge.teach(views.no_scans(status.url))
    rows = views.event_rows(snap, tuple(names))
    if rows:
        st.dataframe(rows, hide_index=True, column_config={"time": time_column("time")})
    else:
        st.info("No events yet")

    st.subheader("Rejected events")
    if snap.rejected:
        st.dataframe([{"time": views.clock(r.at, zone()), "event": views.shown(r.event),
                       "reason": views.shown(r.reason),
                       "payload": views.shown(r.payload)} for r in snap.rejected], hide_index=True)
    else:
        st.caption("None: every event received was valid")


CHECK_ICONS = {troubleshoot.OK: "✅", troubleshoot.PROBLEM: "❌", troubleshoot.INFO: "ℹ️"}
live()

# Debug logging is the process's (every viewer's, and stderr's): only an admin switches it, under a
# label that says so; each tab chooses for itself whether to show the recorded lines.
if rt.settings.send_form:  # BUGHUNT_SEND_FORM: every visitor is an admin
    server_on = st.toggle("Debug logging for the whole server (every viewer, stderr)", value=debug.enabled())
    if server_on != debug.enabled():
        debug.enable(server_on)
else:
    st.caption(f"Debug logging is {'on' if debug.enabled() else 'off'} for the whole server: BUGHUNT_DEBUG=1 "
               "switches it (or an admin here, with BUGHUNT_SEND_FORM=1).")
on = st.toggle("Show the debug log in this tab", key="show_debug_log",
               help="socket.io/engine.io logs and the dashboard's own (connects, reconnects, rooms, rejected "
                    "events), recorded while debug logging is on. Only this tab shows them.")


@st.fragment(run_every=bridge.refresh_seconds() if on else None)
def debug_log() -> None:
    lines = [{"time": views.clock(line.at, zone()), "level": line.level, "source": line.source,
              "message": views.shown(line.message)}
             for line in reversed(debug.lines()[-500:])]
    st.dataframe(lines, hide_index=True)


if on:
    debug_log()

st.download_button("Export event log (JSON Lines)",
                   lambda: views.events_jsonl(list(reversed(rt.store.snapshot().events))),
                   f"events-{views.file_stamp()}.jsonl", "application/x-ndjson", on_click="ignore",
                   help="The event log as of the click, oldest first")

if rt.settings.send_form:  # it acts with the dashboard's own token: for the dashboard's admins only
    st.subheader("Send an event")
    with st.form("send_event"):
        event = st.selectbox("Event", list(protocol.CLIENT_EVENTS))
        data = st.text_area("Data (JSON)", value='{"room": "scan_1"}')
        if st.form_submit_button("Send"):
            try:
                payload = protocol.loads(data)
            except ValueError as exc:
                st.error(f"Data is not JSON: {views.literal(exc)}")
            else:
                answer = rt.client.call(event, payload)
                (st.success if isinstance(answer, dict) and answer.get("ok") else st.error)(
                    "Answer: " + views.literal(json.dumps(answer, default=str)))

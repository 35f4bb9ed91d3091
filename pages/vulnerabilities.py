"""Vulnerabilities: live table (paged) with filters, severity chart, CSV/JSON export."""
import streamlit as st

from realtime import bridge, protocol, views
from realtime.finding_panel import FINDING_COLUMNS, finding_panel
from realtime.viewer import from_url, newer_choices, target_filter, time_column, to_url
from realtime.whatsnew_panel import show_filter

bridge.take_routing()
rt = bridge.runtime()
PAGE_KEY = "vulnerabilities_page"
st.title("Vulnerabilities")
snap = rt.snapshot()
f1, f2, f5, f3, f4 = st.columns([2, 2, 2, 3, 1])
# Filters live in the URL (shareable, bookmarkable); keys keep each choice while scans arrive.
severities = f1.multiselect("Severity", list(protocol.SEVERITIES), placeholder="All severities", key="severities",
                            bind="query-params")
chosen = from_url("scan", protocol.ID_RE.match)
choices = views.scan_choices(views.scans_by_start(snap), chosen, everything=True)
scan_id = f2.selectbox("Scan", choices, key="scan", format_func=lambda sid: views.scan_label(snap, sid))
to_url("scan", scan_id)
target = target_filter(f5, views.targets(snap))
text = f3.text_input("Search", placeholder="title, URL, target, type, CVE", key="q", bind="query-params")
filters = (tuple(severities), scan_id or "", text.strip(), target, show_filter("show"))
size = rt.settings.table_rows
# The box shows the page shown: a number past the last page (typed, or left from a longer list)
# becomes the last page before the box is drawn.
last = views.pages(len(views.matching_findings(snap, *filters)), size)
# The box's value lives in session state only (a default too would warn, with a stack, in the log).
st.session_state[PAGE_KEY] = min(st.session_state.get(PAGE_KEY, 1), last)
page = f4.number_input(f"Page (of {last:,})", min_value=1, step=1, key=PAGE_KEY,
                       help=f"{size:,} findings per page, newest first (BUGHUNT_TABLE_ROWS)")


@bridge.live("scans")
def newer_scans() -> None:
    """Its own small area: scans come and go without any finding (and each rerun of the table costs)."""
    newer_choices(choices, rt.snapshot().scans, "scan", "Scan")


@bridge.live("findings")
def live() -> None:
    snap = rt.snapshot()
    paging = views.Paging.of(len(views.matching_findings(snap, *filters)), size, page)
    frame = views.findings_page(snap, filters, paging.number, size)
    st.caption(f"{paging.count:,} of {len(snap.vulnerabilities):,} findings"
               + (f" · showing {paging.label}" if paging.label else ""))
    if not snap.vulnerabilities:
        bridge.teach(views.no_findings(snap.connection.url))
    elif not frame.num_rows:
        st.info("No findings match the filters")
    else:
        st.dataframe(frame, hide_index=True, column_config={**FINDING_COLUMNS, "found at": time_column("found at")})
        finding_panel(paging.of_items(views.matching_findings(snap, *filters)), "finding")


@bridge.live("findings", every=bridge.chart_seconds(rt), heartbeat=False)
def chart() -> None:
    filtered = any(filters[:4]) or set(filters[4]) != set(views.DEFAULT_SHOW)
    st.subheader("By severity" + (" (filtered)" if filtered else ""))
    st.plotly_chart(views.severity_figure(rt.snapshot(), filters), key="severity")

left, right = st.columns([3, 1])
with left:
    newer_scans()
    live()
with right:
    chart()


def export(kind):
    """Built when clicked, from the newest findings (every match, not one page)."""
    def build() -> bytes:
        snap = rt.store.snapshot()
        frame = views.findings_frame(snap, views.matching_findings(snap, *filters))
        return views.to_csv(frame) if kind == "csv" else views.to_json(frame)
    return build


stamp = views.file_stamp()
c1, c2, _ = st.columns([1, 1, 4])
c1.download_button("Export CSV", export("csv"), f"findings-{stamp}.csv", "text/csv", on_click="ignore",
                   help="Every finding matching the filters, as of the click; times in UTC (ISO 8601); cells that "
                        "start like a spreadsheet formula are quoted.")
c2.download_button("Export JSON", export("json"), f"findings-{stamp}.json", "application/json", on_click="ignore")

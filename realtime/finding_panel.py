"""A finding's fields, as plain text: the findings tables' compact details area (Scan detail,
Vulnerabilities: choose one finding of the page shown) and the Finding page (/finding?id=…).
Every field it carries — description, CVE/CWE, CVSS vector, references, remediation, tags,
extracted values, evidence, the scanner's details. Every value came from a scanner and the
target it scanned: st.text and st.code never read markdown."""
from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from realtime import bridge, views
from realtime.models import Snapshot, Vulnerability
from realtime.viewer import zone
from realtime.whatsnew_panel import triage_control

TITLE_HELP = "Double-click a title (or select it and press Enter) to read all of it; *open* shows every field"
# The findings tables: "open" (the finding's page) first; a URL is text, never a link.
FINDING_COLUMNS = {
    "open": st.column_config.LinkColumn("open", display_text="open", width="small", pinned=True,
                                        help="Every field of the finding on its own page"),
    # A long title is cut to its cell: the grid's read-only overlay shows it whole, which the header says.
    "title": st.column_config.TextColumn("title", width=300, help=TITLE_HELP),
    "url": st.column_config.TextColumn("url"),
    "cvss": st.column_config.NumberColumn("cvss", format="%.1f"),
}
LONG = ("remediation", "evidence", "details", "description")  # shown in a code block


def finding_details(v: Vulnerability, last_seen: float | None = None) -> list[tuple[str, str]]:
    """(label, text) for every field of a finding that is set, for a details area (shown as
    plain text: every value is untrusted); `last_seen`: when it was last received."""
    extras, here = {**(v.extras or {}), "description": v.description}, zone()  # times in the viewer's zone, named
    rows = [("id", v.id), ("severity", v.severity), ("title", v.title), ("url", v.url or ""),
            ("type", v.vulnerability_type or ""), ("cvss", "" if v.cvss_score is None else f"{v.cvss_score:g}"),
            ("found at", views.clock(v.found_at, here)), ("last seen", views.clock(last_seen, here)),
            ("new", views.badge(v)),
            ("fingerprint", v.fingerprint or ""), ("first seen", views.clock(v.first_seen_at, here)),
            ("previous scan", v.previous_scan_id or ""), ("triage", views.triage_text(v.triage))]
    rows += [(label, views.extra_text(extras.get(name))) for label, name in views.EXTRA_COLUMNS.items()]
    return [(label, views.visible(text)) for label, text in rows if text]  # a U+202E shown, not obeyed


def finding_panel(findings: Sequence[Vulnerability], key: str) -> None:
    by_id = {v.id: v for v in findings}
    if not by_id:
        return
    chosen = st.selectbox("Finding details", list(by_id), index=None, key=key, placeholder="Choose a finding",
                          format_func=lambda fid: views.visible(" · ".join(
                              filter(None, [by_id[fid].severity, by_id[fid].title[:100], by_id[fid].url])))
                          if fid in by_id else fid)
    finding = by_id.get(chosen)
    if finding is None:
        return
    with st.container(border=True):
        show_details(finding_details(finding))
    triage_control(finding, f"{key}-triage")


def show_details(rows: list[tuple[str, str]]) -> None:
    for label, text in rows:
        if label in LONG:
            st.text(label)
            st.code(text, language=None, wrap_lines=True)
        else:
            st.text(f"{label}: {text}")


def show_finding(snap: Snapshot, v: Vulnerability) -> None:
    """The Finding page: title (whole), where it was found (links to its scan and target), when
    it was first and last seen, then every field, and its triage."""
    scan, target = snap.scans.get(v.scan_id), views.target_of(snap, v)
    st.markdown(f"#### {views.type_icon('error' if v.severity in ('critical', 'high') else 'info')} "
                f"{views.literal(v.title, 600)}")
    st.badge(v.severity, color=BADGE_COLORS.get(v.severity, "gray"))
    st.page_link(bridge.scan_page(), query_params={"id": v.scan_id}, icon=":material/troubleshoot:",
                 label=f"Scan: {views.literal((scan.name if scan else None) or v.scan_id)}"
                       + (f" ({scan.status})" if scan else " (no longer held)"))
    if target:
        st.page_link(bridge.target_page(), query_params={"name": target}, icon=":material/language:",
                     label=f"Target: {views.literal(target)} — every scan of it")
    last = snap.vulnerabilities.last_seen.get(v.id, v.found_at)
    first = v.first_seen_at or v.found_at  # the gateway's registry knows earlier scans too
    st.caption(f"First seen {views.clock(first, zone())} · last seen {views.clock(last, zone())}"
               + (" (received again)" if last != v.found_at else ""))
    with st.container(border=True):
        show_details(finding_details(v, last))
    triage_control(v, "finding-triage")


# st.badge takes named colours (the charts use views.figures.SEVERITY_COLORS)
BADGE_COLORS = {"critical": "red", "high": "orange", "medium": "yellow", "low": "blue", "info": "gray"}

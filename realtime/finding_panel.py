"""The findings tables' compact details area (Scan detail, Vulnerabilities): choose one finding
of the page shown and read every field it carries — CVE/CWE, CVSS vector, references,
remediation, tags, extracted values, evidence, the scanner's details — as plain text. Every
value came from a scanner and the target it scanned: st.text and st.code never read markdown."""
from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from realtime import views
from realtime.models import Vulnerability
from realtime.whatsnew_panel import triage_control

LONG = ("remediation", "evidence", "details", "description")  # shown in a code block


def finding_details(v: Vulnerability) -> list[tuple[str, str]]:
    """(label, text) for every field of a finding that is set, for a details area (shown as
    plain text: every value is untrusted)."""
    extras = {**(v.extras or {}), "description": v.description}
    rows = [("id", v.id), ("severity", v.severity), ("title", v.title), ("url", v.url or ""),
            ("type", v.vulnerability_type or ""), ("cvss", "" if v.cvss_score is None else f"{v.cvss_score:g}"),
            ("found at", views.clock(v.found_at)), ("new", views.badge(v)), ("fingerprint", v.fingerprint or ""),
            ("first seen", views.clock(v.first_seen_at)), ("previous scan", v.previous_scan_id or ""),
            ("triage", views.triage_text(v.triage))]
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
        for label, text in finding_details(finding):
            if label in LONG:
                st.text(label)
                st.code(text, language=None, wrap_lines=True)
            else:
                st.text(f"{label}: {text}")
    triage_control(finding, f"{key}-triage")

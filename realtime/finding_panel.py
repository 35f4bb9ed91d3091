"""The findings tables' compact details area (Scan detail, Vulnerabilities): choose one finding
of the page shown and read every field it carries — CVE/CWE, CVSS vector, references,
remediation, tags, extracted values, evidence, the scanner's details — as plain text. Every
value came from a scanner and the target it scanned: st.text and st.code never read markdown."""
from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from realtime import views
from realtime.store import Vulnerability

LONG = ("remediation", "evidence", "details", "description")  # shown in a code block


def finding_panel(findings: Sequence[Vulnerability], key: str) -> None:
    by_id = {v.id: v for v in findings}
    if not by_id:
        return
    chosen = st.selectbox("Finding details", list(by_id), index=None, key=key, placeholder="Choose a finding",
                          format_func=lambda fid: " · ".join(
                              filter(None, [by_id[fid].severity, by_id[fid].title[:100], by_id[fid].url]))
                          if fid in by_id else fid)
    finding = by_id.get(chosen)
    if finding is None:
        return
    with st.container(border=True):
        for label, text in views.finding_details(finding):
            if label in LONG:
                st.text(label)
                st.code(text, language=None, wrap_lines=True)
            else:
                st.text(f"{label}: {text}")

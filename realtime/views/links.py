"""Links between the dashboard's pages. Relative URLs (they resolve under any base path) whose
value is fully quoted, so no id or target name can add a parameter or point elsewhere."""
from __future__ import annotations

from urllib.parse import quote

SCAN_ID_SHOWN = r"scan\?id=(.*)"  # a LinkColumn shows the scan id of a scan link (ids need no quoting)


def finding_url(finding_id: str) -> str:
    return "finding?id=" + quote(finding_id, safe="")


def scan_url(scan_id: str) -> str:
    return "scan?id=" + quote(scan_id, safe="")


def target_url(target: str) -> str:
    return "target?name=" + quote(target, safe="")

"""What's new, the dashboard's calls to its gateway: triage a finding (the socket request
`triage_finding`, answered by an ack like `start_scan`) and read a scan's comparison lists
(GET /api/scans/{id}/diff with the dashboard's token)."""
from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from realtime import protocol

NOTE_LIMIT = 1000  # protocol.Triage.note


def triage(client: Any, fingerprint: str, state: str, note: str = "", timeout: float = 5.0) -> dict[str, Any]:
    """Ask the gateway to triage every finding of `fingerprint`. Its ack: {"ok": true, "triage":
    {...}} or {"ok": false, "error": ...} (refused, offline, no answer, or a bad request)."""
    if state not in protocol.TRIAGE_STATES:
        return {"ok": False, "error": f"state must be one of {', '.join(protocol.TRIAGE_STATES)}"}
    if len(note) > NOTE_LIMIT:
        return {"ok": False, "error": f"the note is {len(note):,} characters; at most {NOTE_LIMIT:,}"}
    request = {"fingerprint": fingerprint, "state": state, **({"note": note} if note.strip() else {})}
    answer = client.call("triage_finding", request, timeout)
    if isinstance(answer, dict):
        return answer
    return {"ok": False, "error": f"unexpected answer {protocol.preview(answer, 200)}"}


def fetch_diff(url: str, token: str | None, scan_id: str, timeout: float = 5.0) -> tuple[dict | None, str | None]:
    """(GET /api/scans/{scan_id}/diff's document, None), or (None, why not) — the gateway's
    reason when it refused."""
    request = urllib.request.Request(f"{url.rstrip('/')}/api/scans/{urllib.parse.quote(scan_id)}/diff",
                                     headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            doc = protocol.loads(response.read())
    except urllib.error.HTTPError as exc:
        return None, f"HTTP {exc.code}: {_reason(exc)}"
    except (urllib.error.URLError, OSError) as exc:
        return None, f"{url}: {getattr(exc, 'reason', exc)}"
    except ValueError as exc:  # not JSON, or nested too deep
        return None, f"not a diff document ({exc})"
    return (doc, None) if isinstance(doc, dict) else (None, "not a diff document")


def _reason(exc: urllib.error.HTTPError) -> str:
    try:
        doc = protocol.loads(exc.read())
    except (ValueError, OSError):
        return exc.reason
    return str(doc.get("error") or exc.reason) if isinstance(doc, dict) else exc.reason

"""Reference text generated from the code, so the docs cannot drift: README's settings table
(from `options`) and docs/protocol.md's event and request tables (from `protocol`).

    python -m realtime.reference            # exit 1 and say what is stale
    python -m realtime.reference --write    # rewrite the generated parts in place

A test runs the check; hand-written prose around the markers is left alone.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from realtime import options, protocol

ROOT = Path(__file__).resolve().parents[1]

# What each field means, by name (a name means the same in every event). A catalogue field
# missing here fails the check: a new field needs its sentence.
FIELDS = {
    "seq": "Stamped by the gateway: strictly increasing on its stream. Clients resume by it; never send it.",
    "timestamp": "ISO 8601 time the event happened (naive: UTC; 1990–2099); the gateway stamps the publish "
                 "time when absent, and refuses one more than `BUGHUNT_CLOCK_WINDOW` (1 day) ahead of its clock.",
    "scan_id": "The scan the event belongs to; its room is `scan_<scan_id>`.",
    "scan_name": "Human name of the scan.",
    "target": "What is scanned (URL, host or range).",
    "status": "`scan_started`: `running` (default) or `queued`. `scan_failed`: `failed` (default), or "
              "`cancelled`/`abandoned` when someone ended the scan through the gateway (`cancel_scan`, "
              "`abandon_scan`; `error` then says who and why); all three are terminal.",
    "progress": "Percent done, 0–100.",
    "phase": "Current phase, e.g. `passive_recon`, `active_recon`, `vulnerability_testing`, `exploitation`, "
             "`reporting` (any text is shown).",
    "current_step": "What the scanner is doing right now.",
    "vulnerabilities_found": "Findings so far in this scan.",
    "total_vulnerabilities": "Findings in total.",
    "duration": "Seconds the scan took.",
    "error": "Why the scan failed.",
    "title": "Name of the finding.",
    "severity": "One of `critical`, `high`, `medium`, `low`, `info` (any case).",
    "id": "Stable id; a re-sent event with the same id updates instead of adding. Findings without one get "
          "an id derived from scan, title and URL.",
    "cvss_score": "CVSS base score, 0–10.",
    "url": "Where it was found.",
    "vulnerability_type": "Class of the finding, e.g. `xss`, `sqli`, `open_port`.",
    "description": "Details, CVE/CWE references.",
    "found_at": "When the scanner found it (its own time, ISO 8601, like `timestamp`); "
                "else the event's `timestamp`.",
    "cve": "CVE ids, e.g. `CVE-2021-44228`.",
    "cwe": "CWE ids, e.g. `CWE-79`.",
    "cvss_vector": "CVSS vector, e.g. `CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H`.",
    "references": "Links about the finding.",
    "remediation": "How to fix it.",
    "tags": "The scanner's tags.",
    "evidence": "What proves it: the request/response, a curl command, the script's output.",
    "extracted": "Values the scanner extracted (e.g. a version); findings without an `id` that differ "
                 "only in these stay apart.",
    "details": "Anything else the scanner said, as `name: text` pairs: matcher, host names, "
               "OS guess, service, NSE script output …",
    "total_scans": "Scans known.",
    "active_scans": "Scans running.",
    "critical_count": "Critical findings.",
    "completed_scans": "Scans completed.",
    "targets_scanned": "Distinct targets scanned.",
    "message": "The notification's text.",
    "type": "`success`, `error`, `warning` or `info` (anything else is shown as `info`).",
    "user_id": "Private to this user: delivered only to the room `user_<user_id>`.",
    "room": "`scan_<id>` or `user_<id>` (id: 1–64 letters, digits, `-`, `_`).",
    "options": "Scanner options, passed to the launcher (at most 50 keys).",
    "since": "The last `seq` the client applied (none: send me the state instead).",
    "epoch": "The stream the client's `seq` belongs to (from the last ack or `/api/state`).",
    "rooms": "Rooms to (re-)join, at most 100.",
    "subscribe": "`all` (default): every scan's events plus the rooms; `rooms`: only the rooms.",
    "fingerprint": "The finding's identity across scans (≤ 128 printable characters): the producer's own, "
                   "else derived by the gateway (see \"Finding identity\").",
    "known": "Stamped by the gateway: seen before in another scan (first seen in another scan).",
    "first_seen_at": "Stamped by the gateway: when the fingerprint was first seen.",
    "first_seen_scan_id": "Stamped by the gateway: the scan it was first seen in.",
    "previous_scan_id": "Stamped by the gateway: the most recent other scan it was seen in (absent: none).",
    "times_seen": "Stamped by the gateway: how many scans saw it.",
    "triage": "Stamped by the gateway when the finding is triaged: `{state, note, by, at}`.",
    "diff": "Stamped by the gateway: `{previous_scan_id, previous_completed_at, new, still_open, fixed}` against "
            "the previous completed scan of the same target (absent: none).",
    "state": "`open`, `false_positive`, `accepted_risk` or `fixed`.",
    "note": "Why (≤ 1000 characters).",
    "by": "Who triaged: the token's `sub`.",
    "at": "When it was triaged.",
    "reason": "Why, in the person's words (shown with who and when).",
    "user": "Who acts, as the dashboard knows them (its login); the gateway adds its token's `sub`.",
}

EVENTS = {
    "scan_started": ("A scan began.", "`all` and `scan_<scan_id>`"),
    "scan_progress": ("A scan moved on. Scanners may send many; dashboards show the latest.",
                      "`all` and `scan_<scan_id>`"),
    "scan_completed": ("A scan finished.", "`all` and `scan_<scan_id>`"),
    "scan_failed": ("A scan stopped with an error.", "`all` and `scan_<scan_id>`"),
    "vulnerability_found": ("A finding.", "`all` and `scan_<scan_id>`"),
    "metrics_update": ("Dashboard totals. The gateway computes and emits these itself (every "
                       "`BUGHUNT_METRICS_INTERVAL` s when they changed); scanners need not send them.", "`all`"),
    "notification": ("A message for people.", "`user_<user_id>` only when `user_id` is set, else `all` "
                     "(and `scan_<scan_id>` when `scan_id` is set)"),
    "finding_triaged": ("Someone triaged a finding (the gateway's own event: refused from producers and "
                        "sockets). `scan_id` is the scan the finding was last seen in.", "`all` and `scan_<scan_id>`"),
}

REQUESTS = {
    "join_room": ("Receive a room's events. A viewer may join `user_<its own sub>` only; a read-only "
                  "link only its scans.", '{"ok": true} or {"ok": false, "error": "user_8 is another user\'s room"}'),
    "leave_room": ("Stop receiving a room's events.", '{"ok": true}'),
    "start_scan": ("Ask the gateway's scan launcher to start a scan (the demo engine is one).",
                   '{"ok": true, "scan_id": "…"} or {"ok": false, "error": "no scan launcher configured"}'),
    "resume": ("Sent first after every (re)connect by clients that connect with `auth={\"resume\": true}`: "
               "replay what I missed, then go live.",
               '{"ok": true, "replayed": 37, "epoch": "…", "last_seq": 1234} or {"ok": false, '
               '"resync_required": true, "error": "…"} (then load GET /api/state); either may carry '
               '"refused_rooms": {"user_8": "user_8 is another user\'s room"}; every answer carries '
               '"capabilities": {"launcher", "start_scans", "abandon", "cancel", "abandon_after", "profiles"}: '
               'what this socket may do here, so a dashboard offers only what works'),
    "triage_finding": ("Triage a finding for everyone: admins, and viewers unless `BUGHUNT_VIEWERS_TRIAGE=false`; "
                       "never a read-only link. The same as `POST /api/findings/triage`.",
                       '{"ok": true, "triage": {"state": "false_positive", "note": "…", "by": "7", "at": "…"}} or '
                       '{"ok": false, "error": "unknown finding"}'),
    "abandon_scan": ("Give up on a stuck or lost scan: one running without an event for "
                     "`BUGHUNT_ABANDON_AFTER_SECONDS`, or one the gateway's stream does not know. The gateway "
                     "publishes `scan_failed` with status `abandoned` (and a notification) to every client. "
                     "Admins; viewers with `BUGHUNT_VIEWERS_CONTROL_SCANS`; never a read-only link.",
                     '{"ok": true, "status": "abandoned"} or {"ok": false, "error": "scan 42 is alive: its last '
                     'event was 5 s ago …"}'),
    "cancel_scan": ("Stop a scan the gateway's launcher started (`start_scan`): the launcher's `cancel(scan_id)` "
                    "stops it, then the gateway publishes `scan_failed` with status `cancelled`. Admins, the "
                    "scan's starter, viewers with `BUGHUNT_VIEWERS_CONTROL_SCANS`; never a read-only link.",
                    '{"ok": true, "status": "cancelled"} or {"ok": false, "error": "scan 42 is not running from '
                    'this gateway\'s launcher …"}'),
    "scan_actions": ("Which of `abandon_scan` and `cancel_scan` the gateway would accept for this scan now, "
                     "so a dashboard shows only the buttons that work.",
                     '{"ok": true, "abandon": null, "cancel": "this token may not …"} (null: it would)'),
}

EXAMPLES = {
    "scan_started": {"scan_id": "42", "scan_name": "Shop", "target": "https://shop.example.com"},
    "scan_progress": {"scan_id": "42", "progress": 40, "phase": "active_recon",
                      "current_step": "Crawling /checkout", "vulnerabilities_found": 3},
    "scan_completed": {"scan_id": "42", "total_vulnerabilities": 7, "duration": 1830.5},
    "scan_failed": {"scan_id": "43", "error": "target unreachable: connection refused"},
    "vulnerability_found": {"scan_id": "42", "id": "xss-q", "title": "Reflected XSS in q",
                            "severity": "high", "cvss_score": 6.1, "url": "https://shop.example.com/search?q=",
                            "vulnerability_type": "xss", "description": "CWE-79",
                            "found_at": "2026-11-26T12:00:06Z", "cwe": ["CWE-79"],
                            "cvss_vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N",
                            "evidence": "curl 'https://shop.example.com/search?q=%3Cscript%3E'",
                            "details": {"matcher": "body"}},
    "metrics_update": {"total_scans": 12, "active_scans": 2, "total_vulnerabilities": 57,
                       "critical_count": 1, "completed_scans": 9},
    "notification": {"type": "warning", "title": "Scan slowed down",
                     "message": "Shop is rate limited (HTTP 429)", "scan_id": "42"},
    "finding_triaged": {"fingerprint": "fp-5d1c0a9e3b7f41c28e6a0d4b9f2c7e15", "state": "false_positive",
                        "note": "WAF blocks it", "by": "7", "at": "2026-11-26T12:30:00Z", "scan_id": "42",
                        "title": "Reflected XSS in q", "severity": "high"},
    "join_room": {"room": "scan_42"},
    "leave_room": {"room": "scan_42"},
    "start_scan": {"target": "https://shop.example.com", "scan_name": "Shop"},
    "triage_finding": {"fingerprint": "fp-5d1c0a9e3b7f41c28e6a0d4b9f2c7e15", "state": "false_positive",
                       "note": "WAF blocks it"},
    "resume": {"since": 1234, "epoch": "9f1c2a7e4b0d", "rooms": ["scan_42"], "subscribe": "all"},
    "abandon_scan": {"scan_id": "42", "reason": "scanner host died", "user": "alice@example.com"},
    "cancel_scan": {"scan_id": "42", "reason": "wrong target"},
    "scan_actions": {"scan_id": "42"},
}


def _type(schema: dict[str, Any]) -> str:
    """A short human type for one JSON-schema property."""
    options_ = [s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"]
    kinds = []
    for s in options_:
        if "$ref" in s:
            kinds.append(f"object (`{s['$ref'].rsplit('/', 1)[-1]}`)")
        elif "enum" in s:
            kinds.append(" \\| ".join(f"`{v}`" for v in s["enum"]))
        elif s.get("type") == "array":
            most = f" (≤ {s['maxItems']})" if "maxItems" in s else ""
            kinds.append(f"list{most} of {_type(s.get('items', {}))}")
        elif s.get("type") == "object" and isinstance(s.get("additionalProperties"), dict):
            most = f" (≤ {s['maxProperties']} keys)" if "maxProperties" in s else ""
            kinds.append(f"object{most} of {_type(s['additionalProperties'])}")
        else:
            kind = {"integer": "integer", "number": "number", "string": "string", "object": "object",
                    "boolean": "boolean"}.get(s.get("type"), "any")
            if s.get("format") == "date-time":
                kind = "date-time"
            limits = []
            if "minimum" in s and "maximum" in s:
                limits.append(f"{s['minimum']}–{s['maximum']}")
            elif "minimum" in s:
                limits.append(f"≥ {s['minimum']}")
            if "maxLength" in s:
                limits.append(f"≤ {s['maxLength']} chars")
            kinds.append(kind + (f" ({', '.join(limits)})" if limits else ""))
    return " or ".join(dict.fromkeys(kinds)) or "any"


# Where a field means something else in one event than in the others.
FIELDS_OF = {"Notification": {
    "title": "Heading shown above the message, e.g. `Scan slowed down`.",
    "id": "Stable id; a re-sent notification with the same id is shown once. Without one, the id is derived "
          "from its `seq` or `timestamp`, type, title, message and scan.",
}}


def field_rows(model: type[BaseModel], skip: tuple[str, ...] = ()) -> list[tuple[str, str, bool, str, str]]:
    """(name, type, required, aliases, meaning) per field."""
    props = model.model_json_schema(mode="validation")["properties"]
    rows = []
    for name, info in model.model_fields.items():
        if name in skip:
            continue
        schema = props[name]
        kind = "id: string or integer (1–64 letters, digits, `-`, `_`)" if name in ("scan_id", "user_id") \
            else _type(schema)
        alias = info.validation_alias
        aliases = [a for a in getattr(alias, "choices", []) if a != name]
        meaning = FIELDS_OF.get(model.__name__, {}).get(name) or FIELDS.get(name, "")
        rows.append((name, kind, info.is_required(), ", ".join(f"`{a}`" for a in aliases), meaning))
    return rows


def _table(model: type[BaseModel], skip: tuple[str, ...] = ()) -> str:
    lines = ["| field | type | required | also accepted as | meaning |", "|---|---|---|---|---|"]
    lines += [f"| `{n}` | {t} | {'yes' if r else ''} | {a} | {m} |" for n, t, r, a, m in field_rows(model, skip)]
    return "\n".join(lines)


COMMON = tuple(protocol.Event.model_fields)  # seq, timestamp: described once


def events_section() -> str:
    parts = [f"Every event may carry:\n\n{_table(protocol.Event)}"]
    for name, model in protocol.SERVER_EVENTS.items():
        what, rooms = EVENTS[name]
        body = json.dumps({"event": name, "data": EXAMPLES[name]}, indent=2)
        parts.append(f"### `{name}`\n\n{what} Delivered to {rooms}.\n\n{_table(model, COMMON)}\n\n```json\n{body}\n```")
    return "\n\n".join(parts)


def requests_section() -> str:
    parts = []
    for name, model in protocol.CLIENT_EVENTS.items():
        what, ack = REQUESTS[name]
        body = json.dumps(EXAMPLES[name])
        parts.append(f"### `{name}`\n\n{what}\n\n{_table(model)}\n\nSent: `{body}`  \nAck: `{ack}`")
    return "\n\n".join(parts)


def missing_notes() -> list[str]:
    """Catalogue entries the reference cannot describe yet."""
    missing = [f"event {name}" for name in protocol.SERVER_EVENTS if name not in EVENTS or name not in EXAMPLES]
    missing += [f"request {name}" for name in protocol.CLIENT_EVENTS if name not in REQUESTS or name not in EXAMPLES]
    for model in (*protocol.SERVER_EVENTS.values(), *protocol.CLIENT_EVENTS.values()):
        missing += [f"field {model.__name__}.{name}" for name in model.model_fields if name not in FIELDS]
    return sorted(set(missing))


# (file, marker, generator): each generated part sits between <!-- marker --> and <!-- /marker -->
PARTS = [
    ("README.md", "settings", options.markdown_table),
    ("docs/protocol.md", "events", events_section),
    ("docs/protocol.md", "requests", requests_section),
]


def _pattern(marker: str) -> re.Pattern:
    return re.compile(rf"<!-- {marker} -->\n(.*?)\n?<!-- /{marker} -->", re.S)


def stale() -> list[str]:
    """Generated parts that differ from the code (empty when all is current)."""
    problems = [f"no reference text for {m}" for m in missing_notes()]
    for file, marker, make in PARTS:
        found = _pattern(marker).search((ROOT / file).read_text())
        if found is None:
            problems.append(f"{file}: no <!-- {marker} --> section")
        elif found.group(1) != make():
            problems.append(f"{file}: the {marker} section differs from the code")
    return problems


def write() -> None:
    for file, marker, make in PARTS:
        path = ROOT / file
        section = f"<!-- {marker} -->\n{make()}\n<!-- /{marker} -->"
        path.write_text(_pattern(marker).sub(lambda _, section=section: section, path.read_text()))


if __name__ == "__main__":
    if "--write" in sys.argv:
        write()
    problems = stale()
    for problem in problems:
        print(problem, file=sys.stderr)
    sys.exit(1 if problems else 0)

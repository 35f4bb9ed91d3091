"""Empty states that teach: what a page with nothing to show says, why, and the one command
that gives it something."""
from __future__ import annotations

import json
from dataclasses import dataclass

from realtime.views.text import literal

EXAMPLE_TARGET = "https://shop.example.com"
TOKEN_NOTE = ("With a secret configured the gateway wants a producer token: add "
              "-H \"Authorization: Bearer $(python -m realtime.gateway token --role producer --sub scanner1)\".")


@dataclass(frozen=True)
class EmptyState:
    message: str  # safe for markdown
    command: str = ""  # shown as code, exactly
    note: str = ""  # safe for markdown


def with_token(empty: EmptyState, token: str) -> EmptyState:
    """The command with a producer token for the demo's gateway (the note on tokens then says so)."""
    if not empty.command:
        return empty
    return EmptyState(empty.message, f"{empty.command} -H 'Authorization: Bearer {token}'",
                      "The demo's gateway wants a producer token: this one was made for this tab, valid for a day.")


def gateway(url: str | None) -> str:
    return (url or "http://127.0.0.1:8000").rstrip("/")


def no_scans(url: str | None) -> EmptyState:
    """No scan at all: publish one (curl), or let a scanner's adapter do it."""
    event = {"event": "scan_started", "data": {"scan_id": "42", "scan_name": "Shop", "target": EXAMPLE_TARGET}}
    return EmptyState(
        "No scans yet — publish one with this command, or pipe a scanner's output through an adapter "
        "(`python -m realtime.adapters.nuclei`, `nmap`, `sarif`, `jsonl`: see the README).",
        f"curl -X POST {gateway(url)}/api/events -H 'Content-Type: application/json' -d '{json.dumps(event)}'",
        TOKEN_NOTE)


def no_notifications(url: str | None) -> EmptyState:
    """No notification at all: the gateway sends one as scans start and end, and anyone may publish one."""
    event = {"event": "notification", "data": {"type": "info", "title": "Hello", "message": "from the team"}}
    return EmptyState(
        "No notifications yet — they come as scans start, finish or fail and as critical findings arrive; "
        "publish one with this command:",
        f"curl -X POST {gateway(url)}/api/events -H 'Content-Type: application/json' -d '{json.dumps(event)}'",
        TOKEN_NOTE)


def no_findings(url: str | None) -> EmptyState:
    """No finding at all: publish one (curl; no scanner needed), or a scanner's output through its adapter."""
    event = {"event": "vulnerability_found", "data": {"scan_id": "42", "title": "Exposed .git directory",
                                                      "severity": "high", "url": f"{EXAMPLE_TARGET}/.git/config"}}
    return EmptyState(
        "No findings yet — publish one with this command, or pipe a scanner's output through its adapter "
        "(`nuclei -jsonl -stats -sj 2>&1 | python -m realtime.adapters.nuclei`: see the README).",
        f"curl -X POST {gateway(url)}/api/events -H 'Content-Type: application/json' -d '{json.dumps(event)}'",
        TOKEN_NOTE)


def finding_missing(finding_id: str, held: int, kept: int) -> EmptyState:
    """A finding link whose finding this dashboard does not hold."""
    if not finding_id:
        return EmptyState("No finding chosen — open one from the Vulnerabilities or Scan detail table "
                          "(its *open* column).")
    return EmptyState(
        f"No finding {literal(finding_id)} here. Either it has not arrived yet (this page shows it when it "
        f"does), or it is older than the dashboard keeps: it holds the newest {kept:,} findings "
        f"(BUGHUNT\\_MAX\\_FINDINGS), {held:,} now.")


def target_missing(target: str, kept: int) -> EmptyState:
    """A target link whose target no scan held has."""
    return EmptyState(
        f"No scans of {literal(target)} here. Either none has started yet, or they are older than the "
        f"dashboard keeps: it holds {kept:,} scans (BUGHUNT\\_MAX\\_SCANS), finished ones dropped first.")

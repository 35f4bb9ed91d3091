"""Alert rules and destinations from a TOML file, checked at start with clear errors.

    [destinations.slack]
    url_env = "SLACK_ALERTS_URL"        # an Apprise URL, from the environment…
    [destinations.email]
    url_file = "/run/secrets/mail_url"  # …or a file; `url = "…"` only for URLs without secrets

    [[rules]]
    name = "critical findings"
    on = "finding"                      # finding, scan_failed, scan_stuck, scan_lost, scan_completed, notification
    severity = "high"                   # at least
    to = ["slack", "email"]
    digest = 0                          # seconds; 0: each alert at once
"""
from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from realtime import protocol

SEVERITY_RANK = {name: rank for rank, name in enumerate(reversed(protocol.SEVERITIES))}  # info 0 … critical 4
KINDS = ("finding", "scan_failed", "scan_stuck", "scan_lost", "scan_completed", "notification")
# How untrusted text is escaped, by Apprise schema (see messages.py); anything else: plain text.
DIALECTS = {"slack": "slack", "discord": "discord", "workflows": "teams", "workflow": "teams",
            "msteams": "teams", "mailto": "email", "mailtos": "email", "json": "json", "jsons": "json"}
RULE_KEYS = {"name", "on", "to", "severity", "targets", "scans", "tags", "new_only", "include_triaged", "types",
             "after", "digest", "max_per_hour"}


class RulesError(ValueError):
    """The rules file cannot be used; the message names the file, the entry and the fix."""


@dataclass(frozen=True)
class Destination:
    name: str
    url: str = field(repr=False)  # holds secrets: never printed or logged
    dialect: str
    unresolved: str | None = None  # a dry run's: why its URL could not be read (nothing is sent)

    def secrets(self) -> list[str]:
        """Parts of the URL that may be secret (for redacting messages from Apprise)."""
        parts = urlsplit(self.url)
        pieces = [parts.username, parts.password, *parts.path.split("/"), *parts.query.split("&")]
        pieces += [parts.netloc] if "@" in parts.netloc else []
        return sorted({p.split("=", 1)[-1] for p in pieces if p and len(p) >= 4}, key=len, reverse=True)


@dataclass(frozen=True)
class Rule:
    name: str
    on: str
    to: tuple[str, ...]
    severity: str = "info"
    targets: tuple[str, ...] = ()
    scans: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    new_only: bool = False  # only findings the gateway stamps new (not `known`)
    include_triaged: bool = False  # also findings triaged away (false positive, accepted risk, fixed)
    types: tuple[str, ...] = ()
    after: float = 600.0  # scan_stuck: seconds without an event
    digest: float = 0.0  # 0: immediate
    max_per_hour: int = 60  # 0: no cap

    def routes(self) -> list[str]:
        return [route_name(self.name, dest) for dest in self.to]


@dataclass(frozen=True)
class Config:
    destinations: dict[str, Destination]
    rules: tuple[Rule, ...]

    def rule(self, name: str) -> Rule | None:
        return next((r for r in self.rules if r.name == name), None)


def route_name(rule: str, destination: str) -> str:
    return f"{rule} → {destination}"


def load(path: str, env: Mapping[str, str] | None = None, dry_run: bool = False) -> Config:
    """The rules file checked. A dry run sends nothing, so a secret it cannot read is only noted
    on its destination (`unresolved`) instead of stopping it."""
    env = os.environ if env is None else env
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except OSError as exc:
        raise RulesError(f"{path}: cannot read the rules file ({exc.strerror}); "
                         "pass --rules or set BUGHUNT_ALERT_RULES") from None
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"{path}: not valid TOML: {exc}") from None
    return parse(doc, env, path, dry_run)


def parse(doc: dict[str, Any], env: Mapping[str, str], where: str = "rules", dry_run: bool = False) -> Config:
    unknown = set(doc) - {"destinations", "rules"}
    if unknown:
        raise RulesError(f"{where}: unknown top-level key(s) {', '.join(sorted(unknown))}: "
                         "expected [destinations.NAME] and [[rules]]")
    raw_dests = doc.get("destinations") or {}
    if not isinstance(raw_dests, dict) or not raw_dests:
        raise RulesError(f"{where}: no destinations: add e.g. [destinations.slack] with url_env = \"SLACK_URL\"")
    destinations = {name: _destination(name, spec, env, where, dry_run) for name, spec in raw_dests.items()}
    raw_rules = doc.get("rules") or []
    if not isinstance(raw_rules, list) or not raw_rules:
        raise RulesError(f"{where}: no rules: add a [[rules]] table with name, on and to")
    rules = tuple(_rule(i, spec, destinations, where) for i, spec in enumerate(raw_rules, 1))
    names = [r.name for r in rules]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise RulesError(f"{where}: rule names must be unique; used twice: {', '.join(twice)}")
    return Config(destinations, rules)


def _destination(name: str, spec: Any, env: Mapping[str, str], where: str, dry_run: bool = False) -> Destination:
    here = f"{where}: [destinations.{name}]"
    if not isinstance(spec, dict):
        raise RulesError(f"{here}: expected a table with url, url_env or url_file")
    given = [k for k in ("url", "url_env", "url_file") if k in spec]
    extra = set(spec) - {"url", "url_env", "url_file"}
    if len(given) != 1 or extra:
        raise RulesError(f"{here}: give exactly one of url, url_env, url_file"
                         + (f" (unknown: {', '.join(sorted(extra))})" if extra else ""))
    try:
        url = _secret_url(here, given[0], str(spec[given[0]]), env)
    except RulesError as exc:
        if not dry_run:
            raise
        return Destination(name, "", "text", unresolved=str(exc))
    schema = url.split("://", 1)[0].lower() if "://" in url else ""
    if not schema:
        raise RulesError(f"{here}: not an Apprise URL (expected schema://…, e.g. slack://…, mailto://…)")
    import apprise  # the one library of destinations; imported late so rules load without it

    if apprise.Apprise.instantiate(url, suppress_exceptions=True) is None:
        raise RulesError(f"{here}: Apprise does not accept this {schema}:// URL "
                         "(see https://appriseit.com/services/ for its form)")
    return Destination(name, url, DIALECTS.get(schema, "text"))


def _secret_url(here: str, key: str, value: str, env: Mapping[str, str]) -> str:
    if key == "url":
        return value.strip()
    if key == "url_env":
        if not env.get(value):
            raise RulesError(f"{here}: environment variable {value} is not set")
        return env[value].strip()
    try:
        with open(value) as f:
            url = f.read().strip()
    except OSError as exc:
        raise RulesError(f"{here}: cannot read url_file {value} ({exc.strerror})") from None
    if not url:
        raise RulesError(f"{here}: url_file {value} is empty")
    return url


def _rule(index: int, spec: Any, destinations: dict[str, Destination], where: str) -> Rule:
    name = spec.get("name") if isinstance(spec, dict) else None
    here = f"{where}: rule {index}" + (f" ({name})" if isinstance(name, str) else "")
    if not isinstance(spec, dict):
        raise RulesError(f"{here}: expected a table")
    unknown = set(spec) - RULE_KEYS
    if unknown:
        raise RulesError(f"{here}: unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(RULE_KEYS))}")
    if not isinstance(name, str) or not name.strip():
        raise RulesError(f"{here}: needs a name")
    if spec.get("on") not in KINDS:
        raise RulesError(f"{here}: on = {spec.get('on')!r}: expected one of {', '.join(KINDS)}")
    to = _strings(here, "to", spec.get("to"))
    missing = [d for d in to if d not in destinations]
    if not to or missing:
        raise RulesError(f"{here}: to = {list(to)}: name destinations defined under [destinations.NAME] "
                         f"({', '.join(destinations)})")
    severity = str(spec.get("severity", "info")).lower()
    if severity not in SEVERITY_RANK:
        raise RulesError(f"{here}: severity = {spec.get('severity')!r}: "
                         f"expected one of {', '.join(protocol.SEVERITIES)}")
    types = _strings(here, "types", spec.get("types", []))
    if any(t not in protocol.NOTIFICATION_TYPES for t in types):
        raise RulesError(f"{here}: types: expected some of {', '.join(protocol.NOTIFICATION_TYPES)}")
    return Rule(name=name.strip(), on=spec["on"], to=to, severity=severity,
                targets=_strings(here, "targets", spec.get("targets", [])),
                scans=_strings(here, "scans", spec.get("scans", [])),
                tags=_strings(here, "tags", spec.get("tags", [])),
                new_only=_bool(here, "new_only", spec.get("new_only", False)),
                include_triaged=_bool(here, "include_triaged", spec.get("include_triaged", False)), types=types,
                after=_number(here, "after", spec.get("after", 600), low=1),
                digest=_number(here, "digest", spec.get("digest", 0), low=0),
                max_per_hour=int(_number(here, "max_per_hour", spec.get("max_per_hour", 60), low=0)))


def _strings(here: str, key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RulesError(f"{here}: {key} must be a string or a list of strings")
    return tuple(value)


def _bool(here: str, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise RulesError(f"{here}: {key} must be true or false")
    return value


def _number(here: str, key: str, value: Any, low: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < low:
        raise RulesError(f"{here}: {key} must be a number ≥ {low:g}")
    return float(value)

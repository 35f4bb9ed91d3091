"""Alert texts, and rendering them for each destination's format with every untrusted piece inert.

A message is built from pieces: our own words (str), untrusted text from events (`Untrusted`)
and our own links (`Link`). Rendering escapes untrusted text for the target's format and also
defuses what chat services act on even in plain text: `@` mentions (`@everyone`, `<@U123>`) and
`<` before a tag or Slack's `<!channel>` get an invisible word joiner, URLs lose their scheme
(`hxxps[://]…`) and a markdown link's `](` is split, so no client pings, links or renders anything
from an event (nor a JSON consumer that shows the text as HTML).
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from realtime.alerts.engine import Alert
from realtime.alerts.rules import SEVERITY_RANK

JOINER = "\u2060"  # WORD JOINER: invisible, breaks mention and link syntax
SCHEME_RE = re.compile(r"(?i)\b([a-z][a-z0-9+.-]{1,20}):(//)?")
MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~>])")


@dataclass(frozen=True)
class Untrusted:
    text: str


@dataclass(frozen=True)
class Link:
    label: str
    url: str


Piece = str | Untrusted | Link


@dataclass(frozen=True)
class Message:
    title: tuple[Piece, ...]
    lines: tuple[tuple[Piece, ...], ...]
    notify_type: str = "info"  # Apprise: info, success, warning, failure


def defuse(text: str, limit: int = 500) -> str:
    """Untrusted text made harmless in any chat: one line, bounded, no mentions, no links."""
    text = " ".join(str(text).split())
    if len(text) > limit:
        text = text[:limit] + "…"
    text = text.replace("@", "@" + JOINER).replace("](", "]" + JOINER + "(")
    text = SCHEME_RE.sub(lambda m: _defang(m.group(1)) + ("[://]" if m.group(2) else "[:]"), text)
    # No tag for a consumer that renders HTML, no Slack <!channel>, <@U123>, <#C123>.
    return re.sub(r"<([!@#/?A-Za-z])", "<" + JOINER + r"\1", text)


def _defang(scheme: str) -> str:
    return re.sub(r"(?i)^h(tt)(ps?)$", lambda m: "h" + "xx" + m.group(2), scheme)


def host_of(target: str | None) -> str:
    if not target:
        return "an unknown target"
    return urlsplit(target).hostname or target if "://" in target else target


# ---- rendering per format ----------------------------------------------------------------------

def render(message: Message, dialect: str) -> tuple[str, str, str]:
    """(title, body, Apprise body format) for a destination's dialect."""
    piece = RENDERERS.get(dialect, _plain)
    title = "".join(_plain(p) for p in message.title)
    if dialect in ("discord", "teams"):
        title = "".join(piece(p) for p in message.title)
    lines = ["".join(piece(p) for p in line) for line in message.lines]
    if dialect == "email":
        return title, "<br>\n".join(lines), "html"
    if dialect in ("discord", "teams"):
        return title, "\n\n".join(lines) if dialect == "teams" else "\n".join(lines), "markdown"
    return title, "\n".join(lines), "text"


def _plain(p: Piece) -> str:
    if isinstance(p, Untrusted):
        return defuse(p.text)
    if isinstance(p, Link):
        return f"{p.label}: {p.url}"
    return p


def _markdown(p: Piece) -> str:
    if isinstance(p, Untrusted):
        return MARKDOWN_SPECIAL.sub(r"\\\1", defuse(p.text))
    if isinstance(p, Link):
        return f"[{p.label}]({p.url})"
    return p


def _discord(p: Piece) -> str:
    # Discord shows a masked link's target only on hover: give ours plainly.
    return _plain(p) if isinstance(p, Link) else _markdown(p)


def _html(p: Piece) -> str:
    if isinstance(p, Untrusted):
        return html.escape(defuse(p.text))
    if isinstance(p, Link):
        return f'<a href="{html.escape(p.url)}">{html.escape(p.label)}</a>'
    return html.escape(p)


RENDERERS = {"text": _plain, "json": _plain, "slack": _plain, "discord": _discord, "teams": _markdown,
             "email": _html}


# ---- what each alert says ---------------------------------------------------------------------

@dataclass(frozen=True)
class Links:
    """Where messages point: the dashboard, and a read-only scan link when a minter is given."""

    dashboard: str = ""
    mint: Any = None  # scan id → token, or None

    def scan(self, scan_id: str | None) -> list[Link]:
        if not self.dashboard or not scan_id:
            return []
        base = self.dashboard.rstrip("/")
        links = [Link("Open in the dashboard", f"{base}/scan?id={quote(scan_id)}")]
        if self.mint is not None:
            links.append(Link("Read-only link", f"{base}/scan?id={quote(scan_id)}&token={self.mint(scan_id)}"))
        return links

    def page(self, path: str) -> list[Link]:
        return [Link("Open in the dashboard", self.dashboard.rstrip("/") + path)] if self.dashboard else []


def scan_label(a: Alert) -> tuple[Piece, ...]:
    name = (Untrusted(a.scan_name), " ") if a.scan_name else ()
    return ("scan ", *name, "(", Untrusted(a.scan_id or "?"), ") on ", Untrusted(host_of(a.target)))


def counts_text(counts: dict[str, int]) -> str:
    parts = [f"{counts[s]} {s}" for s in sorted(SEVERITY_RANK, key=SEVERITY_RANK.get, reverse=True)
             if counts.get(s)]
    return ", ".join(parts) or "none"


def single(a: Alert, links: Links) -> Message:
    """The message for one alert sent on its own."""
    title, lines, kind = SINGLE[a.kind](a)
    link_line = tuple(_join(links.scan(a.scan_id)))
    return Message(tuple(title), tuple(lines) + ((link_line,) if link_line else ()), kind)


def _join(links: list[Link]) -> list[Piece]:
    out: list[Piece] = []
    for link in links:
        out += [" · "] if out else []
        out.append(link)
    return out


def triage(a: Alert) -> tuple[Piece, ...]:
    """A finding's CVE ids and CVSS score ("CVE-2021-44228 · CVSS 10.0"), when it has them."""
    pieces: list[Piece] = [Untrusted(", ".join(a.cve[:5]) + (" …" if len(a.cve) > 5 else ""))] if a.cve else []
    if a.cvss is not None:
        pieces += [" · ", f"CVSS {float(a.cvss):.1f}"] if pieces else [f"CVSS {float(a.cvss):.1f}"]
    return tuple(pieces)


def _finding(a: Alert) -> tuple:
    sev = (a.severity or "info").capitalize()
    title = [f"{sev} finding on ", Untrusted(host_of(a.target))]
    lines = [(f"{sev}: ", Untrusted(a.title)), ("In ", *scan_label(a))]
    if triage(a):
        lines.append(triage(a))
    if a.detail:
        lines.append(("Where: ", Untrusted(a.detail)))
    return title, lines, "failure" if a.severity in ("critical", "high") else "warning"


def _failed(a: Alert) -> tuple:
    return (["Scan failed on ", Untrusted(host_of(a.target))],
            [("Failed: ", *scan_label(a)), ("Error: ", Untrusted(a.detail or "no reason given"))], "failure")


def _completed(a: Alert) -> tuple:
    counts = dict(a.counts or {})
    total = counts.pop("total", sum(v for k, v in counts.items() if k in SEVERITY_RANK))
    took = f" in {counts.pop('duration')} s" if "duration" in counts else ""
    return (["Scan completed on ", Untrusted(host_of(a.target)), f": {total} findings"],
            [("Completed", took, ": ", *scan_label(a)), (f"{total} findings: {counts_text(counts)}",)], "success")


def _stuck(a: Alert) -> tuple:
    return (["Scan stuck on ", Untrusted(host_of(a.target))],
            [("Stuck: ", *scan_label(a)), (f"No event for {a.detail} s.",)], "warning")


def _recovered(a: Alert) -> tuple:
    return (["Scan recovered on ", Untrusted(host_of(a.target))],
            [("Recovered: ", *scan_label(a)), (f"Events again after {a.detail} s of silence.",)], "success")


def _lost(a: Alert) -> tuple:
    return (["Lost contact with a scan on ", Untrusted(host_of(a.target))],
            [("Lost contact: ", *scan_label(a)), ("Why: ", Untrusted(a.detail))], "warning")


def _notification(a: Alert) -> tuple:
    kind = {"error": "failure"}.get(a.severity or "", a.severity or "info")
    head = [f"{(a.severity or 'info').capitalize()}: ", Untrusted(a.title or a.detail)]
    return head, [(Untrusted(a.detail),)], kind


SINGLE = {"finding": _finding, "scan_failed": _failed, "scan_completed": _completed, "scan_stuck": _stuck,
          "scan_recovered": _recovered, "scan_lost": _lost, "notification": _notification}


def digest(alerts: list[Alert], total: int, by_kind: dict[str, int], severities: dict[str, int],
           links: Links) -> Message:
    """One message for a window's alerts: counts of all `total`, the top `alerts` listed."""
    findings = by_kind.get("finding", 0)
    targets = {a.target for a in alerts}
    where: tuple[Piece, ...] = (Untrusted(host_of(next(iter(targets)))),) if len(targets) == 1 else ("several targets",)
    if findings == total:
        title: tuple[Piece, ...] = (f"{total} new findings on ", *where, f": {counts_text(severities)}")
    else:
        others = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(by_kind.items()) if k != "finding")
        title = (f"{total} alerts on ", *where, ": ",
                 f"{findings} new findings ({counts_text(severities)}), " if findings else "", others)
    lines: list[tuple[Piece, ...]] = []
    for a in alerts:
        head = f"[{a.severity}] " if a.kind == "finding" else f"[{a.kind.replace('_', ' ')}] "
        extra = (" (", *triage(a), ")") if triage(a) else ()
        lines.append(("• ", head, Untrusted(a.title or a.detail), *extra, " — ", *scan_label(a)))
    if total > len(alerts):
        lines.append((f"… and {total - len(alerts)} more",))
    scans = {a.scan_id for a in alerts}
    more = links.scan(next(iter(scans))) if len(scans) == 1 else links.page("/vulnerabilities")
    if more:
        lines.append(tuple(_join(more)))
    worst = "failure" if severities.get("critical") or severities.get("high") else "warning"
    return Message(title, tuple(lines), worst)

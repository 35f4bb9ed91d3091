"""Text for pages: untrusted text made inert, times and durations, icons."""
from __future__ import annotations

import html
import re
from datetime import datetime
from typing import Any

FIRE, BELL, WARN = ":material/local_fire_department:", ":material/notifications:", ":material/warning:"
TYPE_ICONS = {"success": ":material/check_circle:", "error": ":material/error:",
              "warning": ":material/warning:", "info": ":material/info:"}


def type_icon(kind: str) -> str:
    return TYPE_ICONS.get(kind, TYPE_ICONS["info"])


_PUNCTUATION = re.compile(r"[!-/:-@\[-`{-~]")
# Streamlit links bare URLs and e-mail addresses after parsing, whatever the escaping; an
# invisible word joiner inside "://", "www." and "@" keeps them from being recognised.
_AUTOLINK = re.compile(r"(?<=:)(?=//)|(?<=www)(?=\.)|(?<=@)", re.IGNORECASE)
JOINER = "\u2060"


def literal(text: Any, limit: int = 300) -> str:
    """Untrusted text for a Streamlit parameter that parses markdown (toasts, markdown, labels,
    progress text). Every ASCII punctuation character becomes a numeric character reference:
    markdown never reads a reference as syntax, so `**x**`, links, images, HTML, `:color[...]`
    directives and autolinked URLs (`https://`, `www.`, `a@b.c`) all show as the characters they
    are. URLs and addresses also get an invisible word joiner (`JOINER`), as Streamlit links them
    after parsing; tables and exports keep the exact text. One line, bounded."""
    text = " ".join(str(text).split())
    if len(text) > limit:
        text = text[:limit] + "…"
    text = _AUTOLINK.sub(JOINER, text)
    return _PUNCTUATION.sub(lambda m: f"&#{ord(m.group())};", text)


def plotly_text(text: Any) -> str:
    """Untrusted text for plotly labels and hover, which render a subset of HTML."""
    return html.escape(str(text))


def ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min ago"
    return f"{seconds // 86400} d ago"


def span(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def clock(epoch: float | None) -> str:
    return "" if epoch is None else datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S")

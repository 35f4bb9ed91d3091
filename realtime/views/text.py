"""Text for pages: untrusted text made inert, times and durations, icons."""
from __future__ import annotations

import html
import re
import unicodedata
from typing import Any

FIRE, BELL, WARN = ":material/local_fire_department:", ":material/notifications:", ":material/warning:"
TYPE_ICONS = {"success": ":material/check_circle:", "error": ":material/error:",
              "warning": ":material/warning:", "info": ":material/info:"}


def type_icon(kind: str) -> str:
    return TYPE_ICONS.get(kind, TYPE_ICONS["info"])


_PUNCTUATION = re.compile(r"[!-/:-@\[-`{-~]")
# Streamlit links bare URLs and e-mail addresses, and replaces emoji and icon shortcodes
# (`:smile:`, `:material/home:`), after parsing, whatever the escaping, but never inside a code
# span: such words are shown as code, exactly as they are. Nothing invisible is added, so copied
# text is the text (a copied URL is the URL).
_AS_CODE = re.compile(r"://|www\.|@|:[\w+-]+(?:/[\w-]+)?:", re.IGNORECASE)


def visible(text: str) -> str:
    """Format characters (directional overrides and isolates, zero-width characters) shown as
    what they are, e.g. `<U+202E>`: invisible, they could reorder or hide the text around them."""
    if text.isascii():  # every format character is beyond ASCII: the common case costs one scan
        return text
    return "".join(f"<U+{ord(c):04X}>" if unicodedata.category(c) == "Cf" else c for c in text)


def code_span(word: str) -> str:
    fence = "`" * (max((len(run) for run in re.findall(r"`+", word)), default=0) + 1)
    return f"{fence} {word} {fence}" if word.startswith("`") or word.endswith("`") else f"{fence}{word}{fence}"


def literal(text: Any, limit: int = 300) -> str:
    """Untrusted text (ids included) for any Streamlit element that parses markdown (titles,
    captions, toasts, labels, progress text, alerts). Every ASCII punctuation character becomes
    a numeric character reference: markdown never reads a reference as syntax, so `**x**`, `__x__`,
    links, images, HTML, `$math$` and `:color[...]` directives show as the characters they are.
    Words Streamlit would link or replace (URLs, `www.`, e-mail addresses, shortcodes) become code
    spans, and format characters are shown as `<U+XXXX>`. Nothing invisible is added: text copied
    from the page is the text.
    Exports keep the exact text. One line, bounded."""
    words = one_line(text, limit).split(" ")
    return " ".join(code_span(word) if _AS_CODE.search(word) else
                    _PUNCTUATION.sub(lambda m: f"&#{ord(m.group())};", word) for word in words)


def one_line(text: Any, limit: int = 300) -> str:
    """Untrusted text as one bounded line with its format characters visible: for a page's own
    script to put in the DOM as text (a change notice's preview), and under `literal`."""
    text = " ".join(visible(str(text)).split())
    return text[:limit] + "…" if len(text) > limit else text


def plotly_text(text: Any) -> str:
    """Untrusted text for plotly labels and hover, which render a subset of HTML."""
    return html.escape(visible(str(text)))


def shown(value: Any) -> Any:
    """A table cell as shown on screen: text with its format characters visible (a U+202E would
    reverse the cell, e.g. `gpj.exe` read as `exe.jpg`); other values as they are."""
    return visible(value) if isinstance(value, str) else value


def plural(count: int, noun: str) -> str:
    """"1 scan", "2 scans", "1,000 findings"."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


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

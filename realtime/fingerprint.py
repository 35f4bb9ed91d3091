"""Finding identity: the fingerprint that says a finding is the same one, scan after scan.

The recipe (docs/protocol.md, "Finding identity"): a producer's own `fingerprint` when it sends
one; the adapters send theirs (`of("nuclei", template id, matched-at, matcher name, *extracted
values)`, `of("nmap", host address, protocol, port, script id, ...)`, `of("sarif", rule id,
location)`); otherwise the gateway derives one with `derive(scan target, title, url)`:
`of("derived", host, title, location)` where

- host: the finding URL's host (else the scan target's), lower case, with its port unless it is
  the scheme's default (http 80, https 443);
- location: the URL's path, then `?` and the query's parameter names, sorted and without their
  values (values are often volatile: timestamps, session ids, cache busters); "" without a URL.

`of(*parts)` is "fp-" and the first 32 hex digits of SHA-256 over the parts joined by U+001F.
"""
from __future__ import annotations

import functools
import hashlib
import re
from urllib.parse import unquote_plus

PREFIX = "fp-"
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21, "ssh": 22}


def of(*parts: object) -> str:
    """The fingerprint of these parts (None counts as empty)."""
    return PREFIX + digest("\x1f".join("" if part is None else str(part) for part in parts)).hex()


def digest(text: str) -> bytes:
    """The fingerprint's 32 hex digits as 16 bytes."""
    return hashlib.sha256(text.encode("utf-8", "replace")).digest()[:16]


# scheme, host ([IPv6] or name), port, path, query of `scheme://user@host:port/path?query#fragment`
URL = re.compile(r"(?:([A-Za-z][A-Za-z0-9+.-]*):)?//(?:[^@/?#]*@)?(\[[^\]/?#]*\]|[^:/?#]*)(?::([^/?#]*))?([^?#]*)"
                 r"(?:\?([^#]*))?")

# scheme (lower case), host (lower case, without IPv6 brackets), port, path, query; a plain tuple
# (a NamedTuple costs more to make, on every finding)
Parts = tuple[str, str, int | None, str, str]


def _split(text: str) -> Parts | None:
    """A URL's parts (`host:port` and bare host names read as hosts); None when its port is not a
    port. (One regular expression: urlsplit costs several times more, on every finding.)"""
    text = text.strip()
    found = URL.match(text if "://" in text else "//" + text)
    if found is None:
        return None
    scheme, name, port, path, query = found.groups()
    number = _port(port) if port else None
    if port and number is None:
        return None
    return (scheme or "").lower(), name.strip("[]").lower(), number, path, query or ""


def _port(text: str) -> int | None:
    """A port's number (digits of any script, as int reads them), or None when it is not one."""
    if not text.isdigit():
        return None
    try:
        number = int(text)
    except ValueError:  # a digit int does not read ("²"), or more digits than int reads at all
        return None
    return number if number <= 65535 else None


def _host(parts: Parts | None) -> str:
    if parts is None or not parts[1]:
        return ""
    port = parts[2]
    return parts[1] if port is None or port == DEFAULT_PORTS.get(parts[0]) else f"{parts[1]}:{port}"


def _location(parts: Parts | None, url: str) -> str:
    if parts is None:
        return url.strip()
    return (parts[3] or "/") + (_names(parts[4]) if parts[4] else "")


# A scan's URLs share few query strings (its session id, `?page=2`, one fuzzed parameter set):
# their names are looked up rather than split, decoded and sorted again, on every finding.
@functools.lru_cache(maxsize=512)
def _names(query: str) -> str:
    """`?` and the query's parameter names, sorted, without their values ("" when none)."""
    names = {pair.partition("=")[0] for pair in query.split("&")}  # what precedes "=" in each pair
    if "%" in query or "+" in query:  # most need no decoding
        names = {unquote_plus(name) for name in names}
    names.discard("")
    return "?" + "&".join(sorted(names)) if names else ""


def host(text: str | None) -> str:
    """`text`'s host, lower case, with a port that is not its scheme's default ("" when none)."""
    return _host(_split(text or ""))


def location(url: str | None) -> str:
    """The URL's path and its sorted query parameter names, without their values."""
    return _location(_split(url or ""), url or "")


def derive(target: str | None, title: str, url: str | None) -> str:
    """The gateway's fingerprint for a finding its producer did not fingerprint."""
    return PREFIX + derived(target, title, url).hex()


def derived(target: str | None, title: str, url: str | None) -> bytes:
    """`derive`'s fingerprint as 16 bytes (what the registry keeps)."""
    parts = _split(url) if url else None
    where = _host(parts) or host(target)
    return digest(f"derived\x1f{where}\x1f{title.strip()}\x1f{_location(parts, url) if url else ''}")  # = of(...)


def same_target(target: str | None) -> str:
    """A scan target normalised for "same target": host as `host()`, scheme lower case, path
    without its trailing slash (`https://Shop.example.com:443/` is `https://shop.example.com`)."""
    text = (target or "").strip()
    parts = _split(text)
    if parts is None or not parts[1]:
        return text.lower()
    scheme, path, query = parts[0] + "://" if "://" in text else "", parts[3], parts[4]
    return scheme + _host(parts) + path.rstrip("/") + ("?" + query if query else "")

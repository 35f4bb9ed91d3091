"""Which browser origins may talk to the gateway (sockets and HTTP).

A browser sends `Origin` with every WebSocket handshake and cross-site request; scanners and
Python clients send none, and nothing is refused for lacking one. With tokens, the origins in
BUGHUNT_CORS_ORIGINS are allowed, and without any, only the gateway's own (same origin). In open
mode — no secret, every loopback peer is an admin — a page from any other site in a browser on
this machine would be an admin too, so only the listed origins are allowed, and the gateway's own
when it is addressed by a loopback address (some non-browser clients send it; the gateway serves no
page, and a DNS-rebound name is no loopback address).
"""
from __future__ import annotations

from urllib.parse import urlsplit

from realtime.auth import is_loopback


class Origins:
    def __init__(self, listed: str, open_mode: bool):
        self.listed = {o.strip().rstrip("/") for o in listed.split(",") if o.strip()}
        self.open_mode = open_mode

    def allowed(self, origin: str | None, environ: dict | None = None) -> bool:
        """python-socketio's `cors_allowed_origins` callable (also used for HTTP requests)."""
        if origin is None:
            return True
        if "*" in self.listed and not self.open_mode:
            return True
        if origin in self.listed:
            return True
        own = own_origin(environ or {})
        if self.open_mode:
            return origin == own and is_loopback(urlsplit(own).hostname)
        return not self.listed and origin == own


def own_origin(environ: dict) -> str | None:
    host = environ.get("HTTP_HOST")
    return f"{environ.get('wsgi.url_scheme', 'http')}://{host}" if host else None

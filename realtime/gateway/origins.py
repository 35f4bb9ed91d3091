"""Which browser origins may talk to the gateway (sockets and HTTP).

A browser sends `Origin` with every WebSocket handshake and cross-site request; scanners and
Python clients send none, and nothing is refused for lacking one. With tokens, the origins in
BUGHUNT_CORS_ORIGINS are allowed, and without any, only the gateway's own (same origin). In open
mode — no secret, every loopback peer is an admin — a page from any other site in a browser on
this machine would be an admin too, so only the listed origins are allowed: none by default.
"""
from __future__ import annotations


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
        return not self.open_mode and not self.listed and origin == own_origin(environ or {})


def own_origin(environ: dict) -> str | None:
    host = environ.get("HTTP_HOST")
    return f"{environ.get('wsgi.url_scheme', 'http')}://{host}" if host else None

"""The dashboard's guard in front of Streamlit (app.py serves the dashboard through `st.App`
with this middleware): no page of it may be framed by another site, and its WebSocket accepts
browsers from its own origin only (Streamlit itself accepts any localhost origin, any port).
What a tab sends on Streamlit's socket never puts a traceback in the log. Plain ASGI: no
Streamlit here."""
from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

FRAMING = [(b"x-frame-options", b"DENY"), (b"content-security-policy", b"frame-ancestors 'none'")]
STREAM = "/_stcore/stream"  # Streamlit's socket to each tab
log = logging.getLogger("bughunt.guard")


class DashboardGuard:
    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "websocket" and not same_origin(dict(scope.get("headers", []))):
            await send({"type": "websocket.close", "code": 1008})  # before accept: refused (HTTP 403)
            return
        if scope["type"] == "websocket" and scope["path"].endswith(STREAM):
            return await self.tab_socket(scope, receive, send)
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def framed(message: dict) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *FRAMING]}
            await send(message)

        await self.app(scope, receive, framed)

    async def tab_socket(self, scope: dict, receive: Any, send: Any) -> None:
        """Streamlit's socket raises, traceback and all, on a text frame (KeyError) or on a socket
        closed as it reads (its TypeError "text frames are not supported"): a text frame closes
        the socket (1003, unsupported data) and either is one line in the log."""
        async def binary_only() -> dict:
            message = await receive()
            if message["type"] == "websocket.receive" and message.get("bytes") is None:
                log.warning("a tab sent a text frame on Streamlit's socket: closed (1003)")
                await send({"type": "websocket.close", "code": 1003})
                return {"type": "websocket.disconnect", "code": 1003}
            return message

        try:
            await self.app(scope, binary_only, send)
        except TypeError as exc:
            if "text frames are not supported" not in str(exc):
                raise
            log.warning("a tab's Streamlit socket closed as it was read")


def same_origin(headers: dict[bytes, bytes]) -> bool:
    """No Origin (not a browser), or an Origin naming the host the request was sent to."""
    origin = headers.get(b"origin")
    if origin is None:
        return True
    return urlsplit(origin.decode("latin-1")).netloc == headers.get(b"host", b"").decode("latin-1")

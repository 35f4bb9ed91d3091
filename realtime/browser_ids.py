"""Browser ids handed to the dashboard by a request of their own. A tab's first run gives its
browser a ticket (realtime/viewer.py); the browser posts `{"ticket": …, "id": …}` to PATH (served
by app.py's `st.App`); the tab's next run takes the id. No rerun is asked for: a rerun asked for in
a page's first moment carries the page the browser showed before, and undid a page the viewer had
just chosen. Plain Starlette: no Streamlit here."""
from __future__ import annotations

import json
import re
import threading
import time
from collections import OrderedDict

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from realtime.guard import same_origin

PATH = "/_bughunt/viewer"
ROUTE = "/{base:path}_bughunt/viewer"  # under any base path (server.baseUrlPath, a proxy's prefix)
HEX32 = re.compile(r"[0-9a-f]{32}")
MAX_BODY = 256  # bytes: a ticket and an id are 32 characters each
PENDING = 10_000  # ids come and not yet taken (a tab takes its own within a refresh); oldest go first
KEEP = 300.0  # seconds an id waits for its tab


class BrowserIds:
    def __init__(self, pending: int = PENDING, keep: float = KEEP):
        self.pending, self.keep = pending, keep
        self._came: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._lock = threading.Lock()  # the route runs on the server's loop, takes on script threads

    def put(self, ticket: str, browser_id: str, now: float | None = None) -> None:
        """`browser_id` "" says the browser keeps no id (no localStorage): the tab keeps its own."""
        now = time.time() if now is None else now
        with self._lock:
            self._came[ticket] = (browser_id, now)
            self._came.move_to_end(ticket)
            while self._came and (len(self._came) > self.pending or self._oldest() < now - self.keep):
                self._came.popitem(last=False)

    def _oldest(self) -> float:
        return next(iter(self._came.values()))[1]

    def take(self, ticket: str) -> str | None:
        """The id the browser sent for this ticket (once), or None while none came."""
        with self._lock:
            came = self._came.pop(ticket, None)
        return None if came is None else came[0]

    async def receive(self, request: Request) -> Response:
        if not same_origin(dict(request.headers.raw)):
            return JSONResponse({"error": "another site's page may not send a browser id"}, status_code=403)
        body = await request.body()
        if len(body) > MAX_BODY:
            return JSONResponse({"error": f"body over {MAX_BODY} bytes"}, status_code=413)
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        if not isinstance(doc, dict) or not _hex32(doc.get("ticket")) or not (doc.get("id") == "" or _hex32(doc["id"])):
            return JSONResponse({"error": "expected {\"ticket\": 32 hex digits, \"id\": 32 hex digits or \"\"}"},
                                status_code=400)
        self.put(doc["ticket"], doc["id"])
        return Response(status_code=204)


def _hex32(value: object) -> bool:
    return isinstance(value, str) and HEX32.fullmatch(value) is not None


BROWSER_IDS = BrowserIds()  # the process's: app.py routes to it, the tabs' runs take from it

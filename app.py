"""Bug Hunt Monitor — `streamlit run app.py`.

Streamlit finds `app` here and serves the dashboard (dashboard_app.py) behind realtime.guard:
no framing by other sites, WebSocket from the dashboard's own origin only; the route where
browsers post their viewer id (realtime/browser_ids.py); and the change socket that tells tabs
when to rerun (realtime/push.py). Run as a script
(e.g. by Streamlit's AppTest), this file runs the dashboard itself."""
import asyncio
import runpy
from contextlib import asynccontextmanager
from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware
from starlette.routing import Route, WebSocketRoute

from realtime import bridge, changes, push
from realtime.browser_ids import BROWSER_IDS, ROUTE
from realtime.guard import DashboardGuard

DASHBOARD = Path(__file__).with_name("dashboard_app.py")



@asynccontextmanager
async def lifespan(_app):
    """On SIGTERM uvicorn shuts the app down, then re-raises the signal, so atexit never runs:
    close the runtime here (commits the journal's queue, stops the demo gateway)."""
    yield
    await push.FEED.stop()
    await asyncio.to_thread(bridge.shut_down)


async def viewer_id(request):
    """A browser's id came (realtime/browser_ids.py): the areas showing read flags rerun to show
    whose they are, as nothing else may rerun them for a while with push."""
    response = await BROWSER_IDS.receive(request)
    if response.status_code == 204:
        push.FEED.touch(changes.NOTIFICATIONS)
    return response


if __name__ == "__main__":
    runpy.run_path(str(DASHBOARD), run_name="__main__")
else:
    app = st.App(str(DASHBOARD), lifespan=lifespan, middleware=[Middleware(DashboardGuard)],
                 routes=[Route(ROUTE, viewer_id, methods=["POST"]),  # browsers' ids (realtime/viewer.py)
                         WebSocketRoute(push.PATH, push.FEED.socket)])  # the change socket

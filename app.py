"""Bug Hunt Monitor — `streamlit run app.py`.

Streamlit finds `app` here and serves the dashboard (dashboard_app.py) behind realtime.guard:
no framing by other sites, WebSocket from the dashboard's own origin only; and the route where
browsers post their viewer id (realtime/browser_ids.py). Run as a script
(e.g. by Streamlit's AppTest), this file runs the dashboard itself."""
import asyncio
import runpy
from contextlib import asynccontextmanager
from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware
from starlette.routing import Route

from realtime import bridge
from realtime.browser_ids import BROWSER_IDS, ROUTE
from realtime.guard import DashboardGuard

DASHBOARD = Path(__file__).with_name("dashboard_app.py")



@asynccontextmanager
async def lifespan(_app):
    """On SIGTERM uvicorn shuts the app down, then re-raises the signal, so atexit never runs:
    close the runtime here (commits the journal's queue, stops the demo gateway)."""
    yield
    await asyncio.to_thread(bridge.runtime.clear)


if __name__ == "__main__":
    runpy.run_path(str(DASHBOARD), run_name="__main__")
else:
    app = st.App(str(DASHBOARD), lifespan=lifespan, middleware=[Middleware(DashboardGuard)],
                 routes=[Route(ROUTE, BROWSER_IDS.receive, methods=["POST"])])  # browsers' ids (realtime/viewer.py)

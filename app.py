"""Bug Hunt Monitor — `streamlit run app.py`.

Streamlit finds `app` here and serves the dashboard (dashboard_app.py) behind realtime.guard:
no framing by other sites, WebSocket from the dashboard's own origin only; and the change route
that tells tabs when to rerun (realtime/push.py). Run as a script
(e.g. by Streamlit's AppTest), this file runs the dashboard itself."""
import runpy
from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware
from starlette.routing import Route

from realtime import push
from realtime.guard import DashboardGuard

DASHBOARD = Path(__file__).with_name("dashboard_app.py")

if __name__ == "__main__":
    runpy.run_path(str(DASHBOARD), run_name="__main__")
else:
    app = st.App(str(DASHBOARD), routes=[Route(push.PATH, push.FEED.endpoint)],  # live areas' change route
                 middleware=[Middleware(DashboardGuard)])

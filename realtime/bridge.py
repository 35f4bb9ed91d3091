"""The one module of `realtime/` that knows Streamlit: one process-wide runtime (settings, store,
client, and in demo mode an in-process gateway), shared by every session and rerun."""
from __future__ import annotations

import atexit
import dataclasses
import gc
import logging
import os
from collections.abc import Mapping
from typing import Any

import streamlit as st

from realtime import debug, troubleshoot
from realtime.auth import Authenticator, AuthError, load_secret
from realtime.client import RealtimeClient
from realtime.gateway import RunningGateway, start_in_thread
from realtime.journal import Journal
from realtime.leases import RoomLeases
from realtime.options import (
    ClientOptions,
    DashboardOptions,
    DebugOptions,
    GatewayOptions,
    JournalOptions,
    StoreOptions,
    from_env,
)
from realtime.store import EventStore, Snapshot

log = logging.getLogger("bughunt.dashboard")


@dataclasses.dataclass
class Runtime:
    settings: DashboardOptions
    store: EventStore
    client: RealtimeClient
    leases: RoomLeases
    demo: RunningGateway | None
    journal: Journal | None
    error: str | None = None  # a setting that could not be read, shown instead of a traceback

    def snapshot(self) -> Snapshot:
        """The store as viewers share it: at most `snapshot_interval` seconds behind."""
        return self.store.snapshot(max_age=self.settings.snapshot_interval)


def take_routing() -> None:
    """Let app.py's st.navigation route every run, despite the `pages/` folder.

    A `pages/` folder next to app.py makes a fresh Streamlit server route by folder (its old
    multipage mode) until some run calls st.navigation: a first visit straight to /scans would
    run pages/scans.py alone, without app.py's sidebar. Streamlit keeps that choice in one
    process-wide flag; clearing it and rerunning hands routing to app.py from then on."""
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without the old mode: nothing to do
        return
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def _environment() -> Mapping[str, str]:
    """Settings from `.streamlit/secrets.toml` (top-level keys), overridden by the environment."""
    try:
        secrets = {k: str(v) for k, v in st.secrets.items() if k.startswith("BUGHUNT_")}
    except Exception:  # noqa: BLE001 - no secrets file is the normal case
        secrets = {}
    return {**secrets, **os.environ}


@st.cache_resource(show_spinner=False)
def runtime() -> Runtime:
    env = _environment()
    error = None
    try:
        settings = from_env(DashboardOptions, env)
        store_options, client_options = from_env(StoreOptions, env), from_env(ClientOptions, env)
        journal_options, debug_options = from_env(JournalOptions, env), from_env(DebugOptions, env)
    except ValueError as exc:
        error = f"Ignored a setting: {exc}. Using defaults."
        settings, store_options, client_options = DashboardOptions(), StoreOptions(), ClientOptions()
        journal_options, debug_options = JournalOptions(), DebugOptions()
    debug.configure(debug_options)
    journal = None if journal_options.path == ":memory:" else Journal(journal_options.path, journal_options)
    store = EventStore(store_options, journal)
    if journal is not None:
        count = journal.replay(store)  # scans, findings and read flags from before a restart
        log.info("replayed %d events from %s", count, journal.path)
        atexit.register(journal.close)  # commits what is still queued
        # What the replay built lives long: keep it out of every later full collection.
        gc.collect()
        gc.freeze()
    client = RealtimeClient(store, client_options)
    demo = None
    url = settings.ws_url
    if not url:
        try:  # BUGHUNT_DEMO_* settings shape the embedded demo too
            gateway_options = from_env(GatewayOptions, env, host="127.0.0.1", port=0, demo=True)
        except ValueError as exc:
            error = f"Ignored a setting: {exc}. Using defaults."
            gateway_options = GatewayOptions(host="127.0.0.1", port=0, demo=True)
        demo = start_in_thread(gateway_options)
        url = demo.url
        atexit.register(demo.stop)
    if settings.user_id:
        client.join_room(f"user_{settings.user_id}")
    token = settings.ws_token
    if not token and demo is not None and authenticator() is not None:
        token = authenticator().mint("dashboard", "viewer")  # our own demo gateway, same secret
    client.connect(url, auth={"token": token} if token else None)
    leases = RoomLeases(client.join_room, client.leave_room, ttl=max(10.0, 5 * settings.refresh_seconds))
    leases.start_janitor()
    return Runtime(settings, store, client, leases, demo, journal, error)


@st.cache_data(ttl=5, show_spinner=False)
def probe(url: str | None) -> troubleshoot.Probe:
    """Whether the gateway answers, asked at most every 5 s however many tabs look."""
    return troubleshoot.probe(url)


def authenticator() -> Authenticator | None:
    """The token checker when the dashboard shares the gateway's secret (for share links)."""
    try:
        secret = load_secret(os.environ.get("BUGHUNT_SECRET_FILE", ""), _environment())
        return Authenticator(secret) if secret else None
    except (ValueError, OSError) as exc:
        log.warning("no share links: %s", exc)
        return None


def shared_scan() -> tuple[str | None, str | None]:
    """For a share link (`?id=…&token=…`): (scan id, None) when the token lets its holder see
    that scan, (None, why not) when it does not; (None, None) when this is no share link."""
    token, scan_id = st.query_params.get("token"), st.query_params.get("id", "")
    if not token:
        return None, None
    auth = authenticator()
    if auth is None:
        return None, "This dashboard cannot check share links (no secret configured)."
    try:
        identity = auth.identify(token, None)
    except AuthError as exc:
        return None, f"This link does not work: {exc.reason}."
    if not identity.can_view or not identity.scoped or scan_id not in identity.scans:
        return None, "This link is not for this scan."
    return scan_id, None


def login_required() -> bool:
    """Streamlit's own OIDC login guards the dashboard when `[auth]` is in secrets.toml."""
    try:
        configured = "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file
        configured = False
    return configured and not getattr(st.user, "is_logged_in", False)


def cursor(key: str, start: Any) -> Any:
    """Per-session value (e.g. the toast cursor), created on first use."""
    if key not in st.session_state:
        st.session_state[key] = start
    return st.session_state[key]

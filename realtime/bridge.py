"""The one module of `realtime/` that knows Streamlit: one process-wide runtime (settings, store,
client, and in demo mode an in-process gateway), shared by every session and rerun."""
from __future__ import annotations

import atexit
import contextlib
import dataclasses
import gc
import logging
import os
import secrets
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import streamlit as st

from realtime import changes, debug, push, troubleshoot, views
from realtime.auth import Authenticator, AuthError, for_gateway, load_secret
from realtime.client import RealtimeClient
from realtime.gateway import RunningGateway, start_in_thread
from realtime.journal import Journal
from realtime.journal_files import journal_path, open_replayed
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
from realtime.readstate import ReadState
from realtime.store import EventStore, Snapshot

log = logging.getLogger("bughunt.dashboard")


@dataclasses.dataclass
class Runtime:
    settings: DashboardOptions
    store: EventStore
    client: RealtimeClient
    leases: RoomLeases
    journal: Journal | None
    demo_options: GatewayOptions | None  # demo mode: the gateway to start in this process
    secret: str | None = None  # the gateway's token secret, when the dashboard has it (always in demo mode)
    error: str | None = None  # a setting that could not be read, shown instead of a traceback
    demo: RunningGateway | None = None  # the demo gateway, once started
    journal_notice: str | None = None  # a journal that could not be used at start (moved aside, ...)
    reads: ReadState = dataclasses.field(default_factory=ReadState)  # read flags per viewer

    def journal_problems(self) -> list[str]:
        """What the journal cannot do, for the sidebar and Live events (empty: all is well)."""
        failure = self.journal.failure if self.journal is not None else None
        return [p for p in (self.journal_notice, failure and f"Journal: {failure}.") if p]

    def snapshot(self) -> Snapshot:
        """The store as viewers share it: at most `snapshot_interval` seconds behind."""
        return self.store.snapshot(max_age=self.settings.snapshot_interval)

    def start(self) -> Runtime:
        """Start the background parts: journal writer, demo gateway, client (connecting), leases."""
        if self.journal is not None:
            self.journal.start()
        url, token = self.settings.ws_url, self.settings.ws_token
        if self.demo_options is not None:
            self.demo = start_in_thread(self.demo_options, self.secret)
            url = self.demo.url
            if not token:  # our own demo gateway: a token of our own, for as long as it runs
                token = Authenticator(self.secret).mint(self.settings.user_id or "dashboard", "viewer", ttl=None,
                                                       start_scans=True)  # simulated scans
        self.client.start()
        self.client.connect(url, auth={"token": token} if token else None)
        self.leases.start()
        return self

    def close(self) -> None:
        """Stop everything this runtime started; safe to call twice. Each part is stopped though
        another failed (a client slow to stop on a loaded machine raised, and the journal was
        left uncommitted); the first failure is raised after."""
        with contextlib.ExitStack() as parts:  # run last to first
            if self.journal is not None:
                parts.callback(self.journal.close)  # commits what is still queued
            if self.demo is not None:
                parts.callback(self.demo.stop)
            parts.callback(self.client.close)
            parts.callback(self.leases.stop)


# ---- session state: every key a page keeps, named once ---------------------------------------

REFRESH = "refresh"  # this tab's refresh interval (the sidebar slider)
READ_ONLY = "read_only"  # this tab opened a share link: one scan, no actions
SCAN_PAGE = "scan_page"  # the page objects that links lead to (see linked_page)
FINDING_PAGE = "finding_page"
TARGET_PAGE = "target_page"
TOAST_CURSOR = "toast_cursor"  # EventRecord.index this tab has toasted up to
EVENTS_FROZEN = "events_frozen"  # the snapshot the Live events page shows while paused
MARKED = "marked"  # this tab marked notifications read: the sidebar's count follows at once
RECONNECT_OUTCOME = "reconnect_outcome"  # (when, text): what this tab's last *Reconnect now* achieved
DEMO_TOKEN = "demo_token"  # a producer token for this tab's teaching commands, in demo mode
REROUTED = "rerouted"  # a page asked Streamlit to route through app.py (see take_routing)


def refresh_seconds() -> float:
    """How often this tab's live areas rerun."""
    return st.session_state.get(REFRESH, 1.0)


def chart_seconds(rt: Runtime) -> float:
    """How often this tab's summary charts rerun: never more often than its live areas."""
    return max(rt.settings.chart_seconds, refresh_seconds())


def read_only() -> bool:
    return bool(st.session_state.get(READ_ONLY))


def live(*kinds: str, **options: Any) -> Any:
    """The decorator of a page's live area: reruns on change (push) or every refresh (see
    realtime/live.py's `fragment`, with its options; that module imports this one)."""
    from realtime import live as areas

    return areas.fragment(*kinds, **options)


def live_note(rt: Runtime, refresh: float) -> str:
    """How this tab's live areas update with push off, for the connection panel (with push: "")."""
    from realtime import live as areas

    return areas.mode_note(rt.settings.push, refresh)


# ---- pages and routing -----------------------------------------------------------------------

PAGES = Path(__file__).resolve().parent.parent / "pages"  # absolute: a page run alone (AppTest) links too
LINKED_PAGES = {  # session key → the page: the pages links lead to
    SCAN_PAGE: dict(page=PAGES / "scan.py", title="Scan detail", icon=":material/troubleshoot:", url_path="scan"),
    TARGET_PAGE: dict(page=PAGES / "target.py", title="Targets", icon=":material/language:", url_path="target"),
    # reached from a finding's link only: without one it has nothing to show
    FINDING_PAGE: dict(page=PAGES / "finding.py", title="Finding", icon=":material/bug_report:", url_path="finding",
                       visibility="hidden"),
}


def linked_page(key: str) -> st.Page:
    """A page that links lead to; one object per session, as links made from it skip a
    file-system lookup per link per tick."""
    if key not in st.session_state:
        st.session_state[key] = st.Page(**LINKED_PAGES[key])
    return st.session_state[key]


def scan_page() -> st.Page:
    return linked_page(SCAN_PAGE)


def finding_page() -> st.Page:
    return linked_page(FINDING_PAGE)


def target_page() -> st.Page:
    return linked_page(TARGET_PAGE)


def app_pages() -> list[st.Page]:
    """The dashboard's pages, in navigation order (files in `pages/`). The unread count is the
    sidebar's, not the navigation's: a label changes only with a rerun of the whole app, which
    would cost every tab a full rerun per notification and drop a download button's file as the
    viewer clicks it."""
    return [
        st.Page("pages/dashboard.py", title="Dashboard", icon=":material/dashboard:", default=True),
        st.Page("pages/scans.py", title="Scans", icon=":material/radar:", url_path="scans"),
        scan_page(),
        target_page(),
        st.Page("pages/vulnerabilities.py", title="Vulnerabilities", icon=":material/bug_report:",
                url_path="vulnerabilities"),
        finding_page(),
        st.Page("pages/notifications.py", title="Notifications",
                icon=":material/notifications:", url_path="notifications"),
        st.Page("pages/events.py", title="Live events", icon=":material/sensors:", url_path="events"),
    ]


def shared_pages() -> list[st.Page]:
    """A share link's navigation: the Scan page at /scan (where its links point), and a main page
    that sends an older link (`/?id=…&token=…`) there."""
    return [st.Page(to_shared_scan, title="Shared scan", default=True),
            st.Page("pages/scan.py", title="Scan", url_path="scan")]


def to_shared_scan() -> None:
    st.switch_page("pages/scan.py", query_params=st.query_params.to_dict())


_routing = threading.local()  # `by_app` is True while app.py's navigation runs a page


def run_page(page: Any) -> None:
    """app.py runs the page its st.navigation chose through here, so the page knows it was routed."""
    _routing.by_app = True
    st.session_state.pop(REROUTED, None)
    try:
        page.run()
    finally:
        _routing.by_app = False


def take_routing() -> None:
    """Every page calls this first: it makes app.py (settings, sidebar, toasts) route every run,
    despite the `pages/` folder the project keeps its pages in.

    A `pages/` folder next to app.py makes a fresh Streamlit server route by folder (its legacy
    multipage mode) until some run calls st.navigation: a first visit straight to /scans runs
    pages/scans.py alone, without app.py. A page that finds itself run that way calls
    st.navigation (which turns folder routing off for the whole process) and reruns, now through
    app.py. Once per session at most, so a page run on its own can never loop."""
    if getattr(_routing, "by_app", False) or st.session_state.get(REROUTED):
        return
    st.session_state[REROUTED] = True
    st.navigation(app_pages(), position="hidden")
    st.rerun()


def _environment() -> Mapping[str, str]:
    """Settings from `.streamlit/secrets.toml` (top-level keys), overridden by the environment."""
    try:
        secrets = {k: str(v) for k, v in st.secrets.items() if k.startswith("BUGHUNT_")}
    except Exception:  # noqa: BLE001 - no secrets file is the normal case
        secrets = {}
    return {**secrets, **os.environ}


SHUT_DOWN = threading.Event()  # the process stops: no runtime is built again
BUILDING = threading.Lock()  # held while runtime() builds and starts one
BUILT: list[Runtime] = []  # the runtime built last, as shut_down must close it itself


def shut_down() -> None:
    """Close the runtime for good (app.py's lifespan, as the process stops). Sessions live on
    until Streamlit stops after it: a run still under way must not build a new runtime, whose
    journal nothing would close. A runtime being built is waited for and closed here:
    cache_resource stores a result that was under way even after `runtime.clear()`."""
    with BUILDING:
        SHUT_DOWN.set()
    runtime.clear()
    for rt in BUILT:
        rt.close()  # (again, if the clear closed it: closing is idempotent)


@st.cache_resource(show_spinner=False, on_release=Runtime.close,
                   validate=lambda _rt: not SHUT_DOWN.is_set())  # (one stored after the clear is closed)
def runtime() -> Runtime:
    """The process's runtime, built and started on first use; `runtime.clear()` closes it."""
    with BUILDING:
        if SHUT_DOWN.is_set():
            raise RuntimeError("the dashboard is shutting down")
        rt = build_runtime(_environment())
        BUILT[:] = [rt]
        # The change socket follows this store, and hears what no event tells: a viewer's read flags
        # changed (their other tabs show them), the journal stopped writing (every area shows it).
        push.FEED.attach(rt.store, rt.settings.push_min_interval, rt.settings.push_routine_interval)
        rt.reads.on_mark = lambda: push.FEED.touch(changes.NOTIFICATIONS)
        if rt.journal is not None:
            rt.journal.on_failure = lambda: push.FEED.touch(changes.OTHER)
        atexit.register(rt.close)  # commits the journal's queue, stops the demo gateway
        try:
            return rt.start()
        except BaseException:
            rt.close()
            raise


def build_runtime(env: Mapping[str, str]) -> Runtime:
    """Settings, store (replayed from the journal), client and leases, not started yet."""
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
    opened = open_replayed(journal_path(journal_options.path, settings.ws_url), journal_options, settings.ws_url,
                           lambda journal: EventStore(store_options, journal))
    journal, store = opened.journal, opened.store  # scans, findings and read flags from before a restart
    if journal is not None:
        log.info("replayed %d events from %s", opened.replayed, journal.path)
        # What the replay built lives long: keep it out of every later full collection.
        gc.collect()
        gc.freeze()
    client = RealtimeClient(store, client_options)
    demo_options, secret = None, None
    try:
        secret = load_secret(env.get("BUGHUNT_SECRET_FILE", ""), env)
    except (ValueError, OSError) as exc:
        error = f"Could not read the secret: {exc}"
    if not settings.ws_url:
        # Never open mode in here: a page of any site, in a browser on this machine, could
        # otherwise drive the embedded gateway. A secret of its own when none is configured.
        secret = secret or secrets.token_hex(32)
        try:  # BUGHUNT_DEMO_* settings shape the embedded demo too
            demo_options = from_env(GatewayOptions, env, host="127.0.0.1", port=0, demo=True)
        except ValueError as exc:
            error = f"Ignored a setting: {exc}. Using defaults."
            demo_options = GatewayOptions(host="127.0.0.1", port=0, demo=True)
    if settings.user_id:
        client.join_room(f"user_{settings.user_id}")
    # A lease outlives the longest wait between two renewals: a refresh, or with push a heartbeat.
    renewal = max(settings.refresh_seconds, settings.push_heartbeat if settings.push else 0.0)
    leases = RoomLeases(client.join_room, client.leave_room, ttl=max(10.0, 5 * settings.refresh_seconds, 2 * renewal))
    return Runtime(settings, store, client, leases, journal, demo_options, secret, error,
                   journal_notice=opened.notice, reads=ReadState(journal, settings.max_viewers))


@st.cache_data(ttl=5, show_spinner=False)
def probe(url: str | None) -> troubleshoot.Probe:
    """Whether the gateway answers, asked at most every 5 s however many tabs look."""
    return troubleshoot.probe(url)


@st.cache_data(ttl=3, show_spinner=False)
def scan_actions(scan_id: str) -> dict:
    """The gateway's `scan_actions` answer for a scan: which controls it would accept from this
    dashboard's token now. Every tab shares it (they share the token), asked at most every 3 s."""
    return runtime().client.call("scan_actions", {"scan_id": scan_id}, timeout=3)


def acting_user() -> str | None:
    """Who is acting, as Streamlit's login knows them (e-mail, else name); None without a login."""
    if not getattr(st.user, "is_logged_in", False):
        return None
    return st.user.get("email") or st.user.get("name")


def authenticator() -> Authenticator | None:
    """The token checker when the dashboard has the gateway's secret (for share links), with the
    gateway's revocation list and longest link lifetime."""
    secret = runtime().secret
    if not secret:
        return None
    try:
        return for_gateway(from_env(GatewayOptions, _environment()), secret)
    except ValueError as exc:
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


def teach(empty: views.EmptyState) -> None:
    """An empty page says why, and the one command that gives it something (in demo mode with a
    token for the demo's gateway: it has a secret of its own that nobody outside the app knows)."""
    rt = runtime()
    if rt.demo is not None and rt.secret is not None:
        if DEMO_TOKEN not in st.session_state:
            st.session_state[DEMO_TOKEN] = Authenticator(rt.secret).mint("demo-teaching", "producer", ttl=86_400)
        empty = views.with_token(empty, st.session_state[DEMO_TOKEN])
    st.info(empty.message, icon=":material/lightbulb:")
    if empty.command:
        st.code(empty.command, language="bash", wrap_lines=True)
    if empty.note:
        st.caption(empty.note)


def cursor(key: str, start: Any) -> Any:
    """Per-session value (e.g. the toast cursor), created on first use."""
    if key not in st.session_state:
        st.session_state[key] = start
    return st.session_state[key]

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

# Only the standard library and pytest at import time: `pytest tests/unit` must run before (and
# without) what tests/run.sh installs for the other layers (redis-server, node, Chromium).

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("unit", "integration", "e2e")
os.environ.setdefault("BUGHUNT_JOURNAL", ":memory:")  # tests never write to the user's data dir
# In-process pages (AppTest) show each change at once; sharing snapshots is tested on the store.
os.environ.setdefault("BUGHUNT_SNAPSHOT_INTERVAL", "0")


def pytest_collection_modifyitems(items):
    """Mark each test with its layer (its folder), so `-m unit` / `-m "not e2e"` select by layer.
    With pytest-xdist (`-n 2 --dist loadgroup`, as tests/run.sh runs it) a module's tests stay
    together (its module-scoped processes start once), and the Chromium tests run one at a time in
    one worker: two browsers and two Streamlits at once on two cores would only trade speed for
    timing noise."""
    for item in items:
        layer = Path(str(item.path)).relative_to(ROOT / "tests").parts[0]
        if layer in LAYERS:
            item.add_marker(getattr(pytest.mark, layer))
        item.add_marker(pytest.mark.xdist_group("browser" if layer == "e2e" else item.module.__name__))


def stop_process(proc: subprocess.Popen) -> None:
    from bench.procs import stop

    stop(proc)


def wait_for(predicate, timeout=10.0, interval=0.02):
    """Poll until predicate() is truthy; returns its value or fails the test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {getattr(predicate, '__name__', predicate)}")


def http(method, url, body=None, content_type="application/json", headers=None):
    """(status, decoded JSON body) of one request; errors are answers, not exceptions."""
    data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": content_type, **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


class GatewayProcess:
    """`python -m realtime.gateway` as a real process on 127.0.0.1 and a free port."""

    def __init__(self, *args: str, env: dict | None = None):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "realtime.gateway", "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
            env={**os.environ, **(env or {})})
        seen = []
        while not seen or ("listening on" not in seen[-1] and seen[-1] and len(seen) < 50):
            seen.append(self.proc.stdout.readline())  # log lines may come first (e.g. a restore)
        line = seen[-1]
        if "listening on" not in line:
            self.proc.kill()
            raise RuntimeError(f"gateway did not start: {''.join(seen)}{self.proc.stdout.read()}")
        self.url = line.split("listening on ")[1].split()[0]
        self.log: list[str] = seen
        threading.Thread(target=lambda: self.log.extend(self.proc.stdout), daemon=True).start()

    def post(self, body, content_type="application/json", token=None):
        headers = {"Authorization": f"Bearer {token}"} if token else None
        return http("POST", self.url + "/api/events", body, content_type, headers)

    def get(self, path, token=None):
        status, body = http("GET", self.url + path, headers={"Authorization": f"Bearer {token}"} if token else None)
        assert status == 200, body
        return body

    def publish(self, event, data, token=None):
        status, body = self.post({"event": event, "data": data}, token=token)
        assert status == 202, body

    def stop(self):
        stop_process(self.proc)


def tracked(make, close):
    """A fixture body: hand out `make`, then `close` everything made, whatever the test did."""
    made = []

    def factory(*args, **kwargs):
        made.append(make(*args, **kwargs))
        return made[-1]

    yield factory
    for obj in made:
        close(obj)


@pytest.fixture
def gateway_factory():
    yield from tracked(GatewayProcess, GatewayProcess.stop)


@pytest.fixture
def gateway(gateway_factory):
    return gateway_factory("--metrics-interval", "0.2")


@pytest.fixture
def server():
    from tests.sioserver import SioServer

    srv = SioServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def make_client():
    from realtime.client import RealtimeClient
    from realtime.options import ClientOptions
    from realtime.store import EventStore

    yield from tracked(lambda **options: RealtimeClient(EventStore(), ClientOptions(**options)).start(),
                       RealtimeClient.close)


@pytest.fixture
def viewers():
    from tests.viewer import Viewer

    yield from tracked(Viewer, Viewer.close)


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    """A real redis-server (Debian's package) on a free loopback port, no persistence."""
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        import redis

        wait_for(lambda: _pings(redis.Redis.from_url(url)), timeout=10)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def _pings(client):
    try:
        return client.ping()
    except Exception:  # noqa: BLE001 - not up yet
        return False


class StreamlitProcess:
    """`streamlit run app.py` as a real process on a free loopback port."""

    def __init__(self, env: dict[str, str], port: int | None = None):
        self.port = port or free_port()  # a restart on the same port is the same origin (localStorage)
        self.url = f"http://127.0.0.1:{self.port}"
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("BUGHUNT_")}
        full_env.update({"BUGHUNT_JOURNAL": ":memory:", **env})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(self.port),
             "--server.address", "127.0.0.1", "--server.headless", "true"],
            cwd=ROOT, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.log: list[str] = []
        threading.Thread(target=lambda: self.log.extend(self.proc.stdout), daemon=True).start()
        wait_for(self._healthy, timeout=30, interval=0.2)

    def _healthy(self):
        try:
            with urllib.request.urlopen(self.url + "/_stcore/health", timeout=2) as resp:
                return resp.status == 200
        except OSError:
            return False

    def stop(self):
        stop_process(self.proc)


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def run_async(coro):
    """asyncio.run in a thread of its own: Playwright's sync API keeps a loop on the main one."""
    result = {}

    def run():
        result["value"] = asyncio.run(coro)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    return result.get("value")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def contexts(browser):
    """Opens browser contexts (fresh browsers) that all close when the test ends, failed or not:
    a tab left open polls its dashboard for the rest of the worker's session."""
    opened = []

    def new_context(**options):
        opened.append(browser.new_context(**options))
        return opened[-1]

    yield new_context
    for context in opened:
        context.close()


@pytest.fixture
def page(contexts):
    return contexts(viewport={"width": 1400, "height": 1000}).new_page()


ARTIFACTS = ROOT / "test-artifacts"


# Every toast a page shows, recorded as it appears: a toast is transient, and Playwright's polling
# (every second once it backs off) can miss one that a busy tab shows briefly.
RECORD_TOASTS = """() => {
    window.toasts = [];
    new MutationObserver(() => {
        for (const toast of document.querySelectorAll('[data-testid="stToast"]')) {
            const seen = {text: toast.innerText,
                          hrefs: [...toast.querySelectorAll("a")].map(a => a.getAttribute("href")),
                          tags: [...toast.querySelectorAll("*")].map(e => e.tagName.toLowerCase())};
            if (!window.toasts.some(t => t.text === seen.text)) window.toasts.push(seen);
        }
    }).observe(document.body, {childList: true, subtree: true, characterData: true});
}"""


# What a tab's change hub knows (realtime/changes.js), for a failure's message: a flake in CI
# leaves nothing else to read.
HUB = """(h => h ? JSON.stringify({up: h.up, why: h.why, failures: h.failures, socket: h.ws && h.ws.readyState,
    retrying: Boolean(h.retry), busy: Boolean(h.busy), drawn_ago: Date.now() - h.drawn, rest: h.rest - Date.now(),
    leaving: h.leaving, areas: [...h.areas.values()].map((a) => ({key: a.key, mounted: a.mounted,
    pending: a.pending, stopped: a.stopped, refused: a.refused, asked_ago: Date.now() - a.last, draws: a.draws,
    lost: a.lost}))})
    : "no hub in the page")(globalThis.__bughuntChanges)"""


def console(page) -> list[str]:
    """What the page says from now on: its console, uncaught errors and failed requests."""
    said: list[str] = []
    page.on("console", lambda message: said.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: said.append(f"pageerror: {error}"))
    page.on("requestfailed", lambda request: said.append(f"failed: {request.url} {request.failure}"))
    return said


@contextlib.contextmanager
def told_of(page, said: list[str] | None = None):
    """A failure inside says what the tab's change hub knew (and what the page said: `console`)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout  # (not at import: see above)

    try:
        yield
    except (AssertionError, PlaywrightTimeout) as exc:
        heard = "" if said is None else f"\nthe tab's console: {said}"
        raise AssertionError(f"{exc}\nthe tab's hub: {page.evaluate(HUB)}{heard}") from exc


def record_toasts(page) -> None:
    page.evaluate(RECORD_TOASTS)


def recorded_toast(page, text: str, timeout: float = 30) -> dict:
    """The first toast the page showed containing `text` (its text, link targets and tags)."""
    return wait_for(lambda: next((t for t in page.evaluate("window.toasts") if text in t["text"]), None),
                    timeout=timeout)

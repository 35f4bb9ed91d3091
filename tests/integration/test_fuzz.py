"""Hostile and random input at the gateway: ≥10,000 payloads over HTTP and the socket. No 5xx,
no crash, the gateway stays healthy, and valid events sent in between all arrive."""
import http.client
import json
import os

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from realtime import protocol
from tests.conftest import wait_for

HOSTILE_TEXT = st.sampled_from([
    "**b** [a](javascript:alert(1)) <img src=x onerror=alert(1)>", "\x00\x01\x02", "𝕏" * 300, "' OR 1=1 --",
    "${jndi:ldap://127.0.0.1/x}", "../../etc/passwd", "=HYPERLINK(\"http://x\")", "\u202e\u2066", "9" * 400,
])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True),
                    st.text(max_size=50), HOSTILE_TEXT)
JSON = st.recursive(SCALARS, lambda children: st.one_of(
    st.lists(children, max_size=5), st.dictionaries(st.one_of(st.text(max_size=10), HOSTILE_TEXT), children,
                                                    max_size=5)), max_leaves=15)
NAMES = st.one_of(st.sampled_from([*protocol.SERVER_EVENTS, *protocol.CLIENT_EVENTS, "connect", "disconnect",
                                   "message", "*", ""]), st.text(max_size=30))
FIELDS = st.fixed_dictionaries({}, optional={
    "scan_id": st.one_of(SCALARS, st.just("s1")), "progress": SCALARS, "title": SCALARS, "severity": SCALARS,
    "message": SCALARS, "room": st.one_of(SCALARS, st.just("scan_1"), st.just("user_1")), "target": SCALARS,
    "since": SCALARS, "epoch": SCALARS, "rooms": JSON, "seq": SCALARS, "timestamp": SCALARS})
ITEMS = st.one_of(JSON, st.fixed_dictionaries({"event": NAMES, "data": st.one_of(FIELDS, JSON)}))
BODIES = st.one_of(ITEMS.map(lambda v: json.dumps(v).encode()),
                   st.lists(ITEMS, max_size=5).map(lambda v: json.dumps(v).encode()),
                   st.binary(max_size=200))
# A client's own "connect"/"disconnect" with 0, 1, 2 and 3 arguments (None: none; a tuple: several).
LIFECYCLE_ARGS = [None, {"token": "x"}, ({"asgi.scope": {"client": ["127.0.0.1", 1]}}, {"token": "x"}), ("a", 1, [2])]
# Random examples each run; --hypothesis-seed=N repeats one.
FUZZ = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", 5_000)), deadline=None,
                phases=[Phase.explicit, Phase.generate],  # a failure shows as found: shrinking is slow here
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])


@pytest.fixture
def fuzzed(gateway_factory, viewers):
    gateway = gateway_factory("--socket-rate", "100000", "--socket-burst", "100000",
                              "--publish-rate", "1000000", "--publish-burst", "1000000")
    watcher = viewers(gateway.url)
    host, port = gateway.url.rsplit("/", 1)[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    state = {"gateway": gateway, "watcher": watcher, "conn": conn, "valid": 0, "statuses": set()}
    yield state
    conn.close()


def post(state, body, content_type="application/json"):
    for attempt in (1, 2):
        conn = state["conn"]
        try:
            conn.request("POST", "/api/events", body=body, headers={"Content-Type": content_type})
            response = conn.getresponse()
            response.read()
            return response.status
        except (http.client.HTTPException, ConnectionError):
            # the server may close a keep-alive connection after refusing a request: not a failure
            conn.close()
            state["conn"] = http.client.HTTPConnection(conn.host, conn.port, timeout=10)
            if attempt == 2:
                raise


def valid_event(state):
    state["valid"] += 1
    body = json.dumps({"event": "scan_progress", "data": {"scan_id": "canary", "progress": state["valid"] % 100}})
    assert post(state, body.encode()) == 202


@pytest.mark.timeout(600)  # 10,000 hostile examples; a loaded machine needs more than the default 180 s
def test_fuzz_http_and_socket_handlers(fuzzed):
    @FUZZ
    @given(BODIES, st.sampled_from(["application/json", "application/json; charset=utf-8", "text/plain", ""]))
    def http_payloads(body, content_type):
        status = post(fuzzed, body, content_type)
        fuzzed["statuses"].add(status)
        assert status < 500, (status, body[:200])
        if len(fuzzed["statuses"]) and hash(body) % 50 == 0:
            valid_event(fuzzed)

    viewer = fuzzed["watcher"]

    def always_lifecycle_events(test):
        for name in ("connect", "disconnect"):
            for args in LIFECYCLE_ARGS:
                test = example(name, args, False)(test)
        return test

    @FUZZ
    @always_lifecycle_events
    @given(NAMES, st.one_of(FIELDS, JSON), st.booleans())
    def socket_payloads(event, data, want_answer):
        if want_answer and event not in ("connect", "disconnect", "connect_error"):  # never acked
            answer = viewer.call(event, data)  # every handler answers, even to garbage
            assert answer is None or isinstance(answer, dict)
        else:
            viewer._run(viewer.sio.emit(event, data))
        if hash((event, repr(data))) % 50 == 0:
            valid_event(fuzzed)

    http_payloads()
    socket_payloads()
    valid_event(fuzzed)
    wait_for(lambda: len([d for d in viewer.of("scan_progress") if d["scan_id"] == "canary"]) == fuzzed["valid"],
             timeout=30)
    assert viewer.connected
    assert fuzzed["gateway"].get("/healthz")["status"] == "ok" and fuzzed["gateway"].proc.poll() is None
    assert {400, 415} <= fuzzed["statuses"] and fuzzed["valid"] > 50
    # (a real traceback's first line: a fuzzed event may itself be named "Traceback")
    assert not [line for line in fuzzed["gateway"].log if "Traceback (most recent call last)" in line]
